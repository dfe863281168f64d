/**
 * Builds the work floors of this folder (bench/floors/*.ts: the essentials of the gateway's work as plain functions)
 * into single modules under bench/.build/floors/, for bench/run.ts and bench/ab.ts (FLOORS=1). esbuild, as wrangler
 * bundles the gateway itself; never deployed.
 */
import { build } from "esbuild";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/** `key` (a key checked, /whoami), `graphql` (a GraphQL operation decided and forwarded), `hono` (both as Hono routes). */
export const FLOORS = ["key", "graphql", "hono"] as const;
export type Floor = (typeof FLOORS)[number];

/** Each floor's module path (inside the repository, so the local runtime may load it). */
export async function buildFloors(): Promise<Record<Floor, string>> {
  const out = {} as Record<Floor, string>;
  for (const name of FLOORS) {
    const outfile = join(ROOT, "bench/.build/floors", name, "index.js");
    await build({
      entryPoints: [join(ROOT, "bench/floors", `${name}.ts`)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      outfile,
      logLevel: "warning",
    });
    out[name] = outfile;
  }
  return out;
}
