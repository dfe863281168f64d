/**
 * The stored data's growth curves (bench/growth.ts): with 1k to 1M stored keys (and audit events, usage cells,
 * revocations and up to 10,000 tenants growing with them), what a key lookup costs in each tier, what the admin
 * API's list endpoints and the cron's clean-up take, and the plan of every query they send.
 *
 * Per size, ascending (each step adds rows to the same database):
 * - rows are inserted with generate_series, spread as production spreads them: audit events and usage cells over
 *   their retention with about five minutes' worth past it (what one cron run finds to delete), revocations
 *   expiring over the next days with one in a hundred expired; tenants = keys / 100 (10 to 10,000); subjects =
 *   keys / 10 (at most 100,000), claimed as `createKey` claims them; then ANALYZE;
 * - the store's own functions (src/store/) are timed from Node (median of several calls; the deletes inside a
 *   transaction rolled back), and each query they send is captured (a logging drizzle) and EXPLAIN ANALYZEd;
 * - the gateway (the deployable bundle on workerd, bench/growthWorkerd.ts) is timed on its real paths: `/whoami`
 *   with keys met for the first time (memory and KV miss: the database tier), the same keys again with the memory
 *   tier off (MEMORY_CACHE_TTL_S=0: the KV tier), then a few keys repeatedly (the memory tier); the admin API's
 *   list endpoints; and the cron (`/cdn-cgi/handler/scheduled`: the KV clean-up, the audit, usage and revocation
 *   prunes and the stored-identity check). KV holds one entry per stored key (filled ahead by a Worker of the
 *   bench's own, at most GROWTH_KV_FILL_MAX entries: Miniflare's KV takes about 400 writes a second).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { Miniflare } from "miniflare";
import pg from "pg";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../scripts/local-db.ts";
import { schema } from "../src/db/schema.ts";
import { generateApiKey, hashApiKey } from "../src/formats/apiKey.ts";
import { listAuditEvents, pruneAuditEvents } from "../src/store/audit.ts";
import { storedIdentityCollisions } from "../src/store/identities.ts";
import { createKey, findKeyByHash, listKeys, listTenants } from "../src/store/keys.ts";
import { pruneUsage } from "../src/store/rateLimits.ts";
import { pruneRevocations } from "../src/store/revocations.ts";
import { cpuUs } from "./proc.ts";
import { send, startGateway, type Gateway } from "./growthWorkerd.ts";

const DAY_MS = 86_400_000;

export interface Explained {
  what: string;
  rows: number;
  sql: string;
  plan: string[];
  /** The plan reads through an index (Index Scan, Index Only Scan, Bitmap Index Scan), not only Seq Scans. */
  usesIndex: boolean;
  /** The plan reads a whole table (a Seq Scan on one of flowgate's tables). */
  seqScan: boolean;
  /** Execution time EXPLAIN ANALYZE reports, ms. */
  executionMs: number | null;
}

export interface TierFigures {
  /** workerd CPU per request, µs (/whoami: the pipeline, the lookup, the answer). */
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
}

