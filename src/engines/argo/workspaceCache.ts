/**
 * Every workspace, read the way keys are: the isolate's memory (MEMORY_CACHE_TTL_S) -> KV (`workspaces:all`,
 * KEY_CACHE_TTL_S, deleted on every change) -> PostgreSQL. A change made through the admin API applies at once in
 * its isolate and within MEMORY_CACHE_TTL_S (plus KV propagation) elsewhere. The list is small (one entry per
 * namespace), so it is cached whole.
 */
import { KV } from "../../cache/kv";
import { waitUntil, type AppContext } from "../../context";
import { withDatabase } from "../../db/client";
import { GatewayError } from "../../errors";
import { listWorkspaces } from "../../store/workspaces";
import type { Workspace } from "./workspaces";

let memory: { list: Workspace[]; until: number; databaseUrl: string } | null = null;

const isWorkspace = (w: unknown): w is Workspace => {
  const o = w as Workspace;
  return (
    typeof o === "object" && o !== null && typeof o.name === "string" && typeof o.hideForUnauthorized === "boolean" &&
    Array.isArray(o.roleGroups) && o.roleGroups.every((g) => Array.isArray(g) && g.every((r) => typeof r === "string"))
  );
};

export async function allWorkspaces(c: AppContext): Promise<Workspace[]> {
  const config = c.get("config");
  if (memory && memory.until > Date.now() && memory.databaseUrl === config.databaseUrl) return memory.list;
  let list: Workspace[] | null = null;
  try {
    const cached = await c.env.KEY_CACHE.get<unknown>(KV.workspaces, "json");
    if (Array.isArray(cached) && cached.every(isWorkspace)) list = cached;
  } catch {
    // read from the database instead
  }
  if (!list) {
    try {
      list = (await withDatabase(config, listWorkspaces)).map(({ name, roleGroups, hideForUnauthorized, description }) => ({ name, roleGroups, hideForUnauthorized, description }));
    } catch {
      throw new GatewayError("AUTH_BACKEND_UNAVAILABLE", "workspace policies are unavailable; try again shortly");
    }
    const fresh = list;
    waitUntil(c, c.env.KEY_CACHE.put(KV.workspaces, JSON.stringify(fresh), { expirationTtl: config.keyCacheTtlS }));
  }
  memory = { list, until: Date.now() + config.memoryCacheTtlS * 1000, databaseUrl: config.databaseUrl };
  return list;
}

/** After a change: here at once, elsewhere within MEMORY_CACHE_TTL_S plus KV propagation. */
export async function forgetWorkspaces(kv: KVNamespace): Promise<void> {
  memory = null;
  await kv.delete(KV.workspaces);
}
