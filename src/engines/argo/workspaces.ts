/**
 * Workspace policy, as Flowify defined it. Pure.
 *
 * A workspace's `roleGroups` is a list of groups; a caller may enter when they hold every role of at least one
 * group (role names match exactly). A role `<email>--$owner` is held by the principal with that email (or subject),
 * and makes them an admin too. Otherwise, a caller administers a workspace when they hold `<role>-admin` for every
 * role of one group; that lets them change the workspace's policy, not enter it.
 */
import type { Principal } from "../../identity/principal";

export interface Workspace {
  name: string;
  roleGroups: string[][];
  hideForUnauthorized: boolean;
  description: string | null;
}

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
