/**
 * `npm run bench`: the built Worker in workerd (the local runtime of `npm start`: scripts/worker-runtime.ts, with
 * real KV and the real database path), driven by wrk (else autocannon: bench/drive.ts) from another process,
 * against baselines measured in the same run:
 * - the physical baseline: a pass-through Worker (bench/passthrough.js) on bare `workerd serve`, same binary, from a
 *   generated minimal configuration (bench/bare-workerd.ts);
 * - the harness's own baseline: the same pass-through Worker served by the local runtime; its ratio to the bare
 *   one is what the runtime costs, and flowgate's scenarios are compared with it.
 * The stub upstream runs in a process of its own (bench/upstream.ts), so this process's CPU is the database's.
 *
 * Prints, per scenario: req/s, p50, p99 (raw: each request's own latency) and wrk's corrected p99, CPU µs per
 * request of workerd and of the database, the ratio to its baseline and the CPU added over it, and what else ran on
 * the machine meanwhile; writes bench/results/latest.json.
 *
 * Env: BENCH_DURATION_S (5: `npm run bench` as a whole then ends within about 10 minutes), BENCH_CONNECTIONS (50), BENCH_ONLY (comma list of scenario names; baselines always
 * run), BENCH_TOOL (wrk | autocannon), BENCH_RUNTIME=entry (serve through Miniflare's entry and outbound Workers, as
 * the runtime did before, to measure what they cost).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from "jose";
import type { Miniflare } from "miniflare";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { startRuntime, wranglerFacts } from "../scripts/worker-runtime.ts";
import { schema } from "../src/db/schema.ts";
import { createKey } from "../src/store/keys.ts";
import { generateApiKey } from "../src/formats/apiKey.ts";
import { startBareWorkerd, type BareWorkerd } from "./bare-workerd.ts";
import { drive, loadTool } from "./drive.ts";
import { buildFloors } from "./floors/build.ts";
import { graphqlBody, workflowDefListing } from "./fixtures.ts";
import { measurePure, type PureFigures } from "./pure.ts";
import { cpuUs, startUpstream, workerdPids } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** The one Prefect tenant of the bench's single-tenant gateway (any UUID). */
const BENCH_PREFECT_TENANT_ID = "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12";
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ONLY = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const VIA_ENTRY = process.env.BENCH_RUNTIME === "entry";
const COMPAT_DATE = "2026-04-20";

interface Measured {
  name: string;
  baseline: string | null;
  connections: number;
  requests: number;
  non2xx: number;
  errors: number;
  reqPerSec: number;
  p50Ms: number;
  /** Raw: each request's own latency. */
  p99Ms: number;
  /** wrk's coordinated-omission-corrected p99 (null under autocannon). */
  p99CorrectedMs: number | null;
  cpuUsPerRequest: number | null;
  /** CPU of the local database (PGlite and its bridge: this process) per request. */
  dbCpuUsPerRequest: number;
  /** CPU of the load generator per request. */
  clientCpuUsPerRequest: number;
  /** The machine meanwhile: 1-minute load average at the end, and CPU busy (% of all cores) by us and by others. */
  machine: { loadAvg1: number; busyPct: number; othersPct: number };
  /** Latency of one client alone (no queueing behind the others): what the gateway itself adds. */
  single: { p50Ms: number; p99Ms: number };
  ratioToBaseline?: number;
  addedP99Ms?: number;
  /** CPU the gateway spends per request beyond its baseline's (authentication, decisions, rewrites). */
  addedCpuUs?: number;
  /**
   * GraphQL scenarios: CPU beyond the reading floor's (bench/passthrough.js `/read/`), the least a gateway that reads
   * the body before deciding spends; the part of `addedCpuUs` that is flowgate's own policy and pipeline.
   */
  addedOverFloorCpuUs?: number;
  /**
   * key-memory-hit, graphql-small and graphql-mutation: CPU beyond their work floor's (bench/floors/: the essentials
   * of the same work as one plain function); everything flowgate does beyond them, its required checks included.
   */
  addedOverWorkFloorCpuUs?: number;
}

interface Instance {
  url: string;
  pid: number | null;
  stop(): Promise<void>;
}