export interface StoreStep {
  keys: number;
  tenants: number;
  subjects: number;
  auditEvents: number;
  usageCells: number;
  revocations: number;
  kvEntries: number;
  /** The store's functions from Node, median ms per call. */
  queriesMs: Record<string, number>;
  /** The gateway's key lookup by tier. */
  tiers: { memory: TierFigures; kv: TierFigures; database: TierFigures };
  /** The admin API's list endpoints through the gateway, median ms per call (one client). */
  adminMs: Record<string, number>;
  /** The cron through the gateway: its first run at this size (deleting what is past retention), then the median of the next runs. */
  cronMs: { first: number; steady: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** A Worker of the bench's own that writes `apikey:` entries shaped like the gateway's into the persisted KV. */
const KV_FILLER = `export default { async fetch(req, env) {
  const u = new URL(req.url); const from = +u.searchParams.get("from"), to = +u.searchParams.get("to");
  const hashes = await req.json();
  for (let k = 0; k < hashes.length; k += 20) {
    await Promise.all(hashes.slice(k, k + 20).map((h, i) => env.KEY_CACHE.put("apikey:0:" + h, JSON.stringify({
      id: "growth" + (from + k + i), secretHash: h, tenant: "GROWTH1", subject: "user-1", email: null, roles: [], groups: [],
      scopes: [], servesTenants: null, notBefore: null, expiresAt: null, revokedAt: null }),
      { expirationTtl: 86400, metadata: { exp: 0, rev: 0 } })));
  }
  return new Response(String(to - from));
} }`;

async function fillKv(dir: string, client: pg.Client, from: number, to: number): Promise<void> {
  if (to <= from) return;
  const mf = new Miniflare({
    modules: true,
    script: KV_FILLER,
    kvNamespaces: ["KEY_CACHE"],
    kvPersist: dir,
    compatibilityDate: "2026-04-20",
  });
  try {
    const url = await mf.ready;
    const BATCH = 100;
    let next = from;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (next < to) {
          const start = next;
          const end = Math.min(to, start + BATCH);
          next = end;
          const hashes = (
            await client.query(
              `SELECT encode(sha256(('growth-key-' || g)::bytea), 'hex') AS h FROM generate_series($1::int, $2::int) g ORDER BY g`,
              [start + 1, end],
            )
          ).rows.map((r: { h: string }) => r.h);
          // Miniflare's KV simulator now and then drops a connection under a burst of writes: a batch is retried
          // (writing an entry twice is harmless).
          for (let attempt = 1; ; attempt++) {
            try {
              const res = await fetch(`${url}?from=${start}&to=${end}`, { method: "POST", body: JSON.stringify(hashes) });
              if (res.status !== 200) throw new Error(`KV fill: ${res.status} ${await res.text()}`);
              await res.text();
              break;
            } catch (err) {
              if (attempt >= 5) throw err;
              await new Promise((r) => setTimeout(r, 500 * attempt));
            }
          }
        }
      }),
    );
  } finally {
    await mf.dispose();
  }
}

/** Sends each request once, in order, from one client; workerd's CPU over all of them. */
async function pass(gateway: Gateway, keys: string[]): Promise<TierFigures> {
  const times: number[] = [];
  const cpu0 = cpuUs(gateway.pid);
  for (const key of keys) {
    const r = await send(gateway.url, { path: "/whoami", headers: { authorization: `Bearer ${key}` } });
    if (r.status !== 200) throw new Error(`/whoami answered ${r.status}`);
    times.push(r.ms);
  }
  const cpu = cpuUs(gateway.pid) - cpu0;
  return { cpuUs: Math.round(cpu / keys.length), p50Ms: median(times), p99Ms: pct(times, 0.99), requests: keys.length };
}

export interface StoreOptions {
  scriptPath: string;
  rowCounts: number[];
  /** Fresh keys per step, met by the gateway for the first time (the database and KV tiers). */
  freshKeys: number;
  kvFillMax: number;
  /** A PostgreSQL server: the bench makes a scratch database on it (and drops it). Absent: PGlite. */
  serverUrl?: string;
  log: (m: string) => void;
}

