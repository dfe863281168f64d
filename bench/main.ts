/**
 * `npm run bench [-- <mode> [long]]`: one entry for the benchmark's modes.
 * - (none): the scenarios against their baselines (bench/run.ts), the rate-limit scenarios and their accuracy
 *   (bench/ratelimit.ts), then the side-by-side run with the replaced proxies (bench/side-by-side.ts);
 * - `growth`: how cost grows with the work (bench/growth.ts), short; `growth long` for the full ranges;
 * - `latency`: p50/p99 per kind of request with the production round trips' latency simulated (bench/latency.ts);
 *   `latency long` for more samples.
 * Each step runs in a process of its own, as `npx tsx` would run it alone, and the first that fails stops the rest.
 */
import { spawnSync } from "node:child_process";

const ROOT = new URL("../", import.meta.url).pathname;
const [mode = "scenarios", ...rest] = process.argv.slice(2);
const long = rest.includes("long") || rest.includes("--long");

const MODES: Record<string, { steps: string[][]; env?: Record<string, string> }> = {
  scenarios: { steps: [["bench/run.ts"], ["bench/ratelimit.ts"], ["bench/ratelimit.ts", "accuracy"], ["bench/side-by-side.ts"]] },
  growth: { steps: [["bench/growth.ts"]], env: long ? { GROWTH_LONG: "1" } : {} },
  latency: { steps: [["bench/latency.ts"]], env: long ? { LATENCY_LONG: "1" } : {} },
};

const chosen = MODES[mode];
if (!chosen) {
  console.error(`npm run bench -- <mode>: one of ${Object.keys(MODES).join(", ")} (none: scenarios); "long" after growth or latency`);
  process.exit(2);
}
for (const step of chosen.steps) {
  const r = spawnSync(process.execPath, ["--import", "tsx", ...step], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, ...chosen.env },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