async function startWorker(scriptPath: string, bindings: Record<string, string>): Promise<Instance & { mf: Miniflare }> {
  const before = workerdPids(process.pid);
  const { mf, url } = await startRuntime({
    scriptPath,
    port: 0,
    bindings,
    compatibilityDate: COMPAT_DATE,
    viaEntryWorker: VIA_ENTRY,
    onStdout: () => {},
    // Load generators close connections mid-answer at the end of a run; workerd reports each. Keep the rest.
    onStderr: (line) => {
      if (!/Connection reset by peer|^stack: |Broken pipe|different request context/.test(line))
        process.stderr.write(`[workerd] ${line}\n`);
    },
  });
  const after = [...workerdPids(process.pid)].filter((p) => !before.has(p));
  return { url, pid: after.length === 1 ? after[0]! : null, mf, stop: () => mf.dispose() };
}

/** Total and idle CPU ticks of the machine, from /proc/stat. */
function machineTicks(): { total: number; idle: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3]! + f[4]! };
}

const selfCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function measure(
  name: string,
  baseline: string | null,
  target: Instance,
  upstreamPid: number,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  connections = CONNECTIONS,
): Promise<Measured> {
  const method = body === undefined ? "GET" : "POST";
  const url = target.url + path;
  const first = await fetch(url, { method, headers, body });
  await first.arrayBuffer(); // warm up the path (and caches)
  if (first.status >= 300 && !name.includes("miss")) throw new Error(`${name}: warm-up answered ${first.status}`);
  await drive({ url, connections, durationS: 2, method, headers, body }).catch(() => null); // warm-up, discarded
  const cpuBefore = target.pid ? cpuUs(target.pid) : null;
  const upBefore = cpuUs(upstreamPid);
  const selfBefore = selfCpuUs();
  const ticksBefore = machineTicks();
  const r = await drive({ url, connections, durationS: DURATION_S, method, headers, body });
  const ticksAfter = machineTicks();
  const selfAfter = selfCpuUs();
  const upAfter = cpuUs(upstreamPid);
  const cpuAfter = target.pid ? cpuUs(target.pid) : null;
  const single = await drive({ url, connections: 1, durationS: Math.max(3, Math.round(DURATION_S / 2)), method, headers, body });
  const requests = r.requests;
  // Busy CPU of the machine over the pass, in µs, and the part of it that was not this benchmark's processes.
  const tickUs = 1_000_000 / 100;
  const elapsedUs = ((ticksAfter.total - ticksBefore.total) * tickUs) / cpus().length;
  const busyUs = (ticksAfter.total - ticksAfter.idle - (ticksBefore.total - ticksBefore.idle)) * tickUs;
  const oursUs = (cpuAfter ?? 0) - (cpuBefore ?? 0) + (upAfter - upBefore) + (selfAfter - selfBefore) + r.clientCpuUsPerRequest * requests;
  const pct = (us: number) => Math.max(0, Math.round((us / (elapsedUs * cpus().length)) * 100));
  return {
    name,
    baseline,
    connections,
    requests,
    non2xx: r.non2xx,
    errors: r.errors,
    reqPerSec: r.reqPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    p99CorrectedMs: r.p99CorrectedMs,
    cpuUsPerRequest: cpuBefore !== null && cpuAfter !== null && requests > 0 ? Math.round((cpuAfter - cpuBefore) / requests) : null,
    dbCpuUsPerRequest: requests > 0 ? Math.round((selfAfter - selfBefore) / requests) : 0,
    clientCpuUsPerRequest: r.clientCpuUsPerRequest,
    machine: {
      loadAvg1: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
      busyPct: pct(busyUs),
      othersPct: pct(busyUs - oursUs),
    },
    single: { p50Ms: single.p50Ms, p99Ms: single.p99Ms },
  };
}

