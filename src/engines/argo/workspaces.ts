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
import { NAMESPACE } from "./paths";
import { POD_SECURITY_LEVELS, SPEC_CAPABILITIES, type PodSecurityLevel, type SpecCapability } from "./specPolicy";

/** What a workspace's workflows may ask of the cluster (./specPolicy.ts). */
export interface WorkspaceGrants {
  podSecurity: PodSecurityLevel;
  serviceAccounts: string[];
  clusterTemplates: string[];
  priorityClasses: string[];
  capabilities: SpecCapability[];
}

export interface Workspace extends WorkspaceGrants {
  name: string;
  roleGroups: string[][];
  hideForUnauthorized: boolean;
  description: string | null;
}

/** A new workspace's grants: Pod Security baseline, the namespace's default service account, nothing more. */
export const DEFAULT_GRANTS: WorkspaceGrants = {
  podSecurity: "baseline",
  serviceAccounts: [],
  clusterTemplates: [],
  priorityClasses: [],
  capabilities: [],
};

/** A workspace's role policy: a list (all of them), or a list of lists (all roles of any one group). */
const role = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\x00-\x1f\x7f]+$/, "must not contain control characters");
/** A Kubernetes object name (RFC 1123 subdomain): service accounts, ClusterWorkflowTemplates, PriorityClasses. */
const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a Kubernetes object name");
const names = z.array(objectName).max(100);
export const WorkspaceBody = z
  .object({
    roles: z.union([z.array(role).min(1).max(100), z.array(z.array(role).min(1).max(100)).min(1).max(50)]),
    hideForUnauthorized: z.boolean(),
    description: z.string().max(2_000).optional(),
    // The grants: left out, each keeps its current value (a new workspace's default).
    podSecurity: z.enum(POD_SECURITY_LEVELS).optional(),
    serviceAccounts: names.optional(),
    clusterTemplates: names.optional(),
    priorityClasses: names.optional(),
    capabilities: z.array(z.enum(SPEC_CAPABILITIES)).max(SPEC_CAPABILITIES.length).optional(),
  })
  .strict()
  .transform((b) => ({
    roleGroups: (b.roles.length > 0 && Array.isArray(b.roles[0]) ? b.roles : [b.roles]) as string[][],
    hideForUnauthorized: b.hideForUnauthorized,
    description: b.description ?? null,
    grants: {
      podSecurity: b.podSecurity,
      serviceAccounts: b.serviceAccounts && [...new Set(b.serviceAccounts)],
      clusterTemplates: b.clusterTemplates && [...new Set(b.clusterTemplates)],
      priorityClasses: b.priorityClasses && [...new Set(b.priorityClasses)],
      capabilities: b.capabilities && [...new Set(b.capabilities)],
    } satisfies Partial<WorkspaceGrants>,
  }));

/**
 * A stored row's grants, as the policy reads them. A value the gateway did not write (the admin API validates
 * each one) grants the least: an unknown level reads as restricted, an unknown capability as none.
 */
export function grantsOf(r: {
  podSecurity: string;
  serviceAccounts: string[];
  clusterTemplates: string[];
  priorityClasses: string[];
  capabilities: string[];
}): WorkspaceGrants {
  return {
    podSecurity: POD_SECURITY_LEVELS.includes(r.podSecurity as PodSecurityLevel) ? (r.podSecurity as PodSecurityLevel) : "restricted",
    serviceAccounts: r.serviceAccounts,
    clusterTemplates: r.clusterTemplates,
    priorityClasses: r.priorityClasses,
    capabilities: r.capabilities.filter((c): c is SpecCapability => SPEC_CAPABILITIES.includes(c as SpecCapability)),
  };
}

/** The grants a PUT leaves in place: each one given, else the current one, else the default. */
export function nextGrants(current: WorkspaceGrants | null, given: Partial<WorkspaceGrants>): WorkspaceGrants {
  const base = current ?? DEFAULT_GRANTS;
  return {
    podSecurity: given.podSecurity ?? base.podSecurity,
    serviceAccounts: given.serviceAccounts ?? base.serviceAccounts,
    clusterTemplates: given.clusterTemplates ?? base.clusterTemplates,
    priorityClasses: given.priorityClasses ?? base.priorityClasses,
    capabilities: given.capabilities ?? base.capabilities,
  };
}

/**
 * The first grant `next` widens over `current`, or null: a workspace's own admin may narrow its grants and move
 * between baseline and restricted, but only a flowgate admin (who knows what the cluster's service accounts,
 * templates and priority classes reach) may widen them, or grant privileged.
 */
export function widenedGrant(current: WorkspaceGrants, next: WorkspaceGrants): string | null {
  if (next.podSecurity === "privileged" && current.podSecurity !== "privileged") return "podSecurity";
  for (const key of ["serviceAccounts", "clusterTemplates", "priorityClasses", "capabilities"] as const) {
    const held = new Set<string>(current[key]);
    if (next[key].some((v) => !held.has(v))) return key;
  }
  return null;
}

/** A workspace is a Kubernetes namespace: its name is one (./paths.ts `NAMESPACE`, a DNS label). */
export const WORKSPACE_NAME = NAMESPACE;

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

export function mayEnter(p: Principal, w: Pick<Workspace, "roleGroups">): boolean {
  return w.roleGroups.some((g) => g.length > 0 && g.every((r) => holds(p, r)));
}

export function administers(p: Principal, w: Pick<Workspace, "roleGroups">): boolean {
  return w.roleGroups.some((g) => g.length > 0 && g.every((r) => holdsAdmin(p, r)));
}

/** What `GET /argo/api/v1/workspaces` shows: every workspace the caller may enter or administer, and unhidden ones. */
export function workspaceListing(p: Principal, all: readonly Workspace[]) {
  return all
    .map((w) => ({ w, hasAccess: mayEnter(p, w), isAdmin: administers(p, w) }))
    .filter(({ w, hasAccess, isAdmin }) => hasAccess || isAdmin || !w.hideForUnauthorized)
    .map(({ w, hasAccess, isAdmin }) => ({ name: w.name, description: w.description, hasAccess, isAdmin }));
}