export async function storeCurves(o: StoreOptions): Promise<{ steps: StoreStep[]; explained: Explained[]; database: string }> {
  const scratch = o.serverUrl ? await createScratchDatabase(o.serverUrl, "growth") : null;
  const local: LocalDatabase = await startLocalDatabase(scratch ? { databaseUrl: scratch.url } : {});
  const captured: { query: string; params: unknown[] }[] = [];
  const logger = { logQuery: (query: string, params: unknown[]) => void captured.push({ query, params }) };
  let client = new pg.Client({ connectionString: local.nodeDatabaseUrl });
  await client.connect();
  let db = drizzle(client, { schema, logger });
  // PGlite runs one session at a time (scripts/db-bridge.ts): this one is closed while the gateway runs, or the
  // gateway's sessions would wait behind it until they time out.
  const reconnect = async () => {
    client = new pg.Client({ connectionString: local.nodeDatabaseUrl });
    await client.connect();
    db = drizzle(client, { schema, logger });
  };
  const version = (await client.query("SELECT version() AS v")).rows[0].v as string;
  const kvDir = mkdtempSync(join(tmpdir(), "flowgate-growth-kv-"));
  const steps: StoreStep[] = [];
  const explained: Explained[] = [];

  /** Runs `work` in a transaction rolled back (so a delete deletes nothing for good); returns what it sent. */
  const inRollback = async (work: () => Promise<unknown>) => {
    captured.length = 0;
    await client.query("BEGIN");
    try {
      await work();
      return [...captured];
    } finally {
      await client.query("ROLLBACK");
    }
  };
  const explain = async (what: string, rows: number, work: () => Promise<unknown>, pick: (q: string) => boolean = () => true) => {
    const sent = (await inRollback(work)).filter((q) => pick(q.query));
    const q = sent.at(-1);
    if (!q) throw new Error(`${what}: no query captured`);
    await client.query("BEGIN");
    try {
      const plan = await client.query(`EXPLAIN (ANALYZE, COSTS OFF) ${q.query}`, q.params as unknown[]);
      const lines = plan.rows.map((r: Record<string, string>) => r["QUERY PLAN"]!);
      explained.push({
        what,
        rows,
        sql: q.query,
        plan: lines,
        usesIndex: lines.some((l) => /Index (Only )?Scan|Bitmap Index Scan/.test(l)),
        seqScan: lines.some((l) => /Seq Scan on (api_keys|audit_events|usage_counters|token_revocations|tenants|subjects)/.test(l)),
        executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(lines.at(-1) ?? "")?.[1] ?? NaN) || null,
      });
    } finally {
      await client.query("ROLLBACK");
    }
  };
  const timeMs = async (calls: number, work: () => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await inRollback(work);
      xs.push(performance.now() - t0);
    }
    return Math.round(median(xs) * 100) / 100;
  };

  try {
    const admin = await createKey(db, { tenant: "bench", subject: "growth-admin", admin: true, createdBy: "bench" });
    const bindings = {
      DATABASE_URL: local.workerDatabaseUrl,
      DB_WS_PROXY: local.wsProxy,
      LOG_LEVEL: "error",
    };
    let stored = 0;
    let kvFilled = 0;
    for (const n of o.rowCounts) {
      const tenantCount = Math.min(10_000, Math.max(10, Math.floor(n / 100)));
      const subjectCount = Math.min(100_000, Math.max(10, Math.floor(n / 10)));
      o.log(`store: growing to ${n} keys, ${tenantCount} tenants...`);
      const range = [stored + 1, n];
      await client.query(`INSERT INTO tenants(name) SELECT 'GROWTH' || g FROM generate_series(1, ${tenantCount}) g ON CONFLICT DO NOTHING`);
      await client.query(
        `INSERT INTO api_keys(id, prefix, secret_hash, tenant, subject, created_by, created_at)
         SELECT 'growth' || g, 'fgk_growth' || g, encode(sha256(('growth-key-' || g)::bytea), 'hex'),
                'GROWTH' || (g % ${tenantCount} + 1), 'user-' || (g % ${subjectCount}), 'bench', now() - (g || ' seconds')::interval
         FROM generate_series($1::int, $2::int) g`,
        range,
      );
      // As createKey claims each key's subject (ASCII names: the fold is the lower-case spelling, here the same).
      await client.query(`INSERT INTO subjects(folded, subject) SELECT DISTINCT subject, subject FROM api_keys ON CONFLICT DO NOTHING`);
      // Spread over the 90 days kept (AUDIT_RETENTION_DAYS), one row in 20,000 past it (about five minutes' worth).
      await client.query(
        `INSERT INTO audit_events(at, last_at, action, decision, actor_subject, tenant, target, engine)
         SELECT t, t, (ARRAY['request.refused','request.allowed','prefect.mutation','key.create'])[g % 4 + 1],
                (ARRAY['refused','allowed','allowed','done'])[g % 4 + 1], 'user-' || (g % ${subjectCount}),
                'GROWTH' || (g % ${tenantCount} + 1), 'growth' || g, (ARRAY['prefect','conductor','prefect','admin'])[g % 4 + 1]
         FROM generate_series($1::int, $2::int) g,
              LATERAL (SELECT CASE WHEN g % 20000 = 0 THEN now() - interval '91 days'
                                   ELSE now() - ((g::bigint * 7919) % 129000) * interval '1 minute' END AS t) s`,
        range,
      );
      // Minute cells over the 2 days they are kept, one in 20,000 past it.
      await client.query(
        `INSERT INTO usage_counters(resolution, bucket_start, tenant, subject, key_id, route_group, requests, cost)
         SELECT 'minute', CASE WHEN g % 20000 = 0 THEN date_trunc('minute', now()) - interval '3 days'
                               ELSE date_trunc('minute', now()) - (g % 2870) * interval '1 minute' END,
                'GROWTH' || (g % ${tenantCount} + 1), 'cell-' || g, 'growth' || g, 'prefect', 1, 1
         FROM generate_series($1::int, $2::int) g`,
        range,
      );
      const revocations = Math.floor(n / 10);
      await client.query(
        `INSERT INTO token_revocations(kind, value, revoked_at, expires_at, revoked_by)
         SELECT 'jti', 'growth-' || g, now(), now() + ((g % 100) - 1) * interval '1 hour', 'bench'
         FROM generate_series($1::int, $2::int) g`,
        [Math.floor(stored / 10) + 1, revocations],
      );
      stored = n;
      // Keys the gateway has never seen: real keys (their hash is what the gateway looks up).
      const fresh = Array.from({ length: o.freshKeys }, () => generateApiKey());
      await client.query(
        `INSERT INTO api_keys(id, prefix, secret_hash, tenant, subject, created_by)
         SELECT id, prefix, h, 'bench', 'growth-fresh', 'bench' FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, prefix, h)`,
        [fresh.map((k) => k.id), fresh.map((k) => k.prefix), fresh.map((k) => hashApiKey(k.key))],
      );
      await client.query(`INSERT INTO subjects(folded, subject) VALUES ('growth-fresh', 'growth-fresh') ON CONFLICT DO NOTHING`);
      await client.query("ANALYZE");

      // The store's functions from Node, and their plans.
      o.log(`store: ${n} keys: queries and plans...`);
      const hashes = (
        await client.query(`SELECT encode(sha256(('growth-key-' || g)::bytea), 'hex') AS h FROM generate_series(1, 200) g`)
      ).rows.map((r: { h: string }) => r.h);
      const t0 = performance.now();
      for (const h of hashes) await findKeyByHash(db, h);
      const lookupMs = (performance.now() - t0) / hashes.length;
      const deepOffset = Math.min(1_000_000, Math.floor(n / 2));
      const week = new Date(Date.now() - 7 * DAY_MS);
      const now = Date.now();
      const queries: [string, () => Promise<unknown>, ((q: string) => boolean)?][] = [
        ["key lookup by hash (findKeyByHash)", () => findKeyByHash(db, hashes[0]!)],
        ["admin key list, first page (listKeys)", () => listKeys(db, { limit: 100, offset: 0 })],
        [`admin key list, page at offset keys/2 (listKeys)`, () => listKeys(db, { limit: 100, offset: deepOffset })],
        ["admin key list, one tenant (listKeys)", () => listKeys(db, { tenant: "GROWTH7", limit: 100, offset: 0 })],
        ["admin key list, one subject (listKeys)", () => listKeys(db, { subject: "user-7", limit: 100, offset: 0 })],
        ["admin audit list, first page (listAuditEvents)", () => listAuditEvents(db, { limit: 100, offset: 0 })],
        ["admin audit list, one action (listAuditEvents)", () => listAuditEvents(db, { action: "key.create", limit: 100, offset: 0 })],
        ["admin audit list, since a week (listAuditEvents)", () => listAuditEvents(db, { since: week, limit: 100, offset: 0 })],
        ["admin tenant list (listTenants)", () => listTenants(db)],
        ["cron audit prune (pruneAuditEvents)", () => pruneAuditEvents(db, new Date(now - 90 * DAY_MS))],
        ["cron usage prune, minutes (pruneUsage)", () => pruneUsage(db, "minute", new Date(now - 2 * DAY_MS))],
        ["cron revocation prune (pruneRevocations)", () => pruneRevocations(db, new Date(now))],
        [
          "cron identity check: unclaimed subjects (storedIdentityCollisions)",
          () => storedIdentityCollisions(db),
          (q) => /not exists/.test(q),
        ],
        [
          "cron identity check: every key's subject (storedIdentityCollisions)",
          () => storedIdentityCollisions(db),
          (q) => /select distinct "subject" from "api_keys"/i.test(q),
        ],
      ];
      const queriesMs: Record<string, number> = { "key lookup by hash (findKeyByHash)": Math.round(lookupMs * 100) / 100 };
      for (const [what, work, pick] of queries) {
        // A query picked out of a larger function is explained alone; the function is timed whole, below.
        if (!(what in queriesMs) && !pick) queriesMs[what] = await timeMs(5, work);
        await explain(what, n, work, pick);
      }
      queriesMs["cron identity check, whole (storedIdentityCollisions)"] = await timeMs(3, () => storedIdentityCollisions(db));

      // KV: one entry per stored key (up to the fill's bound), as a deployment whose keys are all in use holds.
      const kvTarget = Math.min(n, o.kvFillMax);
      o.log(`store: ${n} keys: filling KV to ${kvTarget} entries...`);
      await fillKv(kvDir, client, kvFilled, kvTarget);
      kvFilled = Math.max(kvFilled, kvTarget);

      // The gateway: database tier (first meeting), KV tier (memory off), admin endpoints, cron.
      o.log(`store: ${n} keys: the gateway's tiers, admin endpoints and cron...`);
      await client.end();
      const keys = fresh.map((k) => k.key);
      let gateway = await startGateway(o.scriptPath, { ...bindings, MEMORY_CACHE_TTL_S: "0" }, kvDir);
      let database: TierFigures;
      let kv: TierFigures;
      const adminMs: Record<string, number> = {};
      let cronMs: StoreStep["cronMs"];
      try {
        await send(gateway.url, { path: "/whoami", headers: { authorization: `Bearer ${admin.key}` } });
        database = await pass(gateway, keys);
        await new Promise((r) => setTimeout(r, 1_000)); // the KV fills behind the first pass
        kv = await pass(gateway, keys);
        const auth = { authorization: `Bearer ${admin.key}` };
        const since = encodeURIComponent(week.toISOString());
        const endpoints: [string, string][] = [
          ["GET /admin/keys (first page)", "/admin/keys?limit=100"],
          ["GET /admin/keys (page at offset keys/2)", `/admin/keys?limit=100&offset=${deepOffset}`],
          ["GET /admin/keys?tenant=", "/admin/keys?limit=100&tenant=GROWTH7"],
          ["GET /admin/keys?subject=", "/admin/keys?limit=100&subject=user-7"],
          ["GET /admin/audit (first page)", "/admin/audit?limit=100"],
          ["GET /admin/audit?action=", "/admin/audit?limit=100&action=key.create"],
          ["GET /admin/audit?since= (a week)", `/admin/audit?limit=100&since=${since}`],
          ["GET /admin/tenants", "/admin/tenants"],
        ];
        for (const [what, path] of endpoints) {
          const xs: number[] = [];
          for (let i = 0; i < 5; i++) {
            const r = await send(gateway.url, { path, headers: auth });
            if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
            xs.push(r.ms);
          }
          adminMs[what] = Math.round(median(xs) * 100) / 100;
        }
        const cron = async () => {
          const r = await send(gateway.entryUrl, { path: `/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/5 * * * *")}` });
          if (r.status !== 200) throw new Error(`cron: ${r.status}`);
          return r.ms;
        };
        const first = await cron();
        const next = [await cron(), await cron(), await cron()];
        cronMs = { first: Math.round(first), steady: Math.round(median(next)) };
      } finally {
        await gateway.stop();
      }
      // The memory tier: a few keys (already in KV), each asked several times within MEMORY_CACHE_TTL_S.
      gateway = await startGateway(o.scriptPath, bindings, kvDir);
      let memory: TierFigures;
      try {
        const few = keys.slice(0, 100);
        await pass(gateway, few);
        memory = await pass(gateway, [...few, ...few, ...few, ...few, ...few]);
      } finally {
        await gateway.stop();
      }
      await reconnect();
      steps.push({
        keys: n,
        tenants: tenantCount,
        subjects: subjectCount,
        auditEvents: n,
        usageCells: n,
        revocations,
        kvEntries: kvFilled,
        queriesMs,
        tiers: { memory, kv, database },
        adminMs,
        cronMs,
      });
      o.log(
        `store: ${n} keys: memory ${memory.cpuUs} µs, KV ${kv.cpuUs} µs, database ${database.cpuUs} µs of workerd CPU; cron ${cronMs.first}/${cronMs.steady} ms`,
      );
    }
  } finally {
    await client.end().catch(() => {});
    await local.close();
    await scratch?.drop();
    rmSync(kvDir, { recursive: true, force: true });
  }
  return { steps, explained, database: version };
}