async function main() {
  const tool = loadTool();
  process.stderr.write(
    `load generator: ${tool}; runtime: ${VIA_ENTRY ? "Miniflare entry + outbound Workers (before)" : "direct socket, direct outbound"}\n`,
  );
  // 1. The deployable bundle, as `wrangler deploy` would upload it.
  const buildDir = `${ROOT}bench/.build`;
  const dry = execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", buildDir], { cwd: ROOT, encoding: "utf8" });
  const upload = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(dry);
  const bundleBytes = statSync(`${buildDir}/index.js`).size;

  // 2. Database, keys, stub upstream.
  const db = await startLocalDatabase();
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const store = drizzle(client, { schema });
  const { key } = await createKey(store, {
    tenant: "bench",
    subject: "bench",
    scopes: ["query/*", "mutation/create_flow_run"],
    createdBy: "bench",
  });
  const unknownKey = generateApiKey().key;
  const { key: conductorKey } = await createKey(store, {
    tenant: "bench",
    subject: "bench-admin",
    scopes: ["conductor"],
    roles: ["OWNER"],
    createdBy: "bench",
  });
  const workerKeys: Record<number, string> = {};
  for (const n of [1, 10, 50]) {
    const servesTenants = Array.from({ length: n }, (_, i) => `bench${i}`);
    workerKeys[n] = (
      await createKey(store, { tenant: "bench", subject: `worker-${n}`, scopes: ["worker"], servesTenants, createdBy: "bench" })
    ).key;
  }
  await client.end();
  const listing = workflowDefListing(1_000);
  const upstream = await startUpstream();
  const upstreamUrl = upstream.url;

  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const jwt = (k: CryptoKey, alg: string) =>
    new SignJWT({ sub: "bench-jwt", scope: "query/*" }).setProtectedHeader({ alg }).setExpirationTime("2h").sign(k);
  const rsToken = await jwt(rsa.privateKey, "RS256");
  // The upstream assertions' signing key (docs/security.md, "Engines trust only the gateway").
  const ed = await generateKeyPair("EdDSA", { extractable: true });
  const assertionKeys = JSON.stringify([{ ...(await exportJWK(ed.privateKey)), kid: "bench-1" }]);
  const esToken = await jwt(ec.privateKey, "ES256");

  const common = {
    DATABASE_URL: db.workerDatabaseUrl,
    DB_WS_PROXY: db.wsProxy,
    LOG_LEVEL: "error",
    JWT_PUBLIC_KEYS: `${await exportSPKI(rsa.publicKey)}\n${await exportSPKI(ec.publicKey)}`,
    PREFECT_GRAPHQL_URL: `${upstreamUrl}/graphql`,
    // Prefect single-tenant, so these rows stay comparable from run to run and the mutation scenario's made-up flow
    // id is decided on scopes (multi-tenant mode would refuse it at the owners' pre-read, which this upstream cannot
    // answer); the multi-tenant rewrite's cost is measured by bench/ab.ts (docs/benchmarks.md, "Prefect tenant
    // isolation").
    TENANT_ID: BENCH_PREFECT_TENANT_ID,
    CONDUCTOR_URL: upstreamUrl,
    // The paid plan's subrequest budget, so a 50-tenant poll fans out to all 50 (the free plan's 50 would cap it).
    SUBREQUEST_BUDGET: "1000",
  };
  const flowgateScript = `${buildDir}/index.js`;

  // 3. Startup time of the gateway's isolate: from the runtime's start to the first answered request.
  const t0 = performance.now();
  const gateway = await startWorker(flowgateScript, common);
  await fetch(`${gateway.url}/healthz`).then((r) => r.text());
  const startupMs = Math.round(performance.now() - t0);
  const { compatibilityFlags } = wranglerFacts();
  const bare: BareWorkerd = await startBareWorkerd(
    `${ROOT}bench/passthrough.js`,
    { UPSTREAM_URL: upstreamUrl },
    COMPAT_DATE,
    compatibilityFlags,
  );
  const bareInstance: Instance = { url: bare.url, pid: bare.pid, stop: () => bare.stop() };
  const baseline = await startWorker(`${ROOT}bench/passthrough.js`, { UPSTREAM_URL: upstreamUrl });
  // The work floors (bench/floors/): the essentials of the gateway's work as plain functions, on the local runtime
  // beside the gateway and on bare workerd beside the physical baseline.
  const floors = await buildFloors();
  const floorVars = { PREFECT_GRAPHQL_URL: `${upstreamUrl}/graphql` };
  const floorKey = await startWorker(floors.key, {});
  const floorGraphql = await startWorker(floors.graphql, floorVars);
  const floorHono = await startWorker(floors.hono, floorVars);
  const bareFloors: Instance[] = [];
  for (const [script, vars] of [
    [floors.key, {}],
    [floors.graphql, floorVars],
  ] as const) {
    const b = await startBareWorkerd(script, vars, COMPAT_DATE, compatibilityFlags);
    bareFloors.push({ url: b.url, pid: b.pid, stop: () => b.stop() });
  }
  const [bareFloorKey, bareFloorGraphql] = bareFloors as [Instance, Instance];
  const kvOnly = await startWorker(flowgateScript, { ...common, MEMORY_CACHE_TTL_S: "0" });
  const noNegative = await startWorker(flowgateScript, { ...common, NEGATIVE_CACHE_TTL_S: "0" });
  const parseEvery = await startWorker(flowgateScript, { ...common, GRAPHQL_ANALYSIS_CACHE_ENTRIES: "0" });
  const asserted = await startWorker(flowgateScript, { ...common, UPSTREAM_ASSERTION_KEYS: assertionKeys });
  const assertedPerRequest = await startWorker(flowgateScript, {
    ...common,
    UPSTREAM_ASSERTION_KEYS: assertionKeys,
    UPSTREAM_ASSERTION_MODE: "per-request",
  });

  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const json = { "content-type": "application/json" };
  const gqlSmall = JSON.stringify({ query: "query Flows { flow(limit: 10) { id name } }" });
  const mutation = JSON.stringify({ query: 'mutation Run { create_flow_run(input: {flow_id: "f1"}) { id } }' });
  const gql1k = graphqlBody(1_000);
  const gql20k = graphqlBody(20_000);
  const listPath = "/api/metadata/workflow";
  const pollPath = "/api/tasks/poll/batch/bench0___job?count=50&timeout=0&domain=bench0";
  const gatewayPoll = "/workers/conductor/api/tasks/poll/batch/job?count=50&timeout=0";
  type Scenario = [
    name: string,
    baseline: string | null,
    target: Instance,
    path: string,
    headers: Record<string, string>,
    body?: string,
    connections?: number,
  ];
  const SCENARIOS: Scenario[] = [
    // The physical baseline (bare workerd), then the harness's own (the local runtime), compared with it.
    ["bare-echo", null, bareInstance, "/echo", {}],
    ["bare-gql-small", null, bareInstance, "/graphql", json, gqlSmall],
    ["bare-gql-1kb", null, bareInstance, "/graphql", json, gql1k],
    ["bare-list-1mb", null, bareInstance, listPath, {}],
    // The work floors on bare workerd: the least a gateway doing this work spends, on the physical baseline.
    ["bare-floor-key", "bare-echo", bareFloorKey, "/whoami", auth(key)],
    ["bare-floor-graphql", "bare-gql-small", bareFloorGraphql, "/prefect/graphql", { ...json, ...auth(key) }, gqlSmall],
    // The signing floor: one bare Ed25519 signature per request (bench/passthrough.js `/sign`).
    ["bare-floor-sign", "bare-echo", bareInstance, "/sign", {}],
    ["baseline-echo", "bare-echo", baseline, "/echo", {}],
    ["baseline-gql-small", "bare-gql-small", baseline, "/graphql", json, gqlSmall],
    ["baseline-gql-1kb", "bare-gql-1kb", baseline, "/graphql", json, gql1k],
    ["baseline-gql-20kb", null, baseline, "/graphql", json, gql20k],
    ["baseline-gql-mutation", null, baseline, "/graphql", json, mutation],
    // The reading floor (bench/passthrough.js `/read/`): buffering and parsing the body costs this much over streaming it.
    ["floor-gql-small", "baseline-gql-small", baseline, "/read/graphql", json, gqlSmall],
    ["floor-gql-mutation", "baseline-gql-mutation", baseline, "/read/graphql", json, mutation],
    // The work floors (bench/floors/): the essentials of the gateway rows' work below, as plain functions and as bare Hono routes.
    ["floor-key", "baseline-echo", floorKey, "/whoami", auth(key)],
    ["floor-key-hono", "baseline-echo", floorHono, "/whoami", auth(key)],
    ["floor-graphql", "baseline-gql-small", floorGraphql, "/prefect/graphql", { ...json, ...auth(key) }, gqlSmall],
    ["floor-graphql-hono", "baseline-gql-small", floorHono, "/prefect/graphql", { ...json, ...auth(key) }, gqlSmall],
    ["floor-graphql-mutation", "baseline-gql-mutation", floorGraphql, "/prefect/graphql", { ...json, ...auth(key) }, mutation],
    ["baseline-list-1mb", "bare-list-1mb", baseline, listPath, {}],
    ["baseline-list-1mb-10c", null, baseline, listPath, {}, undefined, 10],
    ["baseline-poll", null, baseline, pollPath, {}],
    ["key-memory-hit", "baseline-echo", gateway, "/whoami", auth(key)],
    ["key-kv-hit", "baseline-echo", kvOnly, "/whoami", auth(key)],
    ["key-database-miss", "baseline-echo", noNegative, "/whoami", auth(unknownKey)],
    ["jwt-rs256", "baseline-echo", gateway, "/whoami", auth(rsToken)],
    ["jwt-es256", "baseline-echo", gateway, "/whoami", auth(esToken)],
    ["graphql-small", "baseline-gql-small", gateway, "/prefect/graphql", { ...json, ...auth(key) }, gqlSmall],
    ["graphql-mutation", "baseline-gql-mutation", gateway, "/prefect/graphql", { ...json, ...auth(key) }, mutation],
    // The same query with the upstream assertion (UPSTREAM_ASSERTION_KEYS): one principal's repeated requests, its
    // assertion reused (the default) or signed per call; added CPU over graphql-small is the assertion's.
    ["graphql-asserted", "graphql-small", asserted, "/prefect/graphql", { ...json, ...auth(key) }, gqlSmall],
    ["graphql-asserted-per-request", "graphql-small", assertedPerRequest, "/prefect/graphql", { ...json, ...auth(key) }, gqlSmall],
    ["graphql-1kb", "baseline-gql-1kb", gateway, "/prefect/graphql", { ...json, ...auth(key) }, gql1k],
    ["graphql-20kb", "baseline-gql-20kb", gateway, "/prefect/graphql", { ...json, ...auth(key) }, gql20k],
    ["graphql-20kb-uncached", "baseline-gql-20kb", parseEvery, "/prefect/graphql", { ...json, ...auth(key) }, gql20k],
    ["conductor-list-1mb", "baseline-list-1mb", gateway, `/conductor${listPath}`, auth(conductorKey)],
    ["conductor-list-1mb-10c", "baseline-list-1mb-10c", gateway, `/conductor${listPath}`, auth(conductorKey), undefined, 10],
    ["poll-1-tenant", "baseline-poll", gateway, gatewayPoll, auth(workerKeys[1]!)],
    ["poll-10-tenants", "baseline-poll", gateway, gatewayPoll, auth(workerKeys[10]!)],
    ["poll-50-tenants", "baseline-poll", gateway, gatewayPoll, auth(workerKeys[50]!)],
  ];

  /** The GraphQL scenarios read against the reading floor too. */
  const FLOOR_OF: Record<string, string> = { "graphql-small": "floor-gql-small", "graphql-mutation": "floor-gql-mutation" };
  /** The gateway's rows read against their work floor too. */
  const WORK_FLOOR_OF: Record<string, string> = {
    "key-memory-hit": "floor-key",
    "graphql-small": "floor-graphql",
    "graphql-mutation": "floor-graphql-mutation",
  };
  // BENCH_ONLY: the named scenarios and the baselines they are compared with (and those baselines' own).
  let needed: Set<string> | null = null;
  if (ONLY) {
    needed = new Set();
    for (const wanted of ONLY.flatMap((name) => [FLOOR_OF[name], WORK_FLOOR_OF[name], name].filter((n): n is string => !!n))) {
      let name: string | null | undefined = wanted;
      while (name && !needed.has(name)) {
        needed.add(name);
        const current: string = name;
        name = SCENARIOS.find(([n]) => n === current)?.[1];
      }
    }
  }
  const results: Measured[] = [];
  for (const [name, base, inst, path, headers, body, connections] of SCENARIOS) {
    if (needed && !needed.has(name)) continue;
    const conns = connections ?? CONNECTIONS;
    process.stderr.write(`running ${name} (${DURATION_S}s, ${conns} connections)...\n`);
    const m = await measure(name, base, inst, upstream.child.pid!, path, headers, body, conns);
    const b = results.find((r) => r.name === base);
    if (b) {
      if (m.cpuUsPerRequest !== null && b.cpuUsPerRequest !== null) m.addedCpuUs = m.cpuUsPerRequest - b.cpuUsPerRequest;
      m.ratioToBaseline = Number((m.reqPerSec / b.reqPerSec).toFixed(3));
      m.addedP99Ms = Number((m.single.p99Ms - b.single.p99Ms).toFixed(2));
    }
    const floor = results.find((r) => r.name === FLOOR_OF[name]);
    if (floor && m.cpuUsPerRequest !== null && floor.cpuUsPerRequest !== null)
      m.addedOverFloorCpuUs = m.cpuUsPerRequest - floor.cpuUsPerRequest;
    const workFloor = results.find((r) => r.name === WORK_FLOOR_OF[name]);
    if (workFloor && m.cpuUsPerRequest !== null && workFloor.cpuUsPerRequest !== null)
      m.addedOverWorkFloorCpuUs = m.cpuUsPerRequest - workFloor.cpuUsPerRequest;
    results.push(m);
  }

  for (const i of [
    gateway,
    bareInstance,
    baseline,
    kvOnly,
    noNegative,
    parseEvery,
    asserted,
    assertedPerRequest,
    floorKey,
    floorGraphql,
    floorHono,
    ...bareFloors,
  ])
    await i.stop();
  process.stderr.write("timing the pure paths call by call...\n");
  const pure: PureFigures[] = await measurePure(gql20k, listing);
  upstream.child.kill("SIGTERM");
  await db.close();

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, loadAvg: readFileSync("/proc/loadavg", "utf8").trim() },
    tool,
    runtime: VIA_ENTRY ? "miniflare-entry" : "direct-socket",
    durationS: DURATION_S,
    connections: CONNECTIONS,
    bundle: { bytes: bundleBytes, upload: upload?.[1] ?? null, gzip: upload?.[2] ?? null },
    startupMs,
    results,
    pure,
  };
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/latest.json`, JSON.stringify(report, null, 2) + "\n");

  const pad = (s: string | number | null | undefined, n: number) => String(s ?? "-").padStart(n);
  console.log(
    `\nbundle ${report.bundle.upload} (gzip ${report.bundle.gzip}), startup ${startupMs} ms; load generator ${tool}; runtime ${report.runtime}\n`,
  );
  console.log("p99: raw (each request's own latency); p99c: wrk's coordinated-omission-corrected p99. cpu: workerd µs/request;");
  console.log(
    "db: the local database's µs/request; +cpu: over the baseline; busy/others: machine CPU % (all cores) in use, and not by this bench",
  );
  console.log(
    `${"scenario".padEnd(24)}${pad("conns", 6)}${pad("req/s", 7)}${pad("p50", 7)}${pad("p99", 7)}${pad("p99c", 8)}${pad("cpu", 6)}${pad("db", 5)}` +
      `${pad("ratio", 7)}${pad("+cpu", 6)}${pad("1c p99", 7)}${pad("+p99", 6)}${pad("non2xx", 7)}${pad("busy", 5)}${pad("others", 7)}${pad("load", 6)}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(24)}${pad(r.connections, 6)}${pad(r.reqPerSec, 7)}${pad(r.p50Ms, 7)}${pad(r.p99Ms, 7)}${pad(r.p99CorrectedMs, 8)}${pad(r.cpuUsPerRequest, 6)}${pad(r.dbCpuUsPerRequest, 5)}` +
        `${pad(r.ratioToBaseline, 7)}${pad(r.addedCpuUs, 6)}${pad(r.single.p99Ms, 7)}${pad(r.addedP99Ms, 6)}${pad(r.non2xx, 7)}${pad(r.machine.busyPct, 5)}${pad(r.machine.othersPct, 7)}${pad(r.machine.loadAvg1, 6)}`,
    );
  }
  const signed = (n: number | undefined) => (n === undefined ? "-" : n >= 0 ? `+${n}` : String(n));
  for (const r of results)
    if (r.addedOverFloorCpuUs !== undefined || r.addedOverWorkFloorCpuUs !== undefined)
      console.log(
        `${r.name}: ${signed(r.addedCpuUs)} µs over its baseline` +
          (r.addedOverFloorCpuUs !== undefined ? `, ${signed(r.addedOverFloorCpuUs)} over the reading floor (${FLOOR_OF[r.name]})` : "") +
          (r.addedOverWorkFloorCpuUs !== undefined
            ? `, ${signed(r.addedOverWorkFloorCpuUs)} over its work floor (${WORK_FLOOR_OF[r.name]})`
            : ""),
      );
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
