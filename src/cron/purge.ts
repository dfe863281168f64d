/**
 * The scheduled clean-up (cron, every 5 minutes):
 * - deletes KV key-lookup entries that can never be used again: of an older cache epoch, of a revoked key, or of
 *   an expired key. It decides on each entry's name and metadata alone (no value reads, no database), works in
 *   bounded batches, and saves its list cursor so the next run resumes where this one stopped. Deleting an entry
 *   twice is harmless, so a run that dies half-way is simply repeated.
 * - prunes audit events past AUDIT_RETENTION_DAYS.
 * - prunes usage cells: minutes after 2 days, hours after 35, days after USAGE_RETENTION_DAYS.
 */
import { KV, parseApiKeyEntryName, type ApiKeyEntryMetadata } from "../cache/kv";
import type { Config } from "../config";
import {
  CRON_DELETE_CONCURRENCY,
  CRON_KV_LIST_LIMIT,
  CRON_MAX_PAGES_PER_RUN,
  USAGE_HOUR_RETENTION_DAYS,
  USAGE_MINUTE_RETENTION_DAYS,
} from "../constants";
import { withDatabase } from "../db/client";
import { pruneAuditEvents } from "../store/audit";
import { pruneRevocations } from "../store/revocations";
import { pruneUsage } from "../store/rateLimits";
import { storedIdentityCollisions } from "../store/identities";
import type { FoldCollision } from "../formats/identityFold";

export interface PurgeSummary {
  scanned: number;
  deleted: number;
  pages: number;
  complete: boolean;
  auditPruned: number | null;
  /** Token revocations forgotten because every token they stop has expired (null: database unavailable). */
  revocationsPruned: number | null;
  /** Usage cells past their resolution's retention (null: database unavailable). */
  usagePruned: number | null;
}

/** Pure: should this cache entry go? */
export function isDeadEntry(name: string, metadata: ApiKeyEntryMetadata | null | undefined, currentEpoch: number, nowS: number): boolean {
  const parsed = parseApiKeyEntryName(name);
  if (!parsed) return true; // not a name flowgate writes under this prefix
  if (parsed.epoch !== currentEpoch) return true;
  if (!metadata) return false;
  if (metadata.rev === 1) return true;
  return metadata.exp > 0 && metadata.exp <= nowS;
}

async function deleteAll(kv: KVNamespace, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += CRON_DELETE_CONCURRENCY) {
    await Promise.all(names.slice(i, i + CRON_DELETE_CONCURRENCY).map((n) => kv.delete(n)));
  }
}

export async function purgeDeadCacheEntries(
  kv: KVNamespace,
  now = Date.now(),
  limits: { pageSize: number; maxPages: number } = { pageSize: CRON_KV_LIST_LIMIT, maxPages: CRON_MAX_PAGES_PER_RUN },
): Promise<Omit<PurgeSummary, "auditPruned" | "revocationsPruned" | "usagePruned">> {
  const epochRaw = await kv.get(KV.cacheEpoch);
  const currentEpoch = epochRaw && /^\d+$/.test(epochRaw) ? Number(epochRaw) : 0;
  let cursor = (await kv.get(KV.purgeCursor)) ?? undefined;
  const nowS = Math.floor(now / 1000);
  let scanned = 0;
  let deleted = 0;
  let pages = 0;
  let complete = false;
  while (pages < limits.maxPages) {
    const page = await kv.list<ApiKeyEntryMetadata>({ prefix: KV.apiKeyPrefix, cursor, limit: limits.pageSize });
    pages++;
    scanned += page.keys.length;
    const dead = page.keys.filter((k) => isDeadEntry(k.name, k.metadata, currentEpoch, nowS)).map((k) => k.name);
    await deleteAll(kv, dead);
    deleted += dead.length;
    if (page.list_complete) {
      complete = true;
      cursor = undefined;
      break;
    }
    cursor = page.cursor;
  }
  if (cursor) await kv.put(KV.purgeCursor, cursor, { expirationTtl: 86_400 });
  else await kv.delete(KV.purgeCursor);
  return { scanned, deleted, pages, complete };
}

export async function runScheduledPurge(kv: KVNamespace, config: Config, now = Date.now()): Promise<PurgeSummary> {
  const cache = await purgeDeadCacheEntries(kv, now);
  let auditPruned: number | null = null;
  try {
    const before = new Date(now - config.auditRetentionDays * 86_400_000);
    auditPruned = await withDatabase(config, (db) => pruneAuditEvents(db, before));
  } catch {
    auditPruned = null; // reported in the summary; the next run tries again
  }
  // Revocations of tokens that have all expired are forgotten (their KV entries expire by themselves).
  let revocationsPruned: number | null = null;
  try {
    revocationsPruned = await withDatabase(config, (db) => pruneRevocations(db, new Date(now)));
  } catch {
    revocationsPruned = null;
  }
  let usagePruned: number | null = null;
  try {
    const day = 86_400_000;
    usagePruned = await withDatabase(
      config,
      async (db) =>
        (await pruneUsage(db, "minute", new Date(now - USAGE_MINUTE_RETENTION_DAYS * day))) +
        (await pruneUsage(db, "hour", new Date(now - USAGE_HOUR_RETENTION_DAYS * day))) +
        (await pruneUsage(db, "day", new Date(now - config.rateLimits.usageRetentionDays * day))),
    );
  } catch {
    usagePruned = null;
  }
  const summary = { ...cache, auditPruned, revocationsPruned, usagePruned };
  await kv.put(KV.cronLastRun, JSON.stringify({ at: now, summary }), { expirationTtl: 30 * 86_400 }).catch(() => {});
  return summary;
}

/**
 * The check at start, repeated by the cron for deployments that migrate with drizzle-kit and never run `npm start`:
 * stored tenants, workspaces or subjects that are one name under folding (src/store/identities.ts), each pair for
 * an error log line; claims the folds of subjects stored without one. Null: the database could not be asked.
 */
export async function storedIdentityCheck(config: Config): Promise<FoldCollision[] | null> {
  try {
    return await withDatabase(config, storedIdentityCollisions);
  } catch {
    return null;
  }
}

/** The cron's last run as recorded by `runScheduledPurge` (null: none recorded, or unreadable). */
export async function lastScheduledRun(kv: KVNamespace): Promise<{ at: string; summary: PurgeSummary } | null> {
  const v = await kv.get<{ at: number; summary: PurgeSummary }>(KV.cronLastRun, "json").catch(() => null);
  return v && typeof v.at === "number" && v.summary ? { at: new Date(v.at).toISOString(), summary: v.summary } : null;
}
