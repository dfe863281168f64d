/**
 * `npm run bench:side` (also the last step of `npm run bench`): flowgate, served the way `npm start` serves it
 * (the deployable bundle on the local runtime, scripts/worker-runtime.ts, with wrangler.toml's variables), beside
 * the Node proxies it replaces, on the same stub upstream (bench/upstream.ts), in interleaved rounds:
 * - prefect-auth-proxy 0.0.3 (softrams, Express + http-proxy-middleware): a GraphQL query and an audited mutation
 *   with an API key, against flowgate's /prefect/graphql with a flowgate key of the same scopes;
 * - FRINX workflow-proxy 2.0.1 (Express + http-proxy): the 1 MB Conductor definition listing (1,000 definitions)
 *   through its tenant proxy (/proxy/api/metadata/workflow, an OWNER), against flowgate's
 *   /conductor/api/metadata/workflow with an OWNER key.
 * Each is run only when its directory is given; neither is a dependency of this repository, and both are built
 * outside it. Setup (outside the repository; the two source edits only let them run outside their containers):
 *
 *   prefect-auth-proxy: git tag 0.0.3 of github.com/softrams/prefect-auth-proxy; `npm ci --omit=dev`; its
 *     PostgreSQL pool has the port fixed at 5432: `sed -i 's/port: 5432,/port: Number(process.env.DB_PORT || 5432),/' index.js`
 *     -> SIDE_PREFECT_AUTH_PROXY=<that directory>
 *   workflow-proxy: git tag v2.0.1 of github.com/FRINXio/workflow-proxy; `npm install --omit=dev --ignore-scripts`
 *     and `npm install --no-save --ignore-scripts request@2.88.2` (a devDependency it loads at run time); its OpenAPI files are read from /app/workflow-proxy (the container's path):
 *     `sed -i "s#require('/app/workflow-proxy/openapi/#require('../openapi/#" src/index.js`; `npx babel src -d lib --copy-files`
 *     -> SIDE_WORKFLOW_PROXY=<that directory>
 *
 * Per system and scenario: req/s, p50, raw p99 (each request's own latency), wrk's coordinated-omission-corrected
 * p99, and CPU µs per request of the serving process from /proc (workerd for flowgate, node for the others; the
 * local database, in this process, is reported apart for flowgate). Medians over SIDE_ROUNDS rounds, the order of
 * the two systems alternating each round. Env: SIDE_ROUNDS (3), SIDE_DURATION_S (3), SIDE_CONNECTIONS ("50,10"),
 * SIDE_PORT_BASE (9460: the proxies need fixed ports). Writes bench/results/side-by-side.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { buildWorker, localVariables, startRuntime, wranglerFacts } from "../scripts/worker-runtime.ts";
import { schema } from "../src/db/schema.ts";
import { createKey } from "../src/store/keys.ts";
import { drive, loadTool } from "./drive.ts";
import { cpuUs, startUpstream, workerdPids } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PAP_DIR = process.env.SIDE_PREFECT_AUTH_PROXY;
const WP_DIR = process.env.SIDE_WORKFLOW_PROXY;
const ROUNDS = Number(process.env.SIDE_ROUNDS ?? 3);
const DURATION_S = Number(process.env.SIDE_DURATION_S ?? 3);
const CONNECTIONS = (process.env.SIDE_CONNECTIONS ?? "50,10").split(",").map(Number);
const PORT_BASE = Number(process.env.SIDE_PORT_BASE ?? 9460);

interface Served {
  url: string;
  pid: number;
}

interface Figures {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p99CorrectedMs: number | null;
  cpuUsPerRequest: number;
  /** flowgate only: the local database's CPU (this process) per request. */
  dbCpuUsPerRequest?: number;
  non2xx: number;
}

/** What to stop when the script ends, however it ends (the proxies and the stub are child processes). */
const cleanups: (() => unknown)[] = [];
const failureNotes: (() => string)[] = [];

const selfCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function waitForHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${what} exited (${exited}) before answering`);
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} did not answer on ${url} within 60 s`);
}

