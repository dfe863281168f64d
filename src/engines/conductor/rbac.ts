/**
 * Conductor RBAC, as the replaced proxy defined it: admins see and do everything within their tenant; everyone
 * else sees the workflow definitions labelled with one of their groups or roles, starts only those, and sees and
 * acts on only the executions they started. Pure.
 */
import type { Principal } from "../../identity/principal";

const lower = (xs: readonly string[]) => new Set(xs.map((x) => x.toLowerCase()));

/** Admin = a role in ADMIN_ROLES or a group in ADMIN_GROUPS, case-insensitively. */
export function isConductorAdmin(p: Principal, adminRoles: readonly string[], adminGroups: readonly string[]): boolean {
  const roles = lower(adminRoles);
  const groups = lower(adminGroups);
  return p.roles.some((r) => roles.has(r.toLowerCase())) || p.groups.some((g) => groups.has(g.toLowerCase()));
}

/**
 * The labels of a workflow definition: a JSON description's `labels` array, or the legacy form
 * `"some text - A,B,C"` (labels after the last " - ").
 */
export function workflowLabels(description: unknown): string[] {
  if (typeof description !== "string" || description.trim() === "") return [];
  const text = description.trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { labels?: unknown };
      return Array.isArray(parsed.labels)
        ? parsed.labels.filter((l): l is string => typeof l === "string" && l.trim() !== "").map((l) => l.trim())
        : [];
    } catch {
      return [];
    }
  }
  const dash = text.lastIndexOf(" - ");
  if (dash === -1) return [];
  return text
    .slice(dash + 3)
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The caller's groups and roles, lower-cased, by principal: a listing asks once per definition. */
const labelSets = new WeakMap<Principal, Set<string>>();

function labelsOf(p: Principal): Set<string> {
  let mine = labelSets.get(p);
  if (!mine) {
    mine = lower([...p.roles, ...p.groups]);
    labelSets.set(p, mine);
  }
  return mine;
}

/** Whether a non-admin may see (and start) a definition: one of its labels is one of the caller's groups or roles. */
export function mayUseWorkflowDef(p: Principal, description: unknown): boolean {
  const mine = labelsOf(p);
  return workflowLabels(description).some((l) => mine.has(l.toLowerCase()));
}

/**
 * Everything `mayUseWorkflowDef` reads of a caller, as a string: two callers with the same key see the same
 * definitions. Admins see all of their tenant's. Keys a reused listing rewrite (ConductorUpstream.listRewritten).
 */
export function workflowDefView(p: Principal, admin: boolean): string {
  return admin ? "admin" : `labels:${JSON.stringify([...labelsOf(p)].sort())}`;
}
