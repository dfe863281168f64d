/**
 * Workspace policy, as Flowify defined it, and the body an operator writes it in (/admin/workspaces). Pure.
 *
 * A workspace's `roleGroups` is a list of groups; a caller may enter when they hold every role of at least one
 * group (role names match exactly). A role `<email>--$owner` is held by the principal with that email (or subject),
 * and makes them an admin too. Otherwise, a caller administers a workspace when they hold `<role>-admin` for every
 * role of one group; that lets them change the workspace's policy, not enter it.
 */
import { z } from "zod";
import type { Principal } from "../../identity/principal";

export interface Workspace {
  name: string;
  roleGroups: string[][];
  hideForUnauthorized: boolean;
  description: string | null;
}

/** A workspace's role policy: a list (all of them), or a list of lists (all roles of any one group). */
const role = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\x00-\x1f\x7f]+$/, "must not contain control characters");
export const WorkspaceBody = z
  .object({
    roles: z.union([z.array(role).min(1).max(100), z.array(z.array(role).min(1).max(100)).min(1).max(50)]),
    hideForUnauthorized: z.boolean(),
    description: z.string().max(2_000).optional(),
  })
  .strict()
  .transform((b) => ({
    roleGroups: (b.roles.length > 0 && Array.isArray(b.roles[0]) ? b.roles : [b.roles]) as string[][],
    hideForUnauthorized: b.hideForUnauthorized,
    description: b.description ?? null,
  }));

/** A workspace is a Kubernetes namespace: a DNS label. */
export const WORKSPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const OWNER_SUFFIX = "--$owner";

const isOwnerRole = (role: string) => role.endsWith(OWNER_SUFFIX) && role.length > OWNER_SUFFIX.length;

function ownsRole(p: Principal, role: string): boolean {
  const owner = role.slice(0, -OWNER_SUFFIX.length).toLowerCase();
  return (p.email !== undefined && p.email.toLowerCase() === owner) || p.subject.toLowerCase() === owner;
}

function holds(p: Principal, role: string): boolean {
  return p.roles.includes(role) || (isOwnerRole(role) && ownsRole(p, role));
}

function holdsAdmin(p: Principal, role: string): boolean {
  return isOwnerRole(role) ? holds(p, role) : p.roles.includes(`${role}-admin`);
}

export function mayEnter(p: Principal, w: Workspace): boolean {
  return w.roleGroups.some((g) => g.length > 0 && g.every((r) => holds(p, r)));
}

export function administers(p: Principal, w: Workspace): boolean {
  return w.roleGroups.some((g) => g.length > 0 && g.every((r) => holdsAdmin(p, r)));
}

/** What `GET /argo/api/v1/workspaces` shows: every workspace the caller may enter or administer, and unhidden ones. */
export function workspaceListing(p: Principal, all: readonly Workspace[]) {
  return all
    .map((w) => ({ w, hasAccess: mayEnter(p, w), isAdmin: administers(p, w) }))
    .filter(({ w, hasAccess, isAdmin }) => hasAccess || isAdmin || !w.hideForUnauthorized)
    .map(({ w, hasAccess, isAdmin }) => ({ name: w.name, description: w.description, hasAccess, isAdmin }));
}
