/**
 * `npm run load`: a mixed workload against the local stack `npm start` runs (the same database path and the same
 * bundle on workerd through Miniflare: scripts/worker-runtime.ts), on loopback only, with stand-in engines.
 *
 * 50 clients for 60 s (LOAD_CONNECTIONS, LOAD_DURATION_S), in groups of their own processes: API keys (memory and,
 * every MEMORY_CACHE_TTL_S, KV hits), JWTs (RS256 and ES256), GraphQL queries and audited mutations, 1 MB Conductor
 * definition listings (rewritten), and worker batch polls over 10 tenants. Prints each group's figures and memory
 * over time (the isolate's live JS heap through the V8 inspector, and the process's RSS); exits non-zero on any
 * 5xx, any other unexpected status, any client error or timeout, or the live heap growing after warm-up (more than
 * 25 % or what bounded caches may add, 6 MB; measured at rest after a warm-up of the same mix and again after the
 * run). Writes
 * bench/results/load-latest.json.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import pg from "pg";
import WebSocket from "ws";
import { drizzle } from "drizzle-orm/node-postgres";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { buildWorker, startRuntime, wranglerFacts } from "../scripts/worker-runtime.ts";
import { schema } from "../src/db/schema.ts";
import { createKey } from "../src/store/keys.ts";
import { handleConductor } from "../test/setup/conductor.ts";
import { rssMb, workerdPids } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DURATION_S = Number(process.env.LOAD_DURATION_S ?? 60);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 50);
const WARM_UP_S = Math.max(5, Math.min(15, Math.floor(DURATION_S / 4)));
const MAX_MEMORY_GROWTH = 0.25;
/**
 * What bounded caches may still add after the warm-up: the worker route remembers up to 20,000 polled tasks for
 * 60 s (about 3 MB when full, and this mix fills it in about a minute), plus key, revocation and owner caches.
 */
const CACHE_FILL_MB = 6;
const run = promisify(execFile);

