/**
 * `npx tsx bench/cpu-profile.ts [scenario]`: a CPU profile of the gateway inside workerd (V8 inspector through
 * Miniflare), served by the local runtime (scripts/worker-runtime.ts), under load from autocannon; prints the
 * functions that used most CPU. For finding hot paths, not for figures: `npm run bench` gives those.
 * Scenarios: `whoami` (an authenticated request alone), `mutation` (an audited GraphQL mutation), `list` (the 1 MB
 * Conductor definition listing), or a number: a GraphQL query of that many bytes (default 20000). Self and inclusive
 * time are given as a share of the profile and in µs per request (autocannon's count of completed requests).
 */
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { startRuntime } from "../scripts/worker-runtime.ts";
import { workflowDefListing } from "./fixtures.ts";
import WebSocket from "ws";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { GRAPHQL_CALLER, createBenchKeys } from "./keys.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** `whoami` profiles an authenticated request alone; a number profiles a GraphQL document of that many bytes. */
const MODE = process.argv[2] ?? "20000";
const SIZE = Number(MODE) || 0;

async function main() {
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", `${ROOT}bench/.build`], { cwd: ROOT, stdio: "ignore" });
  const db = await startLocalDatabase();
  const [key, conductorKey] = await createBenchKeys(db.nodeDatabaseUrl, [
    GRAPHQL_CALLER,
    { tenant: "bench", subject: "bench-admin", scopes: ["conductor"], roles: ["OWNER"], createdBy: "bench" },
  ]);
  const listing = workflowDefListing(1_000);
  const upstream = createServer((q, r) => {
    q.resume();
    r.writeHead(200, { "content-type": "application/json" }).end(q.url?.startsWith("/api/metadata/workflow") ? listing : "{}");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const { mf, url } = await startRuntime({
    scriptPath: `${ROOT}bench/.build/index.js`,
    compatibilityDate: "2026-04-20",
    port: 0,
    inspector: true,
    onStdout: () => {},
    bindings: {
      DATABASE_URL: db.workerDatabaseUrl,
      DB_WS_PROXY: db.wsProxy,
      LOG_LEVEL: "error",
      PREFECT_GRAPHQL_URL: `${upstreamUrl}/graphql`,
      // Prefect single-tenant, as in bench/run.ts: the mutation's made-up flow id is decided on scopes.
      TENANT_ID: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12",
      CONDUCTOR_URL: upstreamUrl,
    },
  });
  const inspector = await mf.getInspectorURL();
  const list = (await (await fetch(`http://${inspector.host}/json`)).json()) as { webSocketDebuggerUrl: string; title: string }[];
  const target = list.find((t) => !t.title.startsWith("core:")) ?? list[0]!;
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r) => ws.once("open", r));
  let id = 0;
  const send = (method: string, params = {}) =>
    new Promise<any>((resolve) => {
      const my = ++id;
      const onMsg = (m: WebSocket.RawData) => {
        const msg = JSON.parse(String(m));
        if (msg.id === my) {
          ws.off("message", onMsg);
          resolve(msg.result);
        }
      };
      ws.on("message", onMsg);
      ws.send(JSON.stringify({ id: my, method, params }));
    });
  const field = (i: number) =>
    `  r${i}: flow_run(where: {name: {_ilike: "%run-${i}%"}}, limit: 10) { id name state start_time end_time flow { id name project { id name } } }\n`;
  let q = "query Dashboard {\n";
  for (let i = 0; q.length < SIZE - 40; i++) q += field(i);
  const body = JSON.stringify({ query: q + "}\n" });
  const post = (b: string) => [
    `${ROOT}node_modules/autocannon/autocannon.js`,
    "-c",
    "20",
    "-d",
    "4",
    "-m",
    "POST",
    "-H",
    `authorization=Bearer ${key}`,
    "-H",
    "content-type=application/json",
    "-b",
    b,
    `${url}/prefect/graphql`,
  ];
  const args =
    MODE === "whoami"
      ? [`${ROOT}node_modules/autocannon/autocannon.js`, "-c", "20", "-d", "4", "-H", `authorization=Bearer ${key}`, `${url}/whoami`]
      : MODE === "list"
        ? [
            `${ROOT}node_modules/autocannon/autocannon.js`,
            "-c",
            "20",
            "-d",
            "4",
            "-H",
            `authorization=Bearer ${conductorKey}`,
            `${url}/conductor/api/metadata/workflow`,
          ]
        : MODE === "mutation"
          ? post(JSON.stringify({ query: 'mutation Run { create_flow_run(input: {flow_id: "f1"}) { id } }' }))
          : post(body);
  // Async: the database bridge runs in this process and must keep serving while the load runs. Resolves to the
  // number of requests autocannon completed (its JSON summary, `-j`).
  const load = (a: string[]) =>
    new Promise<number>((resolve) => {
      let out = "";
      const child = spawn(process.execPath, [a[0]!, "-j", ...a.slice(1)], { stdio: ["ignore", "pipe", "ignore"] });
      child.stdout.on("data", (d: Buffer) => (out += d));
      // "close", not "exit": the summary may still be in the pipe when the process has exited.
      child.on("close", () => {
        try {
          resolve(Number(JSON.parse(out).requests?.total ?? 0));
        } catch {
          resolve(0); // no summary: shares are still printed, µs per request are not
        }
      });
    });
  await load([...args.slice(0, 4), "2", ...args.slice(5)]); // warm up
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  await send("Profiler.start");
  const requests = await load(args);
  const { profile } = await send("Profiler.stop");
  const self = new Map<string, number>();
  const byId = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  // Time per node from the samples' own intervals (µs), not their count: the sampler is late under load.
  const hits = new Map<number, number>();
  // timeDeltas[i] is the time from sample i-1 to sample i: sample i stands for the interval up to the next one.
  profile.samples.forEach((s: number, i: number) => hits.set(s, (hits.get(s) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
  let total = 0;
  for (const [nid, n] of hits) {
    const f = byId.get(nid).callFrame;
    const k = `${f.functionName || "(anonymous)"} ${String(f.url).split("/").pop()}:${f.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + n);
    total += n;
  }
  // µs per request: the isolate's thread only (not workerd's other threads), with the profiler's own overhead in it.
  const perRequest = (us: number) => (requests > 0 ? `${(us / requests).toFixed(1).padStart(6)} µs/req` : "");
  const idle = self.get("(idle) :-1") ?? 0;
  console.log(`${requests} requests profiled; the isolate's thread busy ${perRequest(total - idle).trim()} (idle excluded)`);
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)}% ${perRequest(v)}  ${k}`);
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id);
  const inclusive = new Map<string, number>();
  for (const [nid, n] of hits) {
    const seen = new Set<string>();
    for (let at: number | undefined = nid; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      const k = `${f.functionName || "(anonymous)"} ${String(f.url).split("/").pop()}:${f.lineNumber}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + n);
    }
  }
  console.log("\ninclusive:");
  for (const [k, v] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 45))
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)}% ${perRequest(v)}  ${k}`);
  ws.close();
  await mf.dispose();
  upstream.close();
  await db.close();
}
main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
