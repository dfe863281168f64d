/**
 * Every workspace, read the way keys are (src/cache/readThrough.ts): the isolate's memory (MEMORY_CACHE_TTL_S) ->
 * KV (`workspaces:all`, KEY_CACHE_TTL_S, deleted on every change) -> PostgreSQL. The list is small (one entry per
 * namespace), so it is cached whole.
 */
import { KV } from "../../cache/kv";
import { ReadThroughList } from "../../cache/readThrough";
import { waitUntil, type AppContext } from "../../context";
import { withDatabase } from "../../db/client";
import { listWorkspaces } from "../../store/workspaces";
import { POD_SECURITY_LEVELS } from "./specPolicy";
import { grantsOf, type Workspace } from "./workspaces";

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

const isWorkspace = (w: unknown): w is Workspace => {
  const o = w as Workspace;
  return (
    typeof o === "object" &&
    o !== null &&
    typeof o.name === "string" &&
    typeof o.hideForUnauthorized === "boolean" &&
    Array.isArray(o.roleGroups) &&
    o.roleGroups.every((g) => Array.isArray(g) && g.every((r) => typeof r === "string")) &&
    POD_SECURITY_LEVELS.includes(o.podSecurity) &&
    strings(o.serviceAccounts) &&
    strings(o.clusterTemplates) &&
    strings(o.priorityClasses) &&
    strings(o.capabilities)
  );
};

export const workspaceList = new ReadThroughList<Workspace>({
  kvKey: KV.workspaces,
  // Workspace policies decide who enters a namespace, as keys decide who calls at all: the same bounds as keys,
  // so an operator tunes one pair of numbers for how long a policy change may take to reach every isolate.
  lifetimes: (config) => ({ memoryMs: config.memoryCacheTtlS * 1000, kvS: config.keyCacheTtlS }),
  isItem: isWorkspace,
  load: async (config) =>
    (await withDatabase(config, listWorkspaces)).map((w) => ({
      name: w.name,
      roleGroups: w.roleGroups,
      hideForUnauthorized: w.hideForUnauthorized,
      description: w.description,
      ...grantsOf(w),
    })),
  unavailable: "workspace policies are unavailable; try again shortly",
});

export function allWorkspaces(c: AppContext): Promise<Workspace[]> {
  return workspaceList.read({ config: c.get("config"), kv: c.env.KEY_CACHE, waitUntil: (p) => waitUntil(c, p) });
}

/** After a change: here at once, elsewhere within MEMORY_CACHE_TTL_S plus KV propagation. */
export function forgetWorkspaces(kv: KVNamespace): Promise<void> {
  return workspaceList.forget(kv);
}
