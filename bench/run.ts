/**
 * `npm run bench`: the built Worker in workerd (through Miniflare's API, with real KV and the real database
 * path), driven by autocannon from a second process, against a baseline Worker measured in the same run.
 * Never through `wrangler dev`, whose proxy caps any Worker far below bare workerd.
 *
 * Prints req/s, p50, p99, CPU microseconds per request and each ratio to its baseline, and writes them to
 * bench/results/latest.json. Later scenarios extend SCENARIOS.
 *
 * Env: BENCH_DURATION_S (10), BENCH_CONNECTIONS (50), BENCH_ONLY (comma list of scenario names).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Readable } from "node:stream";
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { Miniflare } from "miniflare";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { schema } from "../src/db/schema.ts";
import { createKey } from "../src/store/keys.ts";
import { generateApiKey } from "../src/identity/apiKeyFormat.ts";
import { graphqlBody, workflowDefListing } from "./fixtures.ts";
import { measurePure, type PureFigures } from "./pure.ts";
import { cpuUs, workerdPids } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ONLY = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const COMPAT_DATE = "2026-04-20";

interface Measured {
  name: string;
  baseline: string | null;
  requests: number;
  non2xx: number;
  errors: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number | null;
  /** Latency of one client alone (no queueing behind 49 others): what the gateway itself adds. */
  single: { p50Ms: number; p99Ms: number };
  ratioToBaseline?: number;
  addedP99Ms?: number;
  /** CPU the gateway spends per request beyond its baseline's (authentication, decisions, rewrites). */
  addedCpuUs?: number;
}

interface Instance {
  url: string;
  pid: number | null;
  mf: Miniflare;
}

async function startWorker(scriptPath: string, bindings: Record<string, string>, kv = true): Promise<Instance> {
  const before = workerdPids();
  const mf = new Miniflare({
    scriptPath,
    modules: true,
    modulesRoot: ROOT,
    compatibilityDate: COMPAT_DATE,
    port: 0,
    host: "127.0.0.1",
    bindings,
    kvNamespaces: kv ? ["KEY_CACHE"] : [],
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.resume();
      // Load generators close connections mid-answer at the end of a run; workerd reports each. Keep the rest.
      let buffered = "";
      stderr.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (/Connection reset by peer|^stack: |Broken pipe|different request context/.test(line)) continue;
          process.stderr.write(`[workerd] ${line}\n`);
        }
      });
    },
  });
  const url = (await mf.ready).href.replace(/\/$/, "");
  const after = [...workerdPids()].filter((p) => !before.has(p));
  return { url, pid: after.length === 1 ? after[0]! : null, mf };
}

function autocannon(
  url: string,
  headers: Record<string, string>,
  connections = CONNECTIONS,
  durationS = DURATION_S,
  method = "GET",
  body?: string,
): Promise<any> {
  const args = [
    `${ROOT}node_modules/autocannon/autocannon.js`,
    "-c", String(connections), "-d", String(durationS), "-j", "-m", method,
  ];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`);
  if (body !== undefined) args.push("-b", body);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited ${code}`))));
  });
}

