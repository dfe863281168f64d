/**
 * `npx tsx bench/ab.ts <bundle-dir> [<bundle-dir> ...]`: before and after of a change, on one machine in one run.
 * Each directory holds a gateway bundle (`npx wrangler deploy --dry-run --outdir <dir>`; the directory must sit
 * inside the repository, e.g. under bench/.build/, for the local runtime to load it). The bundles and the
 * pass-through Worker (bench/passthrough.js) run side by side on the local runtime, and every scenario is driven
 * in interleaved rounds (pass-through, then each bundle, ROUNDS times), so a machine that slows down or speeds up
 * during the run moves every candidate alike. Scenarios with a body also measure the reading floor (the pass-through
 * Worker's `/read/` path: the least a gateway that reads the body before deciding spends) in the same rounds.
 * Prints workerd's CPU µs per request, the median of the rounds and every round, and each target over the
 * pass-through (and the reading floor) as the median of the rounds' paired differences; with more than one bundle,
 * also each bundle against the first, paired the same way. On a shared or noisy machine this
 * is the way to compare two builds: a single `npm run bench` moves by tens of µs between runs of the same commit.
 *
 * Env: ROUNDS (5), SECS (3 per round), CONNECTIONS (50 clients; 6 gives steadier rounds on a 2-core machine, where 50
 * wrk threads share the cores with workerd), WARMUP (whole seconds of load on each target for each scenario before
 * the first round: 3; 0 skips it; with none, whichever scenario runs first reads tens of µs high), ONLY (comma list
 * of whoami, gql-small, gql-1kb, mutation, run in that order; mutation wants TENANT_ID set), TENANT_ID (Prefect
 * single-tenant; unset, queries go through the multi-tenant rewrite), FLOORS=1 (also runs the work floors of bench/floors/,
 * built with esbuild: the essentials of the gateway's work as plain functions and as bare Hono routes; each on the
 * scenarios it serves, paired against the first build), PERF=1 (also samples each
 * workerd with Linux `perf` in the last round and splits its CPU per request into the runtime's parts: kernel,
 * malloc, the event loop, JS<->C++ glue, V8, JIT-compiled JS; needs `perf` from Debian's linux-perf).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRuntime } from "../scripts/worker-runtime.ts";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { GRAPHQL_CALLER, createBenchKeys } from "./keys.ts";
import { drive } from "./drive.ts";
import { FLOORS, buildFloors, type Floor } from "./floors/build.ts";
import { graphqlBody } from "./fixtures.ts";
import { cpuUs, startUpstream, workerdPids } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** A whole number from the environment, refused before anything starts when it is not one (wrk takes whole seconds). */
function setting(name: string, fallback: number, min: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}`);
  return value;
}
const ROUNDS = setting("ROUNDS", 5, 1);
const SECS = setting("SECS", 3, 1);
const CONNECTIONS = setting("CONNECTIONS", 50, 1);
const WARMUP_S = setting("WARMUP", 3, 0);
const ONLY = process.env.ONLY?.split(",").map((name) => name.trim());
const PERF = process.env.PERF === "1";
const WITH_FLOORS = process.env.FLOORS === "1";
const READING_FLOOR = "reading floor";
/** A difference in whole µs with its sign: +12, -7. */
const sign = (n: number) => (Math.round(n) >= 0 ? `+${Math.round(n)}` : String(Math.round(n)));

/** The parts of workerd's CPU `perf` can tell apart, by the shared object and symbol of each sample. */
function partOf(dso: string, sym: string): string {
  if (dso.startsWith("[kernel")) return "kernel (sockets, scheduling)";
  if (dso.startsWith("[JIT")) return "JIT-compiled JS";
  if (/tcmalloc|TCMalloc|^malloc|^free|^cfree/.test(sym)) return "malloc/free";
  if (sym.startsWith("Builtins_")) return "V8 builtins and interpreter";
  if (/v8::internal::(Scaveng|Heap|Mark|.*GC)/.test(sym)) return "V8 garbage collector";
  if (sym.startsWith("v8::")) return "V8 runtime (handles, API)";
  if (sym.includes("workerd::jsg")) return "workerd jsg (JS<->C++ glue)";
  if (sym.includes("workerd::api")) return "workerd api (Headers, Request, Response, fetch)";
  if (sym.includes("kj::") && /Http|http/.test(sym)) return "kj HTTP";
  if (sym.includes("kj::")) return "kj event loop, promises, strings";
  if (sym.includes("workerd::")) return "workerd other";
  if (dso.startsWith("libc")) return "libc";
  return "other";
}

/** Shares (%) of a perf recording by part. */
function perfParts(file: string): Map<string, number> {
  const out = execFileSync("perf", ["report", "-i", file, "--sort", "dso,sym", "--stdio"], { encoding: "utf8", maxBuffer: 1 << 28 });
  const parts = new Map<string, number>();
  for (const line of out.split("\n")) {
    // "  3.31%  workerd  [.] symbol" or "  4.66%  [JIT] tid 123  [.] symbol"
    const m = /^\s+([\d.]+)%\s+(\[JIT\] tid \d+|\S+)\s+\[.\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const part = partOf(m[2]!, m[3]!);
    parts.set(part, (parts.get(part) ?? 0) + Number(m[1]));
  }
  return parts;
}

async function main() {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) throw new Error("usage: npx tsx bench/ab.ts <bundle-dir> [<bundle-dir> ...]");
  // The settings head the output, so a saved run says how it was made.
  console.log(
    `bench/ab.ts: ROUNDS=${ROUNDS} SECS=${SECS} CONNECTIONS=${CONNECTIONS} WARMUP=${WARMUP_S}${ONLY ? ` ONLY=${ONLY.join(",")}` : ""}${WITH_FLOORS ? " FLOORS=1" : ""}${PERF ? " PERF=1" : ""}; ${new Date().toISOString()}`,
  );
  const db = await startLocalDatabase();
  const [key] = await createBenchKeys(db.nodeDatabaseUrl, [GRAPHQL_CALLER]);
  const upstream = await startUpstream();

  const start = async (name: string, script: string, bindings: Record<string, string>) => {
    const before = workerdPids(process.pid);
    const { mf, url } = await startRuntime({
      scriptPath: script,
      port: 0,
      bindings,
      compatibilityDate: "2026-04-20",
      onStdout: () => {},
      onStderr: (line) => {
        if (!/Connection reset by peer|^stack: |Broken pipe|different request context|DurableObjectNamespace/.test(line))
          process.stderr.write(`[workerd] ${line}\n`);
      },
    });
    const pid = [...workerdPids(process.pid)].filter((p) => !before.has(p))[0];
    if (pid === undefined) throw new Error(`${name}: no workerd process of its own`);
    return { name, url, pid, stop: () => mf.dispose() };
  };
  const common = {
    DATABASE_URL: db.workerDatabaseUrl,
    DB_WS_PROXY: db.wsProxy,
    LOG_LEVEL: "error",
    PREFECT_GRAPHQL_URL: `${upstream.url}/graphql`,
    // Multi-tenant Prefect unless TENANT_ID is given (the mutation scenario needs it: its made-up flow id is refused
    // at the owners' pre-read, which this upstream cannot answer).
    ...(process.env.TENANT_ID ? { TENANT_ID: process.env.TENANT_ID } : {}),
    CONDUCTOR_URL: upstream.url,
  };
  const passThrough = await start("pass-through", `${ROOT}bench/passthrough.js`, { UPSTREAM_URL: upstream.url });
  // The reading floor is the pass-through Worker's `/read/` path (bench/passthrough.js): the least any gateway that
  // decides on the body pays. Measured on scenarios with a body, in the same rounds, so each change's figure can be
  // read against what is and is not the gateway's own.
  const readingFloor = { ...passThrough, name: READING_FLOOR, stop: async () => {} };
  type Target = Awaited<ReturnType<typeof start>> & { floorOf?: "whoami" | "body" | "both" };
  const targets: Target[] = [passThrough, readingFloor];
  for (const dir of dirs) targets.push(await start(dir, join(dir, "index.js"), common));
  // FLOORS=1: the work floors of bench/floors/ (the essentials of the gateway's work), each on the scenarios
  // it serves, after the builds so the paired differences stay against the first build.
  if (WITH_FLOORS) {
    const floors = await buildFloors();
    const serving: Record<Floor, Target["floorOf"]> = { key: "whoami", graphql: "body", hono: "both" };
    for (const name of FLOORS) targets.push({ ...(await start(`floor: ${name}`, floors[name], common)), floorOf: serving[name] });
  }

  const json = { "content-type": "application/json" };
  const auth = { authorization: `Bearer ${key}` };
  // name, the pass-through's path, the gateway's path, the gateway's headers, body
  const scenarios: [string, string, string, Record<string, string>, string | undefined][] = [
    ["whoami", "/echo", "/whoami", auth, undefined],
    [
      "gql-small",
      "/graphql",
      "/prefect/graphql",
      { ...json, ...auth },
      JSON.stringify({ query: "query Flows { flow(limit: 10) { id name } }" }),
    ],
    ["gql-1kb", "/graphql", "/prefect/graphql", { ...json, ...auth }, graphqlBody(1_000)],
    [
      "mutation",
      "/graphql",
      "/prefect/graphql",
      { ...json, ...auth },
      JSON.stringify({ query: 'mutation Run { create_flow_run(input: {flow_id: "f1"}) { id } }' }),
    ],
  ];
  const perfDir = PERF ? mkdtempSync(join(tmpdir(), "flowgate-ab-perf-")) : "";
  const unknown = ONLY?.filter((name) => !scenarios.some(([n]) => n === name)) ?? [];
  if (unknown.length > 0) throw new Error(`ONLY names no scenario ${unknown.join(", ")}: ${scenarios.map(([n]) => n).join(", ")}`);
  const chosen = ONLY ? scenarios.filter(([name]) => ONLY.includes(name)).sort(([a], [b]) => ONLY.indexOf(a) - ONLY.indexOf(b)) : scenarios;
  const requestOf = (t: (typeof targets)[number], [, basePath, path, headers, body]: (typeof scenarios)[number]) => {
    const pass = t.name === "pass-through" || t.name === READING_FLOOR;
    return {
      url: t.url + (t.name === READING_FLOOR ? `/read${basePath}` : pass ? basePath : path),
      method: body === undefined ? "GET" : "POST",
      headers: pass ? (body === undefined ? {} : json) : headers,
      body,
    };
  };
  // Every target warms up on every scenario first: the first scenario measured is otherwise still paying for it.
  const serves = (t: Target, s: (typeof scenarios)[number]) => {
    if (t.floorOf === undefined || t.floorOf === "both") return true;
    const hasBody = s[4] !== undefined;
    return t.floorOf === "body" ? hasBody : !hasBody;
  };
  const targetsOf = (s: (typeof scenarios)[number]) =>
    targets.filter((t) => (t.name !== READING_FLOOR || s[4] !== undefined) && serves(t, s));
  if (WARMUP_S > 0)
    for (const s of chosen)
      for (const t of targetsOf(s)) await drive({ ...requestOf(t, s), connections: CONNECTIONS, durationS: WARMUP_S });
  for (const s of chosen) {
    const scenario = s[0];
    const rounds = new Map<string, number[]>();
    const parts = new Map<string, Map<string, number>>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targetsOf(s)) {
        const request = requestOf(t, s);
        const sampling = PERF && round === ROUNDS - 1;
        const file = join(perfDir, `${scenario}-${targets.indexOf(t)}.data`);
        const perf = sampling
          ? spawn("perf", ["record", "-F", "2000", "-p", String(t.pid), "-o", file, "--", "sleep", String(SECS)], { stdio: "ignore" })
          : null;
        const before = cpuUs(t.pid);
        const d = await drive({ ...request, connections: CONNECTIONS, durationS: SECS });
        if (d.non2xx > 0) throw new Error(`${scenario} on ${t.name}: ${d.non2xx} answers were not 2xx`);
        const perRequest = (cpuUs(t.pid) - before) / d.requests;
        rounds.set(t.name, [...(rounds.get(t.name) ?? []), perRequest]);
        if (perf) {
          await new Promise((r) => perf.once("exit", r));
          parts.set(t.name, perfParts(file));
        }
      }
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    // Over the pass-through and the reading floor: the median of each round's difference (both run in every round).
    const pairedOver = (v: number[], other: string) => {
      const o = rounds.get(other);
      return o ? median(v.map((x, i) => x - o[i]!)) : null;
    };
    for (const t of targetsOf(s)) {
      const v = rounds.get(t.name)!;
      const m = median(v);
      const floor = t.name === READING_FLOOR ? null : pairedOver(v, READING_FLOOR);
      const overFloor = floor !== null ? `, ${sign(floor)} over the reading floor` : "";
      const added = t.name === "pass-through" ? "" : ` (${sign(pairedOver(v, "pass-through")!)} over the pass-through${overFloor})`;
      console.log(`${scenario.padEnd(10)} ${t.name.padEnd(28)} ${Math.round(m)} µs${added}; rounds ${v.map(Math.round).join(" ")}`);
    }
    // Paired: each round's difference between two builds measured one after the other, then the median of those.
    // Steadier than the difference of two medians when the machine drifts between rounds.
    const bundles = targetsOf(s).filter((t) => t.name !== "pass-through" && t.name !== READING_FLOOR);
    if (bundles.length > 1) {
      const first = rounds.get(bundles[0]!.name)!;
      for (const t of bundles.slice(1)) {
        const diffs = rounds.get(t.name)!.map((x, i) => x - first[i]!);
        console.log(
          `${scenario.padEnd(10)} ${t.name.padEnd(28)} ${sign(median(diffs))} µs against ${bundles[0]!.name} (median of the rounds' differences: ${diffs.map(sign).join(" ")})`,
        );
      }
    }
    if (PERF) {
      const names = [...new Set([...parts.values()].flatMap((p) => [...p.keys()]))];
      console.log(
        `  µs per request by part (last round): ${targetsOf(s)
          .map((t) => t.name)
          .join(" | ")}`,
      );
      for (const n of names) {
        const cells = targetsOf(s).map((t) => Math.round(((parts.get(t.name)?.get(n) ?? 0) / 100) * median(rounds.get(t.name)!)));
        console.log(`  ${n.padEnd(48)} ${cells.join(" | ")}`);
      }
    }
  }
  for (const t of targets) await t.stop();
  upstream.child.kill();
  await db.close();
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
