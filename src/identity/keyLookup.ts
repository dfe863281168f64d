/**
 * Tiered API-key lookup: in-isolate LRU -> Workers KV -> PostgreSQL.
 *
 * - Everything is keyed by the SHA-256 of the presented key; the plaintext is never cached.
 * - "No such key" is cached in memory only (NEGATIVE_CACHE_TTL_S): KV writes are billed and rate-limited, so an
 *   attacker must not be able to cause them, and a flood of bad keys reaches the database once per key per isolate.
 * - Validity (expiry, not-before, revocation) is decided on the record on every request, cached or not.
 * - A revocation racing a fill cannot resurrect the key: memory fills are refused when the key's generation moved
 *   (see LruCache), and a KV fill re-reads the row after writing and rewrites the entry if it changed meanwhile.
 * - Database unreachable: cached keys keep working; an uncached key gets 503, never access.
 */
import { LruCache } from "../cache/lru";
import { KV, type ApiKeyEntryMetadata } from "../cache/kv";
import type { Config } from "../config";
import { DB_QUERY_TIMEOUT_MS, MEMORY_CACHE_MAX_ENTRIES, NEGATIVE_CACHE_MAX_ENTRIES } from "../constants";
import { withDatabase, type Database } from "../db/client";
import { findKeyByHash, getKeyRow, type KeyRecord } from "../store/keys";
import type { Logger } from "../log";

const memory = new LruCache<KeyRecord>(MEMORY_CACHE_MAX_ENTRIES);
const negative = new LruCache<true>(NEGATIVE_CACHE_MAX_ENTRIES);
/**
 * Lookups under way in this isolate, by hash: concurrent requests with the same uncached key share one KV read
 * and one database query instead of stampeding the database (a cold isolate under load would otherwise send every
 * waiting request to PostgreSQL at once).
 */
const inflight = new Map<string, Promise<{ record: KeyRecord | null; source: LookupSource }>>();

export interface KeyLookupDeps {
  config: Config;
  kv: KVNamespace;
  cacheEpoch: number;
  waitUntil: (p: Promise<unknown>) => void;
  log: Logger;
  /** Database access; the Worker's is `withDatabase(config, ...)`. */
  database?: <T>(work: (db: Database) => Promise<T>) => Promise<T>;
}

export type LookupSource = "memory" | "negative" | "kv" | "database";

function entryOptions(record: KeyRecord, ttlS: number): KVNamespacePutOptions {
  const metadata: ApiKeyEntryMetadata = {
    exp: record.expiresAt ? Math.floor(record.expiresAt / 1000) : 0,
    rev: record.revokedAt ? 1 : 0,
  };
  return { expirationTtl: Math.max(60, ttlS), metadata };
}

export async function writeKvEntry(kv: KVNamespace, epoch: number, record: KeyRecord, ttlS: number): Promise<void> {
  await kv.put(KV.apiKey(epoch, record.secretHash), JSON.stringify(record), entryOptions(record, ttlS));
}

const nullableNumber = (v: unknown) => v === null || (typeof v === "number" && Number.isFinite(v));
const stringArray = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * Whether a KV value has the shape of a KeyRecord. An entry of another shape (an older deployment's, a damaged
 * one) is ignored and the database asked: a missing `revokedAt` must never read as "not revoked".
 */
function isKeyRecord(v: unknown): v is KeyRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === "string" &&
    typeof r.secretHash === "string" &&
    typeof r.tenant === "string" &&
    typeof r.subject === "string" &&
    (r.email === null || typeof r.email === "string") &&
    stringArray(r.roles) &&
    stringArray(r.groups) &&
    stringArray(r.scopes) &&
    (r.servesTenants === null || stringArray(r.servesTenants)) &&
    nullableNumber(r.notBefore) &&
    nullableNumber(r.expiresAt) &&
    nullableNumber(r.revokedAt)
  );
}

const sameState = (a: KeyRecord, b: KeyRecord | null) =>
  b !== null && a.revokedAt === b.revokedAt && a.expiresAt === b.expiresAt && a.notBefore === b.notBefore;

/**
 * Finds the record for a key hash, or null when no such key exists.
 * Throws DatabaseUnavailable when it had to ask the database and could not.
 */
export async function lookupKey(secretHash: string, deps: KeyLookupDeps): Promise<{ record: KeyRecord | null; source: LookupSource }> {
  const inMemory = memory.get(secretHash);
  if (inMemory) return { record: inMemory, source: "memory" };
  if (negative.get(secretHash)) return { record: null, source: "negative" };
  const pending = inflight.get(secretHash);
  if (pending) {
    // The shared lookup belongs to another request; should that request be cancelled mid-way, its promise may
    // never settle here, so wait no longer than a lookup of our own would take, then do our own.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const own = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), DB_QUERY_TIMEOUT_MS)));
    const shared = await Promise.race([pending, own]).finally(() => timer !== undefined && clearTimeout(timer));
    if (shared) return shared;
    return fill(secretHash, deps);
  }
  const lookup = fill(secretHash, deps).finally(() => inflight.delete(secretHash));
  inflight.set(secretHash, lookup);
  return lookup;
}