async function measure(
  name: string,
  baseline: string | null,
  target: Instance,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Measured> {
  const method = body === undefined ? "GET" : "POST";
  const url = target.url + path;
  const first = await fetch(url, { method, headers, body });
  await first.arrayBuffer(); // warm up the path (and caches)
  if (first.status >= 300 && !name.includes("miss")) throw new Error(`${name}: warm-up answered ${first.status}`);
  await autocannon(url, headers, CONNECTIONS, 2, method, body).catch(() => null); // warm-up, discarded
  const cpuBefore = target.pid ? cpuUs(target.pid) : null;
  const r = await autocannon(url, headers, CONNECTIONS, DURATION_S, method, body);
  const cpuAfter = target.pid ? cpuUs(target.pid) : null;
  const single = await autocannon(url, headers, 1, Math.max(3, Math.round(DURATION_S / 2)), method, body);
  const requests = r.requests.total as number;
  return {
    name,
    baseline,
    requests,
    non2xx: r.non2xx as number,
    errors: r.errors as number,
    reqPerSec: Math.round(r.requests.average as number),
    p50Ms: r.latency.p50 as number,
    p99Ms: r.latency.p99 as number,
    cpuUsPerRequest: cpuBefore !== null && cpuAfter !== null && requests > 0 ? Math.round((cpuAfter - cpuBefore) / requests) : null,
    single: { p50Ms: single.latency.p50 as number, p99Ms: single.latency.p99 as number },
  };
}

async function main() {
  // 1. The deployable bundle, as `wrangler deploy` would upload it.
  const buildDir = `${ROOT}bench/.build`;
  const dry = execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", buildDir], { cwd: ROOT, encoding: "utf8" });
  const upload = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(dry);
  const bundleBytes = statSync(`${buildDir}/index.js`).size;

  // 2. Database, keys, stub upstream.
  const db = await startLocalDatabase();
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const { key } = await createKey(drizzle(client, { schema }), { tenant: "bench", subject: "bench", scopes: ["query/*"], createdBy: "bench" });
  await client.end();
  const client2 = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client2.connect();
  const unknownKey = generateApiKey().key;

  const { key: conductorKey } = await createKey(drizzle(client2, { schema }), {
    tenant: "bench",
    subject: "bench-admin",
    scopes: ["conductor"],
    roles: ["OWNER"],
    createdBy: "bench",
  });
  await client2.end();
  const workerKeys: Record<number, string> = {};
  for (const n of [1, 10, 50]) {
    const c3 = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await c3.connect();
    const servesTenants = Array.from({ length: n }, (_, i) => `bench${i}`);
    workerKeys[n] = (await createKey(drizzle(c3, { schema }), { tenant: "bench", subject: `worker-${n}`, scopes: ["worker"], servesTenants, createdBy: "bench" })).key;
    await c3.end();
  }
  const listing = workflowDefListing(1_000);
  let polled = 0;
  const upstream = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    if (url.pathname.startsWith("/api/metadata/workflow")) {
      res.writeHead(200, { "content-type": "application/json" }).end(listing);
      return;
    }
    // A Conductor whose every queue is deep: queue sizes, and batch polls answering `count` small tasks.
    if (url.pathname === "/api/tasks/queue/sizes") {
      const sizes = Object.fromEntries(url.searchParams.getAll("taskType").map((t) => [t, 1_000]));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(sizes));
      return;
    }
    const pollPath = /^\/api\/tasks\/poll\/batch\/([A-Za-z0-9-]+)___(.+)$/.exec(url.pathname);
    if (pollPath) {
      const count = Number(url.searchParams.get("count") ?? 1);
      const tasks = Array.from({ length: count }, () => {
        const n = ++polled;
        return { taskId: `task-${n}`, taskType: `${pollPath[1]}___${pollPath[2]}`, taskDefName: `${pollPath[1]}___${pollPath[2]}`, status: "IN_PROGRESS", domain: pollPath[1], workflowInstanceId: `wf-${n}`, workflowType: `${pollPath[1]}___wf`, inputData: { device: `d${n}` } };
      });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(tasks));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end('{"data":{"ok":true}}');
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;

  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const jwt = (k: CryptoKey, alg: string) =>
    new SignJWT({ sub: "bench-jwt", scope: "query/*" }).setProtectedHeader({ alg }).setExpirationTime("2h").sign(k);
  const rsToken = await jwt(rsa.privateKey, "RS256");
  const esToken = await jwt(ec.privateKey, "ES256");

  const common = {
    DATABASE_URL: db.workerDatabaseUrl,
    DB_WS_PROXY: db.wsProxy,
    LOG_LEVEL: "error",
    JWT_PUBLIC_KEYS: `${await exportSPKI(rsa.publicKey)}\n${await exportSPKI(ec.publicKey)}`,
    PREFECT_GRAPHQL_URL: `${upstreamUrl}/graphql`,
    CONDUCTOR_URL: upstreamUrl,
    // The paid plan's subrequest budget, so a 50-tenant poll fans out to all 50 (the free plan's 50 would cap it).
    SUBREQUEST_BUDGET: "1000",
  };
  const flowgateScript = `${buildDir}/index.js`;

  // 3. Startup time of the gateway's isolate: from Miniflare start to the first answered request.
  const t0 = performance.now();
  const gateway = await startWorker(flowgateScript, common);
  await fetch(`${gateway.url}/healthz`).then((r) => r.text());
  const startupMs = Math.round(performance.now() - t0);
  const baseline = await startWorker(`${ROOT}bench/passthrough.js`, { UPSTREAM_URL: upstreamUrl }, false);
  const kvOnly = await startWorker(flowgateScript, { ...common, MEMORY_CACHE_TTL_S: "0" });
  const noNegative = await startWorker(flowgateScript, { ...common, NEGATIVE_CACHE_TTL_S: "0" });
  const parseEvery = await startWorker(flowgateScript, { ...common, GRAPHQL_ANALYSIS_CACHE_ENTRIES: "0" });

  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const json = { "content-type": "application/json" };
  const gql1k = graphqlBody(1_000);
  const gql20k = graphqlBody(20_000);
  type Scenario = [string, string | null, Instance, string, Record<string, string>, string?];
  const SCENARIOS: Scenario[] = [
    ["baseline-echo", null, baseline, "/echo", {}],
    ["baseline-passthrough", null, baseline, "/graphql", {}],
    ["baseline-gql-1kb", null, baseline, "/graphql", json, gql1k],
    ["baseline-gql-20kb", null, baseline, "/graphql", json, gql20k],
    ["baseline-list-1mb", null, baseline, "/api/metadata/workflow", {}],
    ["baseline-poll", null, baseline, "/api/tasks/poll/batch/bench0___job?count=50&timeout=0&domain=bench0", {}],
    ["key-memory-hit", "baseline-echo", gateway, "/whoami", auth(key)],
    ["key-kv-hit", "baseline-echo", kvOnly, "/whoami", auth(key)],
    ["key-database-miss", "baseline-echo", noNegative, "/whoami", auth(unknownKey)],
    ["jwt-rs256", "baseline-echo", gateway, "/whoami", auth(rsToken)],
    ["jwt-es256", "baseline-echo", gateway, "/whoami", auth(esToken)],
    ["graphql-1kb", "baseline-gql-1kb", gateway, "/prefect/graphql", { ...json, ...auth(key) }, gql1k],
    ["graphql-20kb", "baseline-gql-20kb", gateway, "/prefect/graphql", { ...json, ...auth(key) }, gql20k],
    ["graphql-20kb-uncached", "baseline-gql-20kb", parseEvery, "/prefect/graphql", { ...json, ...auth(key) }, gql20k],
    ["conductor-list-1mb", "baseline-list-1mb", gateway, "/conductor/api/metadata/workflow", auth(conductorKey)],
    ["poll-1-tenant", "baseline-poll", gateway, "/workers/conductor/api/tasks/poll/batch/job?count=50&timeout=0", auth(workerKeys[1]!)],
    ["poll-10-tenants", "baseline-poll", gateway, "/workers/conductor/api/tasks/poll/batch/job?count=50&timeout=0", auth(workerKeys[10]!)],
    ["poll-50-tenants", "baseline-poll", gateway, "/workers/conductor/api/tasks/poll/batch/job?count=50&timeout=0", auth(workerKeys[50]!)],
  ];

  const results: Measured[] = [];
  for (const [name, base, inst, path, headers, body] of SCENARIOS) {
    if (ONLY && !ONLY.includes(name) && base !== null) continue;
    process.stderr.write(`running ${name} (${DURATION_S}s, ${CONNECTIONS} connections)...\n`);
    const m = await measure(name, base, inst, path, headers, body);
    const b = results.find((r) => r.name === base);
    if (b) {
      if (m.cpuUsPerRequest !== null && b.cpuUsPerRequest !== null) m.addedCpuUs = m.cpuUsPerRequest - b.cpuUsPerRequest;
      m.ratioToBaseline = Number((m.reqPerSec / b.reqPerSec).toFixed(3));
      m.addedP99Ms = Number((m.single.p99Ms - b.single.p99Ms).toFixed(2));
    }
    results.push(m);
  }

  for (const i of [gateway, baseline, kvOnly, noNegative, parseEvery]) await i.mf.dispose();
  process.stderr.write("timing the pure paths call by call...\n");
  const pure: PureFigures[] = await measurePure(gql20k, listing);
  upstream.close();
  await db.close();

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
    durationS: DURATION_S,
    connections: CONNECTIONS,
    bundle: { bytes: bundleBytes, upload: upload?.[1] ?? null, gzip: upload?.[2] ?? null },
    startupMs,
    results,
    pure,
  };
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/latest.json`, JSON.stringify(report, null, 2) + "\n");

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`\nbundle ${report.bundle.upload} (gzip ${report.bundle.gzip}), startup ${startupMs} ms\n`);
  console.log(`${CONNECTIONS} clients: req/s, p50, p99; 1 client: p50, p99 and p99 added to the baseline's`);
  console.log(
    `${"scenario".padEnd(22)}${pad("req/s", 8)}${pad("p50 ms", 8)}${pad("p99 ms", 8)}${pad("cpu µs", 8)}${pad("ratio", 7)}` +
      `${pad("1c p50", 8)}${pad("1c p99", 8)}${pad("+p99", 7)}${pad("+cpu", 7)}${pad("non2xx", 8)}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(22)}${pad(r.reqPerSec, 8)}${pad(r.p50Ms, 8)}${pad(r.p99Ms, 8)}${pad(r.cpuUsPerRequest ?? "-", 8)}` +
        `${pad(r.ratioToBaseline ?? "-", 7)}${pad(r.single.p50Ms, 8)}${pad(r.single.p99Ms, 8)}${pad(r.addedP99Ms ?? "-", 7)}${pad(r.addedCpuUs ?? "-", 7)}${pad(r.non2xx, 8)}`,
    );
  }
  console.log("\nper call, in Node's V8 (p50 / p99 / max µs):");
  for (const p of pure) console.log(`  ${p.name.padEnd(40)}${pad(p.p50Us, 8)}${pad(p.p99Us, 8)}${pad(p.maxUs, 8)}  (${p.calls} calls)`);
  console.log("\nwritten to bench/results/latest.json");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
