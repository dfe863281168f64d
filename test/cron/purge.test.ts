import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { KV } from "../../src/cache/kv";
import { isDeadEntry, purgeDeadCacheEntries, runScheduledPurge } from "../../src/cron/purge";
import worker from "../../src/index";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { asAdmin, baseEnv, call, createTestKey, uniqueTag } from "../helpers";
import { parseConfig } from "../../src/readConfig";
import { withDatabase } from "../../src/db/client";
import { addUsage, queryUsage, type UsageResolution } from "../../src/store/rateLimits";

const h = (n: number) => n.toString(16).padStart(64, "0");

describe("cron purge", () => {
  it("decides on names and metadata alone", () => {
    const now = 1_000_000;
    expect(isDeadEntry(`apikey:3:${h(1)}`, { exp: 0, rev: 0 }, 3, now)).toBe(false);
    expect(isDeadEntry(`apikey:3:${h(1)}`, { exp: now + 10, rev: 0 }, 3, now)).toBe(false);
    expect(isDeadEntry(`apikey:3:${h(1)}`, { exp: now - 1, rev: 0 }, 3, now)).toBe(true);
    expect(isDeadEntry(`apikey:3:${h(1)}`, { exp: 0, rev: 1 }, 3, now)).toBe(true);
    expect(isDeadEntry(`apikey:2:${h(1)}`, { exp: 0, rev: 0 }, 3, now)).toBe(true);
    expect(isDeadEntry("apikey:junk", null, 3, now)).toBe(true);
  });

  it("runs from the scheduled handler on a populated KV: dead entries go, live ones stay", async () => {
    const kv = baseEnv.KEY_CACHE;
    const epochRaw = await kv.get(KV.cacheEpoch);
    const epoch = epochRaw ? Number(epochRaw) : 0;
    const nowS = Math.floor(Date.now() / 1000);
    const live = [KV.apiKey(epoch, h(101)), KV.apiKey(epoch, h(102))];
    const dead = [KV.apiKey(epoch, h(201)), KV.apiKey(epoch, h(202)), KV.apiKey(epoch + 100, h(203))];
    await kv.put(live[0]!, "{}", { metadata: { exp: 0, rev: 0 } });
    await kv.put(live[1]!, "{}", { metadata: { exp: nowS + 3600, rev: 0 } });
    await kv.put(dead[0]!, "{}", { metadata: { exp: nowS - 10, rev: 0 } });
    await kv.put(dead[1]!, "{}", { metadata: { exp: 0, rev: 1 } });
    await kv.put(dead[2]!, "{}", { metadata: { exp: 0, rev: 0 } }); // another epoch
    // A real revoked key's tombstone too.
    const { id, key } = await createTestKey({ subject: "cron-victim" });
    await call("/whoami", { headers: { "x-api-key": key } });
    await asAdmin(`/admin/keys/${id}`, { method: "DELETE" });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), baseEnv, ctx);
    await waitOnExecutionContext(ctx);

    for (const k of live) expect(await kv.get(k), k).not.toBeNull();
    for (const k of dead) expect(await kv.get(k), k).toBeNull();
    const remaining = await kv.list<{ rev: number }>({ prefix: "apikey:" });
    expect(remaining.keys.filter((k) => k.metadata?.rev === 1)).toEqual([]);
    // Idempotent: a second run finds nothing more to delete among these.
    const again = await purgeDeadCacheEntries(kv);
    expect(again.complete).toBe(true);
    for (const k of live) expect(await kv.get(k)).not.toBeNull();
  });

  it("works in bounded batches and resumes where the last run stopped", async () => {
    const kv = baseEnv.KEY_CACHE;
    const epochRaw = await kv.get(KV.cacheEpoch);
    const epoch = epochRaw ? Number(epochRaw) : 0;
    const names = Array.from({ length: 7 }, (_, i) => KV.apiKey(epoch, h(900 + i)));
    for (const n of names) await kv.put(n, "{}", { metadata: { exp: 0, rev: 1 } });
    const total = (await kv.list({ prefix: "apikey:" })).keys.length;
    const runs: { deleted: number; complete: boolean }[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await purgeDeadCacheEntries(kv, Date.now(), { pageSize: 2, maxPages: 1 });
      runs.push(r);
      if (r.complete) break;
    }
    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(total / 2));
    expect(runs.at(-1)!.complete).toBe(true);
    for (const n of names) expect(await kv.get(n)).toBeNull();
    expect(await kv.get(KV.purgeCursor)).toBeNull();
  });

  it("prunes usage past each resolution's retention: minutes after 2 days, hours after 35, days after USAGE_RETENTION_DAYS", async () => {
    const parsed = parseConfig({ ...baseEnv, USAGE_RETENTION_DAYS: "30" });
    if (!parsed.ok) throw parsed.error;
    const config = parsed.config;
    const subject = uniqueTag("usage-prune");
    const day = 86_400_000;
    const now = Date.now();
    const cell = (resolution: UsageResolution, ageMs: number) => ({
      resolution,
      bucketStart: new Date(now - ageMs),
      tenant: "acme",
      subject,
      keyId: "",
      routeGroup: "prefect",
      requests: 1,
      cost: 1,
      refused: 0,
    });
    await withDatabase(config, (db) =>
      addUsage(db, [
        cell("minute", 3 * day),
        cell("minute", day),
        cell("hour", 36 * day),
        cell("hour", 34 * day),
        cell("day", 31 * day),
        cell("day", 29 * day),
      ]),
    );
    const summary = await runScheduledPurge(baseEnv.KEY_CACHE, config, now);
    expect(summary.usagePruned).toBeGreaterThanOrEqual(3);
    for (const resolution of ["minute", "hour", "day"] as const) {
      const left = await withDatabase(config, (db) => queryUsage(db, { resolution, subject, since: new Date(0), limit: 10, offset: 0 }));
      expect(left, resolution).toHaveLength(1);
    }
  });
});
