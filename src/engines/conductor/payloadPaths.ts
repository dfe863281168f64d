/**
 * External payload storage (large inputs and outputs kept outside Conductor, e.g. in S3): the upstream hands out a
 * location for any path it is asked about, so the gateway decides whose a path is. A path is a tenant's when the
 * tenant was shown it (in one of its own executions or tasks) or when it was minted for the tenant (a WRITE
 * location). Those facts are kept in KV (`extpath:<tenant>:<sha256 of path>`, 30 days) and in memory; a READ of
 * any other path answers 404.
 */
import { LruCache } from "../../cache/lru";
import { KV } from "../../cache/kv";
import { sha256Hex } from "../../formats/apiKey";
import type { TenantName } from "../../identity/principal";
import { isObj } from "../../jsonValue";

const PATH_FIELDS = ["externalInputPayloadStoragePath", "externalOutputPayloadStoragePath"] as const;
export const PAYLOAD_PATH_TTL_S = 30 * 86_400;
const seen = new LruCache<true>(10_000);

/** The external payload paths an execution or task names (its own and its tasks'). */
export function payloadPaths(value: unknown): string[] {
  const out: string[] = [];
  const visit = (o: unknown) => {
    if (!isObj(o)) return;
    for (const f of PATH_FIELDS) if (typeof o[f] === "string" && o[f] !== "" && (o[f] as string).length <= 1024) out.push(o[f] as string);
  };
  visit(value);
  if (isObj(value) && Array.isArray(value.tasks)) value.tasks.forEach(visit);
  return [...new Set(out)];
}

async function entryName(tenant: TenantName, path: string): Promise<string> {
  return KV.payloadPath(tenant, await sha256Hex(path));
}

/** Records that `tenant` may read these paths (written in the background by the caller's waitUntil). */
export async function grantPayloadPaths(kv: KVNamespace, tenant: TenantName, paths: readonly string[]): Promise<void> {
  await Promise.all(
    paths.map(async (path) => {
      const name = await entryName(tenant, path);
      if (seen.get(name)) return;
      seen.set(name, true, 3_600_000);
      await kv.put(name, "1", { expirationTtl: PAYLOAD_PATH_TTL_S });
    }),
  );
}

export async function mayReadPayloadPath(kv: KVNamespace, tenant: TenantName, path: string): Promise<boolean> {
  const name = await entryName(tenant, path);
  if (seen.get(name)) return true;
  const found = (await kv.get(name)) !== null;
  if (found) seen.set(name, true, 3_600_000);
  return found;
}