/** The Worker isolate's live JS heap, through the V8 inspector: collected first, so it counts what is kept. */
async function heapProbe(inspectorHost: string, gatewayUrl: string): Promise<() => Promise<number>> {
  const list = (await (await fetch(`http://${inspectorHost}/json`)).json()) as { webSocketDebuggerUrl: string; title: string }[];
  const target = list.find((t) => !t.title.startsWith("core:")) ?? list[0]!;
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r) => ws.once("open", r));
  let id = 0;
  const send = (method: string) =>
    new Promise<Record<string, number>>((resolve, reject) => {
      const my = ++id;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), 15_000);
      const onMsg = (m: WebSocket.RawData) => {
        const msg = JSON.parse(String(m)) as { id?: number; result?: Record<string, number> };
        if (msg.id === my) {
          clearTimeout(timer);
          ws.off("message", onMsg);
          resolve(msg.result ?? {});
        }
      };
      ws.on("message", onMsg);
      ws.send(JSON.stringify({ id: my, method }));
    });
  await send("HeapProfiler.enable");
  return async () => {
    // The collection runs when the isolate next runs: a request wakes it when the load has stopped.
    await Promise.all([send("HeapProfiler.collectGarbage"), fetch(`${gatewayUrl}/healthz`).then((r) => r.arrayBuffer())]);
    const usage = await send("Runtime.getHeapUsage");
    return Math.round(((usage.usedSize ?? NaN) / 1_048_576) * 10) / 10;
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

interface Group {
  name: string;
  share: number;
  requests: { method: string; path: string; headers: Record<string, string>; body?: string }[];
}

async function main() {
  // 1. Stand-in engines: Conductor (test/setup/conductor.ts) and a Prefect GraphQL endpoint.
  // The 1 MB listing is served from one prepared string: serializing it per request would make this process (which
  // also runs the database) the bottleneck, and the figures would measure the stand-in, not the gateway.
  let listingText = "";
  const engines = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://engines");
      if (req.method === "GET" && url.pathname === "/conductor/load/api/metadata/workflow" && listingText) {
        res.writeHead(200, { "content-type": "application/json" }).end(listingText);
        return;
      }
      if (handleConductor(req, url, Buffer.concat(chunks).toString("utf8"), res)) return;
      res.writeHead(200, { "content-type": "application/json" }).end('{"data":{"flow":[{"id":"f1","name":"etl"}]}}');
    });
  });
  const enginesUrl = `http://127.0.0.1:${await listen(engines)}`;
  const tenants = Array.from({ length: 10 }, (_, i) => `load${i}`);
  const defs = Array.from({ length: 1_000 }, (_, i) => ({
    name: `FACEBOOK___workflow_${i}`,
    description: JSON.stringify({ description: `Workflow ${i} of the load test`, labels: ["OPS"] }),
    version: 1,
    ownerEmail: "ops@example.com",
    timeoutPolicy: "ALERT_ONLY",
    timeoutSeconds: 0,
    inputParameters: ["device_id", "template"],
    tasks: [
      {
        name: `FACEBOOK___mount_${i}`,
        taskReferenceName: "mount",
        type: "SIMPLE",
        inputParameters: { device_id: "${workflow.input.device_id}" },
      },
      {
        name: "decide",
        taskReferenceName: "decide",
        type: "DECISION",
        caseValueParam: "ok",
        decisionCases: { true: [{ name: `FACEBOOK___apply_${i}`, taskReferenceName: "apply", type: "SIMPLE" }] },
        defaultCase: [{ name: "GLOBAL___notify", taskReferenceName: "notify", type: "SIMPLE" }],
      },
      { name: `FACEBOOK___unmount_${i}`, taskReferenceName: "unmount", type: "SIMPLE" },
    ],
  }));
  await fetch(`${enginesUrl}/conductor-admin/load/seed`, {
    method: "POST",
    body: JSON.stringify({
      workflowDefs: defs,
      fill: tenants.map((tenant) => ({ tenant, taskType: "job", count: 200_000 / tenants.length })),
    }),
  });
  listingText = JSON.stringify(defs);
  console.log(`[load] Conductor listing: ${Math.round(listingText.length / 1024)} KiB of ${defs.length} definitions`);

  // 2. The stack: database, keys, JWT keys, and the bundle on workerd.
  const db = await startLocalDatabase();
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const d = drizzle(client, { schema });
  const apiKeys: string[] = [];
  for (let i = 0; i < 50; i++) {
    apiKeys.push(
      (await createKey(d, { tenant: "acme", subject: `user-${i}`, scopes: ["query/*", "mutation/create_flow_run"], createdBy: "load" }))
        .key,
    );
  }
  const conductorKey = (
    await createKey(d, {
      tenant: "FACEBOOK",
      subject: "ops",
      email: "ops@example.com",
      roles: ["OWNER"],
      scopes: ["conductor"],
      createdBy: "load",
    })
  ).key;
  const workerKey = (
    await createKey(d, { tenant: "ops", subject: "worker-pool", scopes: ["worker"], servesTenants: tenants, createdBy: "load" })
  ).key;
  await client.end();
  const rs = await generateKeyPair("RS256", { extractable: true });
  const es = await generateKeyPair("ES256", { extractable: true });
  const sign = (k: CryptoKey, alg: string, i: number) =>
    new SignJWT({ sub: `jwt-${i}`, scope: "query/*" }).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime("2h").sign(k);
  const jwts = await Promise.all(
    Array.from({ length: 20 }, (_, i) => sign(i % 2 ? es.privateKey : rs.privateKey, i % 2 ? "ES256" : "RS256", i)),
  );

  const facts = wranglerFacts();
  const before = workerdPids(process.pid);
  const { mf, url } = await startRuntime({
    scriptPath: buildWorker(`${ROOT}bench/.build-load`),
    port: 0,
    compatibilityDate: facts.compatibilityDate,
    bindings: {
      ...facts.vars,
      DATABASE_URL: db.workerDatabaseUrl,
      DB_WS_PROXY: db.wsProxy,
      JWT_PUBLIC_KEYS: `${await exportSPKI(rs.publicKey)}\n${await exportSPKI(es.publicKey)}`,
      PREFECT_GRAPHQL_URL: `${enginesUrl}/graphql`,
      CONDUCTOR_URL: `${enginesUrl}/conductor/load`,
    },
    inspector: true,
    onStdout: () => {},
    onStderr: (line) => {
      if (!/Connection reset by peer|^stack: |Broken pipe|different request context|Network connection lost/.test(line))
        process.stderr.write(`[workerd] ${line}\n`);
    },
  });
  const pids = [...workerdPids(process.pid)].filter((p) => !before.has(p));
  const liveHeapMb = await heapProbe((await mf.getInspectorURL()).host, url);
  console.log(`[load] gateway ${url} (workerd pid ${pids.join(",") || "?"}), database ${db.kind}`);

  // 3. The workload.
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const json = { "content-type": "application/json" };
  const query = JSON.stringify({ query: "query Flows { flow(limit: 10) { id name } }" });
  const mutation = JSON.stringify({ query: 'mutation Run { create_flow_run(input: {flow_id: "f1"}) { id } }' });
  const groups: Group[] = [
    { name: "api-key whoami", share: 0.24, requests: apiKeys.map((k) => ({ method: "GET", path: "/whoami", headers: auth(k) })) },
    { name: "jwt whoami", share: 0.12, requests: jwts.map((t) => ({ method: "GET", path: "/whoami", headers: auth(t) })) },
    {
      name: "graphql query",
      share: 0.2,
      requests: apiKeys.map((k) => ({ method: "POST", path: "/prefect/graphql", headers: { ...json, ...auth(k) }, body: query })),
    },
    {
      name: "graphql mutation",
      share: 0.08,
      requests: apiKeys
        .slice(0, 10)
        .map((k) => ({ method: "POST", path: "/prefect/graphql", headers: { ...json, ...auth(k) }, body: mutation })),
    },
    {
      name: "conductor 1MB list",
      share: 0.12,
      requests: [{ method: "GET", path: "/conductor/api/metadata/workflow", headers: auth(conductorKey) }],
    },
    {
      name: "worker poll x10",
      share: 0.24,
      requests: [
        { method: "GET", path: "/workers/conductor/api/tasks/poll/batch/job?workerid=w&count=5&timeout=0", headers: auth(workerKey) },
      ],
    },
  ];
  // LOAD_ONLY (comma list of group names) narrows the workload, to look at one path at a time.
  const only = process.env.LOAD_ONLY?.split(",").map((x) => x.trim());
  if (only) groups.splice(0, groups.length, ...groups.filter((g) => only.includes(g.name)));
  const shareSum = groups.reduce((a, g) => a + g.share, 0);
  for (const g of groups) g.share /= shareSum;
  let assigned = 0;
  const conns = groups.map((g, i) => {
    const n = i === groups.length - 1 ? CONNECTIONS - assigned : Math.max(1, Math.round(CONNECTIONS * g.share));
    assigned += n;
    return n;
  });

  // Warm each path once (caches, JIT), then run every group at once while sampling workerd's memory.
  for (const g of groups) {
    const r = g.requests[0]!;
    const res = await fetch(url + r.path, { method: r.method, headers: r.headers, body: r.body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${g.name}: warm-up answered ${res.status}`);
  }
  const runGroups = (durationS: number) =>
    Promise.all(
      groups.map(async (g, i) => {
        const cfg = { url, connections: conns[i], durationS, requests: g.requests };
        const { stdout } = await run(process.execPath, [`${ROOT}bench/load-client.mjs`, JSON.stringify(cfg)], {
          maxBuffer: 16 * 1024 * 1024,
        });
        return {
          name: g.name,
          connections: conns[i],
          ...(JSON.parse(stdout) as {
            requests: number;
            reqPerSec: number;
            p50: number;
            p99: number;
            errors: number;
            timeouts: number;
            statusCodes: Record<string, number>;
          }),
        };
      }),
    );
  // Warm-up: the whole mix for WARM_UP_S, then the isolate's live heap at rest (after a collection).
  console.log(`[load] warm-up: ${WARM_UP_S} s of the same mix`);
  const warmUp = await runGroups(WARM_UP_S);
  const heapAtRestBefore = await liveHeapMb();
  const memory: { atS: number; rssMb: number; heapMb: number }[] = [];
  const started = Date.now();
  const sample = async () => {
    const heapMb = await liveHeapMb().catch(() => NaN);
    memory.push({ atS: Math.round((Date.now() - started) / 1000), rssMb: pids[0] ? rssMb(pids[0]) : NaN, heapMb });
  };
  const sampler = setInterval(() => void sample(), 10_000);
  console.log(`[load] ${CONNECTIONS} clients for ${DURATION_S} s: ${groups.map((g, i) => `${g.name} ${conns[i]}`).join(", ")}`);
  const results = await runGroups(DURATION_S);
  clearInterval(sampler);
  const heapAtRestAfter = await liveHeapMb();
  memory.push({ atS: Math.round((Date.now() - started) / 1000), rssMb: pids[0] ? rssMb(pids[0]) : NaN, heapMb: heapAtRestAfter });

  await mf.dispose();
  await db.close();
  engines.closeAllConnections();
  engines.close();

  // 4. Figures and verdict.
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `\n${"group".padEnd(20)}${pad("conns", 6)}${pad("requests", 10)}${pad("req/s", 8)}${pad("p50 ms", 8)}${pad("p99 ms", 8)}${pad("errors", 8)}  statuses`,
  );
  const failures: string[] = [];
  for (const r of results) {
    const unexpected = Object.entries(r.statusCodes).filter(([s]) => s !== "200");
    console.log(
      `${r.name.padEnd(20)}${pad(r.connections ?? 0, 6)}${pad(r.requests, 10)}${pad(Math.round(r.reqPerSec), 8)}${pad(r.p50, 8)}${pad(r.p99, 8)}${pad(r.errors + r.timeouts, 8)}  ${JSON.stringify(r.statusCodes)}`,
    );
    for (const [status, count] of unexpected)
      failures.push(`${r.name}: ${count} answers ${status}${status.startsWith("5") ? " (5xx)" : " (unexpected)"}`);
    if (r.errors + r.timeouts > 0) failures.push(`${r.name}: ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  const total = results.reduce((a, r) => a + r.requests, 0);
  console.log(`${"total".padEnd(20)}${pad(CONNECTIONS, 6)}${pad(total, 10)}${pad(Math.round(total / DURATION_S), 8)}`);
  // The verdict is on the isolate's live JS heap at rest (what flowgate keeps once requests are done), before and
  // after the measured run. Samples taken under load include the answers in flight (a 1 MB listing holds ~10 MB
  // while it is rewritten) and are printed for information. The workerd process's RSS is not flowgate's to keep
  // flat: a bare pass-through Worker under the same load grows from about 165 to 600 MB in 45 s.
  console.log(`\nisolate live JS heap under load (MB, after a collection): ${memory.map((m) => `${m.atS}s:${m.heapMb}`).join(" ")}`);
  console.log(`workerd process RSS (MB): ${memory.map((m) => `${m.atS}s:${m.rssMb}`).join(" ")}`);
  const growth = (heapAtRestAfter - heapAtRestBefore) / heapAtRestBefore;
  console.log(
    `live heap at rest: ${heapAtRestBefore} MB after the warm-up, ${heapAtRestAfter} MB after the run (${(growth * 100).toFixed(1)} %)`,
  );
  if (!Number.isFinite(growth)) failures.push("the isolate's heap could not be read");
  else if (heapAtRestAfter - heapAtRestBefore > Math.max(CACHE_FILL_MB, heapAtRestBefore * MAX_MEMORY_GROWTH)) {
    failures.push(`live heap at rest grew from ${heapAtRestBefore} to ${heapAtRestAfter} MB`);
  }
  for (const r of warmUp)
    for (const [status, count] of Object.entries(r.statusCodes))
      if (status !== "200") failures.push(`warm-up ${r.name}: ${count} answers ${status}`);

  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(
    `${ROOT}bench/results/load-latest.json`,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        durationS: DURATION_S,
        connections: CONNECTIONS,
        results,
        heapAtRestBefore,
        heapAtRestAfter,
        memory,
        failures,
      },
      null,
      2,
    ) + "\n",
  );
  if (failures.length > 0) {
    console.log(`\nFAILED:\n${failures.map((f) => `  ${f}`).join("\n")}`);
    process.exit(1);
  }
  console.log("\nPASSED: no 5xx, no unexpected status, no client error, live heap flat after warm-up");
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
