/**
 * `npx tsx bench/router.ts`: what one route match costs on workerd with each of Hono's routers holding the
 * gateway's own route table, and what building one costs on an isolate's first request (docs/benchmarks.md,
 * "Router"). Bare `workerd serve` (bench/bare-workerd.ts) runs bench/routerWorker.ts; CPU is the workerd process's
 * over each request (schedstat, all threads), the routers interleaved, REPS rounds (7), medians printed.
 *
 * Per match: every route of the app once (`all`), `GET /whoami` and `POST /prefect/graphql` (the benchmarks'
 * requests). First request: a new workerd per router and round, one request that builds the router and matches
 * once, beside one that reads the route table and does nothing else.
 */
import { build } from "esbuild";
import { join } from "node:path";
import { buildApp } from "../src/app.ts";
import { startBareWorkerd } from "./bare-workerd.ts";
import { cpuUsFine } from "./proc.ts";
import { ROUTERS } from "./routerWorker.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const REPS = Number(process.env.REPS ?? 7);
const COMPATIBILITY_DATE = "2026-04-20";

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

async function main() {
  const routes = buildApp().routes.map(({ method, path }) => ({ method, path }));
  const script = join(ROOT, "bench/.build/router/index.js");
  await build({
    entryPoints: [join(ROOT, "bench/routerWorker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    outfile: script,
    logLevel: "warning",
  });
  const vars = { ROUTES: JSON.stringify(routes) };
  console.log(`bench/router.ts: ${routes.length} routes, REPS=${REPS}; ${new Date().toISOString()}`);

  const worker = await startBareWorkerd(script, vars, COMPATIBILITY_DATE);
  const ask = async (query: string) => {
    const before = cpuUsFine(worker.pid);
    const res = await fetch(`${worker.url}/?${query}`);
    const text = await res.text();
    return { ok: res.ok, text, cpuUs: cpuUsFine(worker.pid) - before };
  };
  const names: string[] = [];
  for (const name of Object.keys(ROUTERS)) {
    const probe = await ask(`router=${encodeURIComponent(name)}&set=whoami&n=1`);
    if (probe.ok) names.push(name);
    else console.log(`${name}: ${probe.text}`);
  }
  // Matches per request: enough for tens of ms of CPU on each.
  const sets: [string, number, number][] = [
    ["all", 200, routes.length],
    ["whoami", 50_000, 1],
    ["graphql", 50_000, 1],
  ];
  for (const name of names) for (const [set, n] of sets) await ask(`router=${encodeURIComponent(name)}&set=${set}&n=${n / 5}`);
  const perMatch = new Map<string, number[]>();
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? names : [...names].reverse();
    for (const [set, n, size] of sets)
      for (const name of order) {
        const { cpuUs } = await ask(`router=${encodeURIComponent(name)}&set=${set}&n=${n}`);
        perMatch.set(`${name}|${set}`, [...(perMatch.get(`${name}|${set}`) ?? []), cpuUs / (n * size)]);
      }
  }
  await worker.stop();
  console.log("\nCPU µs per match (median of the rounds): every route once | GET /whoami | POST /prefect/graphql");
  for (const name of names)
    console.log(`  ${name.padEnd(30)} ${sets.map(([set]) => median(perMatch.get(`${name}|${set}`)!).toFixed(2)).join(" | ")}`);

  const first = new Map<string, number[]>();
  for (let rep = 0; rep < REPS; rep++)
    for (const name of ["(no router)", ...names]) {
      const cold = await startBareWorkerd(script, vars, COMPATIBILITY_DATE);
      await new Promise((r) => setTimeout(r, 300)); // the process's own start settles
      const before = cpuUsFine(cold.pid);
      await (await fetch(`${cold.url}/?${name === "(no router)" ? "fresh=0" : `router=${encodeURIComponent(name)}&fresh=1`}`)).text();
      first.set(name, [...(first.get(name) ?? []), cpuUsFine(cold.pid) - before]);
      await cold.stop();
    }
  console.log("\nCPU ms of an isolate's first request (median): the router built and matched once");
  for (const [name, v] of first) console.log(`  ${name.padEnd(30)} ${(median(v) / 1000).toFixed(1)}`);
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
