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
import { forbidden } from "../../../errors";
import { foldAsciiName } from "../../../formats/identityFold";
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

const readTenants = (c: AppContext) => tenantList.read({ config: c.get("config"), kv: c.env.KEY_CACHE, waitUntil: (p) => waitUntil(c, p) });

/** Each cached list's tenants by their fold, built once per list. */
const foldsOf = new WeakMap<readonly TenantName[], Map<string, TenantName>>();

/**
 * Refuses (403) a tenant that an identity provider named (a JWT's or an OIDC session's claim, never checked where
 * tenants are created) when a stored tenant is the same name under case folding spelled otherwise: Conductor on
 * MySQL's default collation holds `ACME___x` and `acme___x` as one row, so the token would act in `acme`. Tenants of
 * keys were checked when the key was made (src/store/identities.ts) and are not read again.
 */
export async function refuseRespelledTenants(c: AppContext, p: Principal, names: readonly string[]): Promise<void> {
  if (p.keyId !== undefined || names.length === 0) return;
  const stored = await readTenants(c);
  let folds = foldsOf.get(stored);
  if (!folds) {
    folds = new Map(stored.map((t) => [foldAsciiName(t), t]));
    foldsOf.set(stored, folds);
  }
  for (const name of names) {
    const existing = name === "*" ? undefined : folds.get(foldAsciiName(name));
    if (existing !== undefined && existing !== name)
      throw forbidden(
        `the credential's tenant ${JSON.stringify(name)} is tenant ${JSON.stringify(existing)} under case folding (tenant names are unique without regard to case); the identity provider must name ${JSON.stringify(existing)}`,
      );
  }
}

/** The tenants `worker` polls for, sorted, without duplicates. */
export async function servedTenants(c: AppContext, worker: Principal): Promise<TenantName[]> {
  const named = worker.servesTenants ?? (worker.tenant ? [worker.tenant] : []);
  await refuseRespelledTenants(c, worker, named);
  const list = named.includes("*") ? await readTenants(c) : named.filter(isTenantName);
  return [...new Set(list)].sort();
}
