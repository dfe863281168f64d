/**
 * The tenants a worker credential serves: the ones it names, or every tenant (`*`), read from the tenants table
 * through two caches so a poll does not reach the database (src/cache/readThrough.ts): the isolate's memory (30 s)
 * and KV (`tenants:all`, 5 min, dropped whenever the admin API creates a tenant). A credential naming none serves
 * its own tenant.
 */
import { KV } from "../../../cache/kv";
import { ReadThroughList } from "../../../cache/readThrough";
import { waitUntil, type AppContext } from "../../../context";
import { withDatabase } from "../../../db/client";
import { isTenantName, type Principal, type TenantName } from "../../../identity/principal";
import { listTenants } from "../../../store/keys";

/**
 * Fixed, not the key cache's lifetimes: workers poll every second or so, and a new tenant only adds work (a worker
 * serving `*` starts polling its queues within 30 s), it never lets anyone in; so a short memory copy is enough.
 */
const MEMORY_TTL_MS = 30_000;
export const TENANT_LIST_KV_TTL_S = 300;

export const tenantList = new ReadThroughList<TenantName>({
  kvKey: KV.tenantList,
  lifetimes: () => ({ memoryMs: MEMORY_TTL_MS, kvS: TENANT_LIST_KV_TTL_S }),
  isItem: isTenantName,
  load: async (config) => (await withDatabase(config, listTenants)).map((t) => t.name).filter(isTenantName),
  unavailable: "the tenant list is unavailable",
});

/** Drops the cached list (here at once, in other isolates within 30 s). */
export function forgetTenantList(kv: KVNamespace): Promise<void> {
  return tenantList.forget(kv);
}

/** The tenants `worker` polls for, sorted, without duplicates. */
export async function servedTenants(c: AppContext, worker: Principal): Promise<TenantName[]> {
  const named = worker.servesTenants ?? (worker.tenant ? [worker.tenant] : []);
  const list = named.includes("*")
    ? await tenantList.read({ config: c.get("config"), kv: c.env.KEY_CACHE, waitUntil: (p) => waitUntil(c, p) })
    : named.filter(isTenantName);
  return [...new Set(list)].sort();
}
