/**
 * The Worker on workerd through Miniflare's API: the deployable bundle (built by `wrangler deploy --dry-run`, the
 * very bytes `wrangler deploy` uploads), its KV binding, its variables and its cron. Used by `npm start` and
 * `npm run load`. Unlike `wrangler dev`, there is no proxy in front of workerd (measured here, that proxy makes a
 * Worker 20x slower and runs out of file descriptors on 1 MB answers at 50 clients).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { CONFIG_VARIABLE_NAMES } from "../src/config.ts";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";

const ROOT = new URL("../", import.meta.url).pathname;

export interface WranglerFacts {
  compatibilityDate: string;
  crons: string[];
  vars: Record<string, string>;
}

/** The few wrangler.toml facts the runtime needs (compatibility date, crons, [vars]). */
export function wranglerFacts(): WranglerFacts {
  const text = readFileSync(`${ROOT}wrangler.toml`, "utf8");
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  if (!compatibilityDate) throw new Error("wrangler.toml has no compatibility_date");
  const crons = [.../crons\s*=\s*\[([^\]]*)\]/.exec(text)?.[1]?.matchAll(/"([^"]+)"/g) ?? []].map((m) => m[1]!);
  const vars: Record<string, string> = {};
  const section = /^\[vars\]\s*\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(text)?.[1] ?? "";
  for (const m of section.matchAll(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)) vars[m[1]!] = m[2]!;
  return { compatibilityDate, crons, vars };
}

function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** The Worker's variables: wrangler.toml [vars], then .dev.vars, then every configuration variable in the environment. */
export function localVariables(facts = wranglerFacts()): Record<string, string> {
  const vars: Record<string, string> = { ...facts.vars, ...(existsSync(`${ROOT}.dev.vars`) ? parseDotenv(readFileSync(`${ROOT}.dev.vars`, "utf8")) : {}) };
  for (const name of CONFIG_VARIABLE_NAMES) if (process.env[name] !== undefined) vars[name] = process.env[name]!;
  return vars;
}

/** Bundles the Worker as `wrangler deploy` would, into `outDir`; returns the script's path. */
export function buildWorker(outDir: string): string {
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  return `${outDir}/index.js`;
}

export interface RuntimeOptions {
  scriptPath: string;
  port: number;
  bindings: Record<string, string>;
  /** Where KV persists (omit: in memory). */
  kvPersist?: string;
  compatibilityDate: string;
  /** Lines workerd writes to stderr (console.log of the Worker goes to stdout). */
  onStderr?: (line: string) => void;
  onStdout?: (line: string) => void;
  /** Open the V8 inspector (for heap and CPU measurements). */
  inspector?: boolean;
}

export function runtimeOptions(o: RuntimeOptions): ConstructorParameters<typeof Miniflare>[0] {
  const lines = (stream: Readable, sink?: (line: string) => void) => {
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) sink?.(line);
    });
  };
  return {
    scriptPath: o.scriptPath,
    modules: true,
    compatibilityDate: o.compatibilityDate,
    host: "127.0.0.1",
    port: o.port,
    bindings: o.bindings,
    kvNamespaces: ["KEY_CACHE"],
    kvPersist: o.kvPersist ?? false,
    // `GET /cdn-cgi/handler/scheduled?cron=...` runs the cron handler on demand (as wrangler's /__scheduled did).
    unsafeTriggerHandlers: true,
    ...(o.inspector ? { inspectorPort: 0 } : {}),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      lines(stdout, o.onStdout ?? ((l) => process.stdout.write(`${l}\n`)));
      lines(stderr, o.onStderr ?? ((l) => process.stderr.write(`${l}\n`)));
    },
  };
}

export async function startRuntime(o: RuntimeOptions): Promise<{ mf: Miniflare; url: string }> {
  const mf = new Miniflare(runtimeOptions(o));
  const url = (await mf.ready).href.replace(/\/$/, "");
  return { mf, url };
}

/** Runs the Worker's scheduled handler on `cron`'s schedule (minute-step and fixed-minute forms). */
export function scheduleCrons(mf: Miniflare, crons: readonly string[], log: (m: string) => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (const cron of crons) {
    const step = /^\*\/(\d+) \* \* \* \*$/.exec(cron);
    const everyMs = step ? Number(step[1]) * 60_000 : cron === "* * * * *" ? 60_000 : null;
    if (everyMs === null) {
      log(`cron ${cron}: not scheduled locally (trigger it with /cdn-cgi/handler/scheduled)`);
      continue;
    }
    timers.push(
      setInterval(() => {
        mf.getWorker()
          .then((w) => w.scheduled({ cron, scheduledTime: new Date() }))
          .catch((e: unknown) => log(`cron ${cron} failed: ${e instanceof Error ? e.message : String(e)}`));
      }, everyMs),
    );
  }
  return () => timers.forEach(clearInterval);
}
