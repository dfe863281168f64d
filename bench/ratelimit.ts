/**
 * Rate limits under load, on the built Worker in workerd with its counters on real Durable Objects (SQLite).
 *
 *   npx tsx bench/ratelimit.ts            overhead: the same route, in one run (RL_ROUNDS alternating rounds, medians),
 *                                         (1) with no limit configured at all,
 *                                         (2) with limits configured but none matching the caller, (3) with a
 *                                         limit on the caller that never refuses: req/s, p99 (50 clients and 1),
 *                                         CPU µs per request of workerd (counters included), and what (2) and (3)
 *                                         add to (1).
 *   npx tsx bench/ratelimit.ts accuracy   50 clients against a limit of L per W seconds, spread over ISOLATES
 *                                         gateway isolates sharing the counter: admitted vs the stated bound.
 *
 * Env: BENCH_DURATION_S (5; the accuracy run lasts at least one window), BENCH_CONNECTIONS (50), RL_LIMIT (300), RL_WINDOW_S (10), RL_ISOLATES (4).
 * Traffic goes to 127.0.0.1 only; every loop is bounded in time and count.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Readable } from "node:stream";
import { Miniflare, type WorkerOptions } from "miniflare";
import { wranglerFacts } from "../scripts/worker-runtime.ts";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { schema } from "../src/db/schema.ts";
import type { Database } from "../src/db/client.ts";
import { createKey } from "../src/store/keys.ts";
import { putRateLimit } from "../src/store/rateLimits.ts";
import { RATE_LEASE_TTL_MS } from "../src/constants.ts";
import { cpuUs, workerdPids } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COMPAT_DATE = "2026-04-20";

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

function quietStdio(stdout: Readable, stderr: Readable) {
  stdout.resume();
  let buffered = "";
  stderr.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines)
      if (!/Connection reset by peer|^stack: |Broken pipe|different request context/.test(line))
        process.stderr.write(`[workerd] ${line}\n`);
  });
}

/** `isolates` copies of the gateway, each its own isolate, all bound to the counters of the first. */
async function startGateways(scriptPath: string, bindings: Record<string, string>, isolates: number) {
  const before = workerdPids();
  const workers: WorkerOptions[] = Array.from({ length: isolates }, (_, i) => ({
    name: `gw${i}`,
    scriptPath,
    modules: true,
    modulesRoot: ROOT,
    compatibilityDate: COMPAT_DATE,
    // wrangler.toml's flags (nodejs_als: the explain scope's AsyncLocalStorage); without them the bundle's
    // `node:async_hooks` import does not resolve and this bench could not start.
    compatibilityFlags: wranglerFacts().compatibilityFlags,
    bindings,
    kvNamespaces: { KEY_CACHE: "key-cache" },
    durableObjects: { RATE_LIMITER: { className: "RateLimitCounter", scriptName: "gw0", useSQLite: true } },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  }));
  const mf = new Miniflare({ workers, host: "127.0.0.1", port: 0, handleRuntimeStdio: quietStdio });
  await mf.ready;
  const urls = await Promise.all(workers.map((w) => mf.unsafeGetDirectURL(w.name).then((u) => u.href.replace(/\/$/, ""))));
  // Other workerd processes may start meanwhile (other runs on the machine): ours is the one this process spawned.
  const pids = [...workerdPids()].filter((p) => !before.has(p) && parentOf(p) === process.pid);
  return { mf, urls, pid: pids.length === 1 ? pids[0]! : null };
}

function autocannon(url: string, headers: Record<string, string>, connections: number, durationS: number, body: string): Promise<any> {
  const args = [
    `${ROOT}node_modules/autocannon/autocannon.js`,
    "-c",
    String(connections),
    "-d",
    String(durationS),
    "-j",
    "-m",
    "POST",
    "-b",
    body,
  ];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited ${code}`))));
  });
}

async function setup() {
  const buildDir = `${ROOT}bench/.build/ratelimit`; // ignored by git, like the main bench's
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", buildDir], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const db = await startLocalDatabase();
  // One session at a time: PGlite's bridge serializes sessions, so a client left open would hold the Worker's
  // lookups back (they time out at 5 s).
  const withDb = async <T>(work: (d: Database) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await client.connect();
    try {
      return await work(drizzle(client, { schema }));
    } finally {
      await client.end();
    }
  };
  const upstream = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"data":{"flow":[]}}'));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const bindings = {
    DATABASE_URL: db.workerDatabaseUrl,
    DB_WS_PROXY: db.wsProxy,
    LOG_LEVEL: "error",
    PREFECT_GRAPHQL_URL: `http://127.0.0.1:${(upstream.address() as { port: number }).port}/graphql`,
  };
  return { buildDir, db, withDb, upstream, bindings };
}

const GQL = JSON.stringify({ query: "query Flows { flow(limit: 1) { id name } }" });
const HEADERS = (key: string) => ({ "content-type": "application/json", "x-api-key": key });

