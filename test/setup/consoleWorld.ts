/**
 * The console's world, for its Chromium test (test/node/console.test.ts) and its screenshots
 * (scripts/console-screenshots.ts): the deployable Worker with its static assets on workerd (as `npm start` runs
 * it), a real PostgreSQL (PGlite, or a scratch database on TEST_DATABASE_URL), the stand-in engines (Prefect,
 * Conductor, Argo), a first admin key, and `seedHistory`: a day of audit events and two days of usage, written
 * through the store with past times the gateway cannot make on demand.
 *
 * The database's bridge holds one session at a time: Node opens a connection per piece of work (`withNodeDb`),
 * never one for the world's life, or the Worker would wait on it.
 */
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db.ts";
import { buildWorker, startRuntime, wranglerFacts } from "../../scripts/worker-runtime.ts";
import { schema } from "../../src/db/schema.ts";
import type { Database } from "../../src/db/client.ts";
import { insertAuditEvents, type AuditDecision, type AuditRow } from "../../src/store/audit.ts";
import { createKey, ensureTenant } from "../../src/store/keys.ts";
import { addUsage, type UsageCell } from "../../src/store/rateLimits.ts";
import { startStubs, type Stubs } from "./stubs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface ConsoleWorld {
  gateway: string;
  adminKey: string;
  stubs: Stubs;
  withNodeDb<T>(work: (db: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startConsoleWorld(opts: { port: number; label: string; bindings?: Record<string, string> }): Promise<ConsoleWorld> {
  const server = process.env.TEST_DATABASE_URL;
  const scratch = server ? await createScratchDatabase(server, opts.label) : null;
  let db: LocalDatabase | null = null;
  let stubs: Stubs | null = null;
  let dispose: (() => Promise<void>) | null = null;
  const close = async () => {
    await dispose?.();
    await stubs?.close();
    await db?.close();
    await scratch?.drop();
  };
  try {
    db = await startLocalDatabase({ databaseUrl: scratch?.url });
    stubs = await startStubs();
    const url = db.nodeDatabaseUrl;
    const withNodeDb = async <T>(work: (d: Database) => Promise<T>): Promise<T> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await work(drizzle(client, { schema }) as unknown as Database);
      } finally {
        await client.end();
      }
    };
    const adminKey = (
      await withNodeDb((d) => createKey(d, { tenant: "ops", subject: "console-operator", scopes: ["admin"], createdBy: "test" }))
    ).key;
    const stub = `http://127.0.0.1:${stubs.port}`;
    const { mf } = await startRuntime({
      scriptPath: buildWorker(`${ROOT}.data/build-${opts.label}`),
      port: opts.port,
      compatibilityDate: wranglerFacts().compatibilityDate,
      compatibilityFlags: wranglerFacts().compatibilityFlags,
      bindings: {
        DATABASE_URL: db.workerDatabaseUrl,
        DB_WS_PROXY: db.wsProxy,
        LOG_LEVEL: "error",
        MEMORY_CACHE_TTL_S: "1",
        AUDIT_FLUSH_MS: "5",
        SESSION_SECRETS: "console-test-session-secret-0123456789",
        PREFECT_GRAPHQL_URL: `${stub}/prefect/${opts.label}/graphql`,
        CONDUCTOR_URL: `${stub}/conductor/${opts.label}`,
        SCHELLAR_URL: `${stub}/schellar/${opts.label}`,
        ARGO_URL: `${stub}/argo/${opts.label}`,
        ...opts.bindings,
      },
      onStdout: () => {},
      onStderr: () => {},
    });
    dispose = () => mf.dispose();
    return { gateway: `http://127.0.0.1:${opts.port}`, adminKey, stubs, withNodeDb, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A small deterministic random source (mulberry32), so seeded worlds and their screenshots are the same each run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const HOUR = 3_600_000;

/** Who uses the seeded gateway: a key each, its tenant, the route group it calls and how busy it is. */
export const SEEDED_CALLERS = [
  { subject: "ci-bot", tenant: "acme", group: "prefect", perHour: 120 },
  { subject: "etl-worker", tenant: "globex", group: "workers", perHour: 300 },
  { subject: "ann@acme.example", tenant: "acme", group: "argo", perHour: 40 },
  { subject: "billing-svc", tenant: "globex", group: "conductor", perHour: 90 },
  { subject: "nightly-report", tenant: "initech", group: "prefect", perHour: 25 },
] as const;

/**
 * A day of the audit trail and two days of usage, ending `now`: allowed writes and refusals per engine with a
 * daily rhythm, a burst of bad-key refusals (one aggregated run), admin actions; usage cells per key at minute,
 * hour and day resolution. Returns the seeded keys' ids by subject.
 */
export async function seedHistory(world: ConsoleWorld, now = Date.now()): Promise<Record<string, string>> {
  const rnd = random(27);
  const ids: Record<string, string> = {};
  await world.withNodeDb(async (d) => {
    for (const c of SEEDED_CALLERS) {
      await ensureTenant(d, c.tenant);
      const scopes = c.group === "prefect" ? ["query/*", "mutation/create_flow_run"] : c.group === "workers" ? ["worker"] : ["conductor"];
      const { row } = await createKey(d, {
        tenant: c.tenant,
        subject: c.subject,
        scopes: c.group === "argo" ? [] : scopes,
        roles: c.group === "argo" ? ["team-a"] : [],
        createdBy: "console-operator",
      });
      ids[c.subject] = row.id;
    }

    // The audit trail: each hour of the last 24, a rhythm by hour of day.
    const events: (Omit<AuditRow, "dedupeKey"> & { dedupeKey: string | null })[] = [];
    const at = (ms: number) => new Date(ms).toISOString();
    const event = (t: number, decision: AuditDecision, engine: string, over: Partial<AuditRow> = {}) =>
      events.push({
        action: decision === "refused" ? "request.refused" : decision === "done" ? "key.create" : "request.allowed",
        decision,
        actorSubject: "ci-bot",
        engine,
        at: at(t),
        lastAt: at(t),
        count: 1,
        dedupeKey: null,
        ...over,
      });
    for (let h = 23; h >= 0; h--) {
      const start = now - (h + 1) * HOUR;
      const hourOfDay = new Date(start).getUTCHours();
      const busy = 0.35 + 0.65 * Math.max(0, Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI));
      const allowed: [string, string, string, string][] = [
        ["prefect", "ci-bot", "acme", "POST /prefect/graphql"],
        ["conductor", "billing-svc", "globex", "POST /conductor/api/workflow/:name"],
        ["argo", "ann@acme.example", "acme", "POST /argo/api/v1/workflows/:namespace"],
        ["workers", "etl-worker", "globex", "POST /workers/conductor/api/tasks"],
      ];
      for (const [engine, subject, tenant, route] of allowed) {
        const n = Math.round(busy * (engine === "workers" ? 9 : 5) * (0.6 + rnd() * 0.8));
        for (let i = 0; i < n; i++) {
          event(start + rnd() * HOUR, "allowed", engine, {
            actorSubject: subject,
            tenant,
            route,
            action: engine === "prefect" ? "prefect.mutation" : "request.allowed",
          });
        }
      }
      const refusals: [string, string, string, string, string][] = [
        ["prefect", "ci-bot", "acme", "FORBIDDEN", "not allowed: mutation/delete_flow"],
        ["argo", "ann@acme.example", "acme", "FORBIDDEN", "not a member of workspace team-b"],
        ["conductor", "billing-svc", "globex", "FORBIDDEN", "workflow definition owned by another tenant"],
      ];
      for (const [engine, subject, tenant, code, message] of refusals) {
        if (rnd() < 0.55) {
          const t = start + rnd() * HOUR;
          const count = 1 + Math.floor(rnd() * 4);
          event(t, "refused", engine, {
            actorSubject: subject,
            tenant,
            count,
            lastAt: at(t + 20_000),
            dedupeKey: `seed:${engine}:${h}`,
            details: { code, message, ...(engine === "prefect" ? { refusedFields: ["mutation/delete_flow"] } : {}) },
          });
        }
      }
      if (h % 6 === 2)
        event(start + rnd() * HOUR, "done", "admin", { actorSubject: "console-operator", tenant: "acme", details: { door: "console" } });
    }
    // A burst of bad keys from one client, aggregated into one run, and a rate limit that bit.
    const burst = now - 5 * HOUR - 17 * 60_000;
    event(burst, "refused", "flowapi", {
      actorSubject: "anonymous",
      action: "request.refused",
      count: 240,
      lastAt: at(burst + 55_000),
      dedupeKey: "seed:burst",
      route: "POST /flowapi/api/0/run",
      details: { code: "UNAUTHENTICATED", message: "missing or invalid credential" },
    });
    const limited = now - 2 * HOUR - 8 * 60_000;
    event(limited, "refused", "workers", {
      actorSubject: "etl-worker",
      tenant: "globex",
      action: "ratelimit.refused",
      count: 36,
      lastAt: at(limited + 50_000),
      dedupeKey: "seed:limited",
      details: { code: "RATE_LIMITED", message: "rate limit of 300 per 60 s reached" },
    });
    await insertAuditEvents(d, events);

    // Usage: hour cells for 48 hours, minute cells for the last hour, day cells for what the hours cover.
    const cells: UsageCell[] = [];
    const days = new Map<string, UsageCell>();
    const hourNow = now - (now % HOUR);
    for (const c of SEEDED_CALLERS) {
      const keyId = ids[c.subject]!;
      for (let h = 47; h >= 0; h--) {
        const start = hourNow - h * HOUR;
        const hourOfDay = new Date(start).getUTCHours();
        const busy = 0.25 + 0.75 * Math.max(0, Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI));
        // The nightly report runs at night only.
        const weight = c.subject === "nightly-report" ? (hourOfDay < 5 ? 6 : 0) : busy;
        const requests = Math.round(c.perHour * weight * (0.7 + rnd() * 0.6));
        if (requests === 0) continue;
        const refused = c.subject === "etl-worker" && h === 2 ? 36 : 0;
        const cell = {
          tenant: c.tenant,
          subject: c.subject,
          keyId,
          routeGroup: c.group,
          requests,
          cost: requests * (c.group === "workers" ? 2 : 1),
          refused,
        };
        cells.push({ resolution: "hour", bucketStart: new Date(start), ...cell });
        const dayStart = start - (start % (24 * HOUR));
        const dayName = `${c.subject}:${dayStart}`;
        const day = days.get(dayName);
        if (day) {
          day.requests += cell.requests;
          day.cost += cell.cost;
          day.refused += cell.refused;
        } else days.set(dayName, { resolution: "day", bucketStart: new Date(dayStart), ...cell });
      }
      if (c.subject !== "nightly-report") {
        for (let m = 59; m >= 1; m--) {
          if (rnd() < 0.3) continue;
          const requests = Math.max(1, Math.round((c.perHour / 60) * (0.5 + rnd())));
          const start = now - (now % 60_000) - m * 60_000;
          cells.push({
            resolution: "minute",
            bucketStart: new Date(start),
            tenant: c.tenant,
            subject: c.subject,
            keyId,
            routeGroup: c.group,
            requests,
            cost: requests,
            refused: 0,
          });
        }
      }
    }
    await addUsage(d, [...cells, ...days.values()]);
  });
  return ids;
}
