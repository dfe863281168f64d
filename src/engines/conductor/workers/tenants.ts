/**
 * The tenants a worker credential serves: the ones it names, or every tenant (`*`), read from the tenants table
 * through two caches so a poll does not reach the database: the isolate's memory (30 s) and KV (`tenants:all`,
 * 5 min, dropped whenever the admin API creates a tenant). A credential naming none serves its own tenant.
 */
import { KV } from "../../../cache/kv";
import { waitUntil, type AppContext } from "../../../context";
import { withDatabase } from "../../../db/client";
import { GatewayError } from "../../../errors";
import { isTenantName, type Principal, type TenantName } from "../../../identity/principal";
import { listTenants } from "../../../store/keys";

const MEMORY_TTL_MS = 30_000;
export const TENANT_LIST_KV_TTL_S = 300;

let memory: { tenants: TenantName[]; until: number; databaseUrl: string } | null = null;

/** Drops the cached list (here at once, in other isolates within 30 s). */
export async function forgetTenantList(kv: KVNamespace): Promise<void> {
  memory = null;
  await kv.delete(KV.tenantList);
}

async function allTenants(c: AppContext): Promise<TenantName[]> {
  const config = c.get("config");
  if (memory && memory.until > Date.now() && memory.databaseUrl === config.databaseUrl) return memory.tenants;
  const kv = c.env.KEY_CACHE;
  let tenants: TenantName[] | null = null;
  try {
    const cached = await kv.get<unknown>(KV.tenantList, "json");
    if (Array.isArray(cached) && cached.every(isTenantName)) tenants = cached;
  } catch {
    // a broken entry is read again from the database
  }
  if (!tenants) {
    try {
      tenants = (await withDatabase(config, listTenants)).map((t) => t.name).filter(isTenantName);
    } catch {
      throw new GatewayError("AUTH_BACKEND_UNAVAILABLE", "the tenant list is unavailable");
    }
    const list = tenants;
    waitUntil(c, kv.put(KV.tenantList, JSON.stringify(list), { expirationTtl: TENANT_LIST_KV_TTL_S }));
  }
  memory = { tenants, until: Date.now() + MEMORY_TTL_MS, databaseUrl: config.databaseUrl };
  return tenants;
}

/** The tenants `worker` polls for, sorted, without duplicates. */
export async function servedTenants(c: AppContext, worker: Principal): Promise<TenantName[]> {
  const named = worker.servesTenants ?? (worker.tenant ? [worker.tenant] : []);
  const list = named.includes("*") ? await allTenants(c) : named.filter(isTenantName);
  return [...new Set(list)].sort();
}
