import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import { parseConfig } from "../../src/readConfig";
import { KV } from "../../src/cache/kv";
import type { Database } from "../../src/db/client";
import { hashApiKey } from "../../src/formats/apiKey";
import { forgetKeyInIsolate, lookupKey } from "../../src/identity/keyLookup";
import { createLogger } from "../../src/log";
import type { KeyRecord } from "../../src/store/keys";

const config = (() => {
  const r = parseConfig(env as unknown as Env);
  if (!r.ok) throw r.error;
  return r.config;
})();

function record(secretHash: string, revokedAt: number | null): KeyRecord {
  return {
    id: "raceraceracex",
    secretHash,
    tenant: "acme",
    subject: "racer",
    email: null,
    roles: [],
    groups: [],
    scopes: [],
    servesTenants: null,
    notBefore: null,
    expiresAt: null,
    revokedAt,
  };
}

/**
 * The database is the real lookup's seam: here it answers "valid" to the fill's first read and "revoked" to
 * everything after, as when a revocation commits while the fill is on its way to KV.
 */
describe("a revocation racing a cache fill", () => {
  it("does not leave the revoked key alive in KV or memory", async () => {
    const kv = (env as unknown as Env).KEY_CACHE;
    const hash = await hashApiKey(`race-${crypto.randomUUID()}`);
    let reads = 0;
    const revokedAt = Date.now();
    const database = async <T>(work: (db: Database) => Promise<T>): Promise<T> => {
      void work;
      reads++;
      return (reads === 1 ? record(hash, null) : record(hash, revokedAt)) as T;
    };
    const pending: Promise<unknown>[] = [];
    const deps = { config, kv, cacheEpoch: 0, waitUntil: (p: Promise<unknown>) => pending.push(p), log: createLogger("error"), database };
    const first = await lookupKey(hash, deps);
    expect(first.record?.revokedAt).toBeNull(); // the fill read the row before the revocation
    await Promise.all(pending);
    const cached = await kv.get<KeyRecord>(KV.apiKey(0, hash), "json");
    expect(cached?.revokedAt).toBe(revokedAt); // the re-check rewrote the entry as a tombstone
    const again = await lookupKey(hash, deps);
    expect(again.record?.revokedAt).toBe(revokedAt);
    expect(again.source).not.toBe("memory");
  });

  it("does not refill memory with a record loaded before the revocation", async () => {
    const kv = (env as unknown as Env).KEY_CACHE;
    const hash = await hashApiKey(`race2-${crypto.randomUUID()}`);
    const database = async <T>(): Promise<T> => {
      // The revocation lands in this isolate while the database answers the fill.
      forgetKeyInIsolate(hash);
      return record(hash, null) as T;
    };
    const pending: Promise<unknown>[] = [];
    const deps = { config, kv, cacheEpoch: 0, waitUntil: (p: Promise<unknown>) => pending.push(p), log: createLogger("error"), database };
    await lookupKey(hash, deps);
    await Promise.all(pending);
    await kv.delete(KV.apiKey(0, hash));
    const second = await lookupKey(hash, deps);
    expect(second.source).toBe("database"); // not "memory": the stale fill was refused
  });
});

describe("a KV entry of the wrong shape", () => {
  it("is ignored: the database decides, so a missing revokedAt never reads as valid", async () => {
    const kv = (env as unknown as Env).KEY_CACHE;
    const hash = await hashApiKey(`shape-${crypto.randomUUID()}`);
    const { revokedAt: _dropped, ...withoutRevocation } = record(hash, null);
    await kv.put(KV.apiKey(0, hash), JSON.stringify(withoutRevocation));
    const revokedAt = Date.now() - 1000;
    let reads = 0;
    const database = async <T>(): Promise<T> => {
      reads++;
      return record(hash, revokedAt) as T;
    };
    const deps = { config, kv, cacheEpoch: 0, waitUntil: () => {}, log: createLogger("error"), database };
    const found = await lookupKey(hash, deps);
    expect(found.source).toBe("database");
    expect(found.record?.revokedAt).toBe(revokedAt);
    expect(reads).toBe(1);
  });
});