async function fill(secretHash: string, deps: KeyLookupDeps): Promise<{ record: KeyRecord | null; source: LookupSource }> {
  const { config, kv } = deps;
  const generation = memory.generation(secretHash);
  // Spread over the last quarter of MEMORY_CACHE_TTL_S (never beyond it: it bounds revocation), so keys loaded
  // together do not all go back to KV in the same instant.
  const memoryTtlMs = config.memoryCacheTtlS * 1000 * (0.75 + 0.25 * Math.random());
  const kvName = KV.apiKey(deps.cacheEpoch, secretHash);

  let fromKv: unknown = null;
  try {
    fromKv = await kv.get(kvName, "json");
  } catch (err) {
    // A failing KV (or an entry that is not JSON) is a slower path, not a refusal: fall through to the database.
    deps.log.warn("kv.read_failed", { error: String(err).slice(0, 200) });
  }
  if (isKeyRecord(fromKv) && fromKv.secretHash === secretHash) {
    memory.setIfGeneration(secretHash, generation, fromKv, memoryTtlMs);
    return { record: fromKv, source: "kv" };
  }

  const database = deps.database ?? (<T>(work: (db: Database) => Promise<T>) => withDatabase(config, work));
  const negativeGeneration = negative.generation(secretHash);
  const record = await database((db) => findKeyByHash(db, secretHash));
  if (!record) {
    negative.setIfGeneration(secretHash, negativeGeneration, true, config.negativeCacheTtlS * 1000);
    return { record: null, source: "database" };
  }
  memory.setIfGeneration(secretHash, generation, record, memoryTtlMs);
  deps.waitUntil(
    (async () => {
      try {
        await writeKvEntry(kv, deps.cacheEpoch, record, config.keyCacheTtlS);
        // Re-read after writing: a revocation that landed between our read and our write is now visible here,
        // and one that lands later writes its own tombstone after ours.
        const again = await database((db) => findKeyByHash(db, secretHash));
        if (!sameState(record, again)) {
          memory.invalidate(secretHash);
          if (again) await writeKvEntry(kv, deps.cacheEpoch, again, config.keyCacheTtlS);
          else await kv.delete(kvName);
        }
      } catch (err) {
        deps.log.warn("kv.fill_failed", { error: String(err).slice(0, 200) });
      }
    })(),
  );
  return { record, source: "database" };
}

/** Key id -> key hash. The pair never changes (a rotation makes a new id), so it is never invalidated. */
const hashById = new LruCache<string>(MEMORY_CACHE_MAX_ENTRIES);

/**
 * The record of the key with this id, through the same tiers and the same validity-bearing cache entries as
 * `lookupKey`: the id is first turned into the key's hash (memory -> KV -> database, cached for good since it never
 * changes), then the record is looked up by hash. So a revocation, expiry or purge reaches a lookup by id exactly
 * as it reaches one by key. Null when no key has this id.
 */
export async function lookupKeyById(keyId: string, deps: KeyLookupDeps): Promise<{ record: KeyRecord | null; source: LookupSource }> {
  let secretHash = hashById.get(keyId);
  if (!secretHash) {
    const kvName = KV.apiKeyId(deps.cacheEpoch, keyId);
    let fromKv: string | null = null;
    try {
      fromKv = await deps.kv.get(kvName);
    } catch (err) {
      deps.log.warn("kv.read_failed", { error: String(err).slice(0, 200) });
    }
    if (fromKv !== null && /^[0-9a-f]{64}$/.test(fromKv)) {
      secretHash = fromKv;
    } else {
      const database = deps.database ?? (<T>(work: (db: Database) => Promise<T>) => withDatabase(deps.config, work));
      const row = await database((db) => getKeyRow(db, keyId));
      if (!row) return { record: null, source: "database" };
      secretHash = row.secretHash;
      const ttl = Math.max(60, deps.config.keyCacheTtlS);
      deps.waitUntil(
        deps.kv
          .put(kvName, row.secretHash, { expirationTtl: ttl })
          .catch((err: unknown) => deps.log.warn("kv.fill_failed", { error: String(err).slice(0, 200) })),
      );
    }
    hashById.set(keyId, secretHash, deps.config.keyCacheTtlS * 1000);
  }
  const found = await lookupKey(secretHash, deps);
  // A record of another id under this hash cannot happen short of a damaged cache: refused, never used.
  return found.record && found.record.id !== keyId ? { record: null, source: found.source } : found;
}

/** Drops one key's cached lookups in this isolate. */
export function forgetKeyInIsolate(secretHash: string): void {
  memory.invalidate(secretHash);
  negative.invalidate(secretHash);
}

/** Drops every cached lookup in this isolate. */
export function forgetAllKeysInIsolate(): void {
  memory.clear();
  negative.clear();
  hashById.clear();
}