type Gateway = Awaited<ReturnType<typeof startGateways>>;

async function measureOn(gw: Gateway, name: string, key: string) {
  const url = `${gw.urls[0]}/prefect/graphql`;
  const first = await fetch(url, { method: "POST", headers: HEADERS(key), body: GQL });
  await first.text();
  if (first.status !== 200) throw new Error(`${name}: warm-up answered ${first.status}`);
  await autocannon(url, HEADERS(key), CONNECTIONS, 2, GQL).catch(() => null); // warm-up, discarded
  const cpu0 = gw.pid ? cpuUs(gw.pid) : null;
  const r = await autocannon(url, HEADERS(key), CONNECTIONS, DURATION_S, GQL);
  const cpu1 = gw.pid ? cpuUs(gw.pid) : null;
  const one = await autocannon(url, HEADERS(key), 1, Math.max(3, Math.round(DURATION_S / 2)), GQL);
  return {
    name,
    requests: r.requests.total as number,
    non2xx: r.non2xx as number,
    reqPerSec: Math.round(r.requests.average as number),
    p99Ms: r.latency.p99 as number,
    singleP99Ms: one.latency.p99 as number,
    cpuUsPerRequest: cpu0 !== null && cpu1 !== null ? Math.round((cpu1 - cpu0) / (r.requests.total as number)) : null,
  };
}