function startNode(dir: string, args: string[], env: Record<string, string>): ChildProcess {
  // Their stdout (prefect-auth-proxy's audit lines among it) is read and dropped, as a terminal would take it.
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (c: Buffer) => void (tail = (tail + c.toString()).slice(-2_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  // When something fails, what the proxy said last is the first thing to read.
  failureNotes.push(() => `--- last output of ${dir}:\n${tail}`);
  return child;
}

async function measure(
  target: Served,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  connections: number,
  withDb: boolean,
): Promise<Figures> {
  const method = body === undefined ? "GET" : "POST";
  const url = target.url + path;
  const first = await fetch(url, { method, headers, body });
  const text = await first.text();
  if (first.status !== 200) throw new Error(`${url}: warm-up answered ${first.status}: ${text.slice(0, 200)}`);
  await drive({ url, connections, durationS: 1, method, headers, body }).catch(() => null); // warm-up, discarded
  const cpuBefore = cpuUs(target.pid);
  const selfBefore = selfCpuUs();
  const r = await drive({ url, connections, durationS: DURATION_S, method, headers, body });
  const selfAfter = selfCpuUs();
  const cpuAfter = cpuUs(target.pid);
  const n = Math.max(1, r.requests);
  return {
    reqPerSec: r.reqPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    p99CorrectedMs: r.p99CorrectedMs,
    cpuUsPerRequest: Math.round((cpuAfter - cpuBefore) / n),
    ...(withDb ? { dbCpuUsPerRequest: Math.round((selfAfter - selfBefore) / n) } : {}),
    non2xx: r.non2xx,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main() {
  if (!PAP_DIR && !WP_DIR) {
    console.log("side by side: skipped (set SIDE_PREFECT_AUTH_PROXY and/or SIDE_WORKFLOW_PROXY: see bench/side-by-side.ts)");
    return;
  }
  for (const [name, dir, file] of [
    ["SIDE_PREFECT_AUTH_PROXY", PAP_DIR, "index.js"],
    ["SIDE_WORKFLOW_PROXY", WP_DIR, "lib/index.js"],
  ] as const) {
    if (dir && !existsSync(`${dir}/${file}`)) throw new Error(`${name}=${dir}: no ${file} there (see the setup in bench/side-by-side.ts)`);
  }
  const tool = loadTool();
  const upstream = await startUpstream();
  cleanups.push(() => upstream.child.kill("SIGTERM"));
  const db = await startLocalDatabase();
  cleanups.push(() => db.close());
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const store = drizzle(client, { schema });
  const { key } = await createKey(store, { tenant: "bench", subject: "bench", scopes: ["query/*", "mutation/*"], createdBy: "bench" });
  const { key: conductorKey } = await createKey(store, {
    tenant: "bench",
    subject: "bench-admin",
    scopes: ["conductor"],
    roles: ["OWNER"],
    createdBy: "bench",
  });
  // prefect-auth-proxy's own table (its data/postgres/db_init.sql), in the same local database, with one key.
  const papKey = "SideBySideKey001";
  await client.query(`CREATE TABLE IF NOT EXISTS prefect_api_keys (user_id varchar(128) NOT NULL PRIMARY KEY, scopes varchar(2000) NOT NULL,
    api_key varchar(128) NOT NULL, key_issu_dt timestamp NOT NULL, key_expr_dt timestamp NOT NULL, creatd_dt timestamp NOT NULL,
    last_updatd_dt timestamp NOT NULL, creatd_by varchar(11) NOT NULL, last_updatd_by varchar(11) NOT NULL)`);
  await client.query(
    `INSERT INTO prefect_api_keys VALUES ('bench', 'mutation/*, query/*', $1, now(), '2099-12-31', now(), now(), 'bench', 'bench') ON CONFLICT DO NOTHING`,
    [papKey],
  );
  await client.end();
  const dbUrl = new URL(db.nodeDatabaseUrl);

  // flowgate as `npm start` runs it: wrangler.toml's variables (and .dev.vars), the engines pointed at the stub.
  const facts = wranglerFacts();
  const scriptPath = buildWorker(`${ROOT}bench/.build`);
  const before = workerdPids(process.pid);
  const flowgatePort = PORT_BASE;
  const runtime = await startRuntime({
    scriptPath,
    port: flowgatePort,
    compatibilityDate: facts.compatibilityDate,
    bindings: {
      ...localVariables(facts),
      DATABASE_URL: db.workerDatabaseUrl,
      DB_WS_PROXY: db.wsProxy,
      PREFECT_GRAPHQL_URL: `${upstream.url}/graphql`,
      CONDUCTOR_URL: upstream.url,
    },
    onStdout: () => {},
    onStderr: () => {},
  });
  cleanups.push(() => runtime.mf.dispose());
  const workerdPid = [...workerdPids(process.pid)].find((p) => !before.has(p));
  if (workerdPid === undefined) throw new Error("could not find the runtime's workerd process");
  const flowgate: Served = { url: runtime.url, pid: workerdPid };

  let pap: Served | null = null;
  if (PAP_DIR) {
    const port = PORT_BASE + 1;
    const child = startNode(PAP_DIR, ["index.js"], {
      PORT: String(port),
      HOST: "127.0.0.1",
      API_SERVICE_URL: `${upstream.url}/graphql`,
      LOG_LEVEL: "warn",
      DB_HOST: dbUrl.hostname,
      DB_PORT: dbUrl.port,
      DB_USER: decodeURIComponent(dbUrl.username),
      DB_PASSWORD: "",
      DB_DATABASE: dbUrl.pathname.slice(1),
    });
    cleanups.push(() => child.kill("SIGTERM"));
    await waitForHttp(`http://127.0.0.1:${port}/healthcheck`, child, "prefect-auth-proxy");
    pap = { url: `http://127.0.0.1:${port}`, pid: child.pid! };
  }
  let wp: Served | null = null;
  if (WP_DIR) {
    const port = PORT_BASE + 2;
    const child = startNode(WP_DIR, ["--unhandled-rejections=strict", "lib/index.js"], {
      USER_FACING_PORT: String(port),
      TASK_PROXY_PORT: String(PORT_BASE + 3),
      PROXY_TARGET: upstream.url,
      SCHELLAR_TARGET: "http://127.0.0.1:9",
    });
    cleanups.push(() => child.kill("SIGTERM"));
    await waitForHttp(`http://127.0.0.1:${port}/proxy/editableworkflows`, child, "workflow-proxy");
    wp = { url: `http://127.0.0.1:${port}`, pid: child.pid! };
  }

  const json = { "content-type": "application/json" };
  const query = JSON.stringify({ query: "query Flows { flow(limit: 10) { id name } }" });
  const mutation = JSON.stringify({ query: 'mutation Run { create_flow_run(input: {flow_id: "f1"}) { id } }' });
  type Side = [target: Served, path: string, headers: Record<string, string>, body?: string];
  const pairs: { name: string; flowgate: Side; other: Side | null; otherName: string }[] = [
    {
      name: "graphql-query",
      otherName: "prefect-auth-proxy 0.0.3",
      flowgate: [flowgate, "/prefect/graphql", { ...json, authorization: `Bearer ${key}` }, query],
      other: pap && [pap, "/", { ...json, authorization: `Bearer ${papKey}` }, query],
    },
    {
      name: "graphql-mutation (audited)",
      otherName: "prefect-auth-proxy 0.0.3",
      flowgate: [flowgate, "/prefect/graphql", { ...json, authorization: `Bearer ${key}` }, mutation],
      other: pap && [pap, "/", { ...json, authorization: `Bearer ${papKey}` }, mutation],
    },
    {
      name: "conductor-list-1mb",
      otherName: "workflow-proxy 2.0.1",
      flowgate: [flowgate, "/conductor/api/metadata/workflow", { authorization: `Bearer ${conductorKey}` }],
      other: wp && [wp, "/proxy/api/metadata/workflow", { "x-tenant-id": "bench", from: "ops@example.com", "x-auth-user-roles": "OWNER" }],
    },
  ];

  const rows: { scenario: string; connections: number; system: string; rounds: Figures[] }[] = [];
  const rowOf = (scenario: string, connections: number, system: string) => {
    let row = rows.find((r) => r.scenario === scenario && r.connections === connections && r.system === system);
    if (!row) rows.push((row = { scenario, connections, system, rounds: [] }));
    return row;
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const connections of CONNECTIONS) {
      for (const p of pairs) {
        if (!p.other) continue;
        const order: ["flowgate" | "other", Side][] = [
          ["flowgate", p.flowgate],
          ["other", p.other],
        ];
        if (round % 2 === 1) order.reverse();
        for (const [who, [target, path, headers, body]] of order) {
          const system = who === "flowgate" ? "flowgate" : p.otherName;
          process.stderr.write(`round ${round + 1}/${ROUNDS}: ${p.name}, ${connections} clients, ${system}...\n`);
          rowOf(p.name, connections, system).rounds.push(await measure(target, path, headers, body, connections, who === "flowgate"));
        }
      }
    }
  }

  await stopAll();

  const summary = rows.map((r) => ({
    scenario: r.scenario,
    connections: r.connections,
    system: r.system,
    reqPerSec: Math.round(median(r.rounds.map((x) => x.reqPerSec))),
    p50Ms: median(r.rounds.map((x) => x.p50Ms)),
    p99Ms: median(r.rounds.map((x) => x.p99Ms)),
    p99CorrectedMs: r.rounds.some((x) => x.p99CorrectedMs === null) ? null : median(r.rounds.map((x) => x.p99CorrectedMs!)),
    cpuUsPerRequest: median(r.rounds.map((x) => x.cpuUsPerRequest)),
    dbCpuUsPerRequest: r.system === "flowgate" ? median(r.rounds.map((x) => x.dbCpuUsPerRequest ?? 0)) : undefined,
    non2xx: r.rounds.reduce((a, x) => a + x.non2xx, 0),
    rounds: r.rounds,
  }));
  const ratios = pairs.flatMap((p) =>
    CONNECTIONS.flatMap((connections) => {
      const ours = rows.find((r) => r.scenario === p.name && r.connections === connections && r.system === "flowgate");
      const theirs = rows.find((r) => r.scenario === p.name && r.connections === connections && r.system === p.otherName);
      if (!ours || !theirs) return [];
      // Per round (the two ran next to each other), then the median of those.
      const each = ours.rounds.map((o, i) => o.reqPerSec / theirs.rounds[i]!.reqPerSec);
      const cpu = ours.rounds.map((o, i) => o.cpuUsPerRequest / theirs.rounds[i]!.cpuUsPerRequest);
      return [
        {
          scenario: p.name,
          connections,
          against: p.otherName,
          reqPerSecRatio: Number(median(each).toFixed(2)),
          cpuRatio: Number(median(cpu).toFixed(2)),
        },
      ];
    }),
  );
  const report = { date: new Date().toISOString(), tool, rounds: ROUNDS, durationS: DURATION_S, cpus: cpus().length, summary, ratios };
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/side-by-side.json`, JSON.stringify(report, null, 2) + "\n");

  const pad = (s: string | number | null | undefined, n: number) => String(s ?? "-").padStart(n);
  console.log(
    `\nside by side (${tool}; medians of ${ROUNDS} interleaved rounds of ${DURATION_S} s; p99: raw, p99c: wrk's corrected; cpu: µs/request of the serving process, db: flowgate's local database)`,
  );
  console.log(
    `${"scenario".padEnd(28)}${"system".padEnd(26)}${pad("conns", 6)}${pad("req/s", 7)}${pad("p50", 8)}${pad("p99", 8)}${pad("p99c", 9)}${pad("cpu", 7)}${pad("db", 5)}${pad("non2xx", 7)}`,
  );
  for (const s of summary) {
    console.log(
      `${s.scenario.padEnd(28)}${s.system.padEnd(26)}${pad(s.connections, 6)}${pad(s.reqPerSec, 7)}${pad(s.p50Ms, 8)}${pad(s.p99Ms, 8)}${pad(s.p99CorrectedMs, 9)}${pad(s.cpuUsPerRequest, 7)}${pad(s.dbCpuUsPerRequest, 5)}${pad(s.non2xx, 7)}`,
    );
  }
  for (const r of ratios)
    console.log(
      `flowgate / ${r.against}, ${r.scenario}, ${r.connections} clients: ${r.reqPerSecRatio}x req/s, ${r.cpuRatio}x CPU per request`,
    );
  console.log("\nwritten to bench/results/side-by-side.json");
}

async function stopAll(): Promise<void> {
  // The runtime, then the database (it must close cleanly), then the child processes: the reverse of their start.
  for (const stop of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(stop)
      .catch(() => {});
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(err);
    for (const note of failureNotes) console.error(note());
    await stopAll();
    process.exit(1);
  },
);