async function overhead() {
  const s = await setup();
  const limited = await s.withDb((d) => createKey(d, { tenant: "bench", subject: "limited", scopes: ["query/*"], createdBy: "bench" }));
  const free = await s.withDb((d) => createKey(d, { tenant: "bench", subject: "free", scopes: ["query/*"], createdBy: "bench" }));
  // Gateway A reads the limits while there are none (and keeps that answer in its own KV for KEY_CACHE_TTL_S);
  // then limits are set (one on another tenant, one on the limited key that never refuses) and gateway B starts.
  // Both run side by side, measured in alternating rounds, so machine noise falls on all three alike.
  const a = await startGateways(`${s.buildDir}/index.js`, s.bindings, 1);
  await fetch(`${a.urls[0]}/prefect/graphql`, { method: "POST", headers: HEADERS(free.key), body: GQL }).then((r) => r.text());
  await s.withDb(async (d) => {
    await putRateLimit(
      d,
      {
        kind: "tenant",
        target: "elsewhere",
        routeGroup: "*",
        rate: { limit: 10, windowS: 60 },
        quota: null,
        mode: "enforce",
        description: null,
      },
      "bench",
    );
    await putRateLimit(
      d,
      {
        kind: "key",
        target: limited.row.id,
        routeGroup: "prefect",
        rate: { limit: 1_000_000_000, windowS: 60 },
        quota: { limit: 1_000_000_000_000, period: "day" },
        mode: "enforce",
        description: null,
      },
      "bench",
    );
  });
  const b = await startGateways(`${s.buildDir}/index.js`, s.bindings, 1);
  const ROUNDS = Number(process.env.RL_ROUNDS ?? 3);
  const runs: Record<string, Awaited<ReturnType<typeof measureOn>>[]> = { "no-limits": [], "limits-not-matching": [], limited: [] };
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}...\n`);
    runs["no-limits"]!.push(await measureOn(a, "no-limits", free.key));
    runs["limits-not-matching"]!.push(await measureOn(b, "limits-not-matching", free.key));
    runs.limited!.push(await measureOn(b, "limited", limited.key));
  }
  await a.mf.dispose();
  await b.mf.dispose();
  s.upstream.close();
  await s.db.close();
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const results = Object.entries(runs).map(([name, rs]) => ({
    name,
    requests: rs.reduce((t, r) => t + r.requests, 0),
    non2xx: rs.reduce((t, r) => t + r.non2xx, 0),
    reqPerSec: median(rs.map((r) => r.reqPerSec)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    singleP99Ms: median(rs.map((r) => r.singleP99Ms)),
    cpuUsPerRequest: rs.every((r) => r.cpuUsPerRequest !== null) ? median(rs.map((r) => r.cpuUsPerRequest!)) : null,
  }));
  const base = results[0]!;
  console.log(
    `\n/prefect/graphql, ${CONNECTIONS} clients, median of ${process.env.RL_ROUNDS ?? 3} rounds of ${DURATION_S}s (CPU: the whole workerd process, counters included)`,
  );
  console.log(
    `${"scenario".padEnd(22)}${"req/s".padStart(8)}${"p99 ms".padStart(8)}${"1c p99".padStart(8)}${"cpu µs".padStart(8)}${"+cpu".padStart(7)}${"+1c p99".padStart(9)}${"non2xx".padStart(8)}`,
  );
  for (const r of results) {
    const addCpu = r.cpuUsPerRequest !== null && base.cpuUsPerRequest !== null ? r.cpuUsPerRequest - base.cpuUsPerRequest : "-";
    console.log(
      `${r.name.padEnd(22)}${String(r.reqPerSec).padStart(8)}${String(r.p99Ms).padStart(8)}${String(r.singleP99Ms).padStart(8)}${String(r.cpuUsPerRequest ?? "-").padStart(8)}${String(addCpu).padStart(7)}${(r.singleP99Ms - base.singleP99Ms).toFixed(2).padStart(9)}${String(r.non2xx).padStart(8)}`,
    );
  }
}

async function accuracy() {
  const L = Number(process.env.RL_LIMIT ?? 300);
  const W = Number(process.env.RL_WINDOW_S ?? 10);
  const ISOLATES = Number(process.env.RL_ISOLATES ?? 4);
  const s = await setup();
  const { key } = await s.withDb(async (d) => {
    const created = await createKey(d, { tenant: "bench", subject: "acc", scopes: ["query/*"], createdBy: "bench" });
    await putRateLimit(
      d,
      {
        kind: "key",
        target: created.row.id,
        routeGroup: "prefect",
        rate: { limit: L, windowS: W },
        quota: null,
        mode: "enforce",
        description: null,
      },
      "bench",
    );
    return created;
  });
  const gw = await startGateways(`${s.buildDir}/index.js`, s.bindings, ISOLATES);
  // Warm each isolate's key and limit caches with this key (the answers count as admitted at time 0), so the run
  // measures the limit, not a cold key lookup racing 50 clients.
  let warm = 0;
  // The bucket's clock starts with the first request that reaches it: the bound counts from there.
  const bucketStart = performance.now();
  for (const u of gw.urls) {
    const res = await fetch(`${u}/prefect/graphql`, { method: "POST", headers: HEADERS(key), body: GQL });
    await res.text();
    if (res.status === 200) warm++;
  }
  const admittedAt: number[] = Array(warm).fill(0);
  let refused = 0;
  const refusedAt: number[] = [];
  let other5xx = 0;
  const otherSeen: Record<number, number> = {};
  let otherSample = "";
  const start = performance.now();
  // At least one whole window, so the bound is checked over a window and not a part of one.
  const endAt = start + Math.max(DURATION_S, W) * 1000;
  const MAX_REQUESTS = 200_000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, client) => {
      const url = `${gw.urls[client % ISOLATES]}/prefect/graphql`;
      while (performance.now() < endAt && sent < MAX_REQUESTS) {
        sent++;
        const res = await fetch(url, { method: "POST", headers: HEADERS(key), body: GQL });
        const text = await res.text();
        if (res.status === 200) admittedAt.push(performance.now() - start);
        else if (res.status === 429) {
          refused++;
          refusedAt.push(performance.now() - start);
        } else {
          other5xx++;
          otherSeen[res.status] = (otherSeen[res.status] ?? 0) + 1;
          if (!otherSample) otherSample = text.slice(0, 300);
        }
      }
    }),
  );
  const elapsedS = (performance.now() - bucketStart) / 1000;
  admittedAt.sort((a, b) => a - b);
  let maxInWindow = 0;
  for (let i = 0, j = 0; i < admittedAt.length; i++) {
    while (admittedAt[i]! - admittedAt[j]! >= W * 1000) j++;
    maxInWindow = Math.max(maxInWindow, i - j + 1);
  }
  const runBound = Math.floor(L * (1 + elapsedS / W));
  const windowBound = Math.floor(2 * L + (L * RATE_LEASE_TTL_MS) / (W * 1000));
  await gw.mf.dispose();
  s.upstream.close();
  await s.db.close();
  const report = {
    limit: `${L} per ${W}s (token bucket, burst ${L})`,
    isolates: ISOLATES,
    clients: CONNECTIONS,
    seconds: Number(elapsedS.toFixed(2)),
    sent,
    admitted: admittedAt.length,
    refused,
    other: other5xx,
    otherStatuses: otherSeen,
    otherSample,
    runBound,
    maxAdmittedInAnyWindow: maxInWindow,
    windowBound,
    withinBounds: admittedAt.length <= runBound && maxInWindow <= windowBound,
    idealAdmitted: Math.floor(L * (1 + elapsedS / W)),
    /** Admitted / refused per second of the run. */
    perSecond: Array.from(
      { length: Math.ceil(elapsedS) },
      (_, i) =>
        `${admittedAt.filter((t) => t >= i * 1000 && t < (i + 1) * 1000).length}/${refusedAt.filter((t) => t >= i * 1000 && t < (i + 1) * 1000).length}`,
    ).join(" "),
  };
  console.log(JSON.stringify(report, null, 2));
  if (!report.withinBounds || other5xx > 0) process.exitCode = 1;
}

(process.argv[2] === "accuracy" ? accuracy() : overhead()).then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
