/**
 * The Worker on workerd through Miniflare's API: the deployable bundle (built by `wrangler deploy --dry-run`, the
 * very bytes `wrangler deploy` uploads), its KV binding, its variables and its cron. Used by `npm start`,
 * `npm run bench` and `npm run load`. Unlike `wrangler dev`, there is no proxy in front of workerd (measured here,
 * that proxy makes a Worker 20x slower and runs out of file descriptors on 1 MB answers at 50 clients).
 *
 * Nothing of Miniflare's own sits on the request path either:
 * - requests reach the Worker on a socket of its own (`unsafeDirectSockets`), not through Miniflare's entry Worker,
 *   which rebuilds every request with a `cf` object and calls the Worker over a service binding (measured: a
 *   pass-through Worker at 0.26-0.32x of bare `workerd serve` through it). The entry Worker still listens, on a
 *   port of its own, for what only it does: `/cdn-cgi/handler/scheduled` and Miniflare's API (getWorker, cron);
 * - outbound `fetch` goes straight to workerd's network service (`stripCfConnectingIp: false`): by default
 *   Miniflare routes every outbound request through a second Worker that strips `CF-Connecting-IP`, a header the
 *   gateway never sends.
 * KV, Durable Objects and the database path (WebSockets to the bridge, outbound like any fetch) are Miniflare's as
 * before.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { CONFIG_VARIABLE_NAMES } from "../src/readConfig.ts";
import type { Readable } from "node:stream";
import { Miniflare, Response as MiniflareResponse, type Request as MiniflareRequest } from "miniflare";

const ROOT = new URL("../", import.meta.url).pathname;

export interface WranglerFacts {
  compatibilityDate: string;
  /** `compatibility_flags` (e.g. `nodejs_als`, which the bundle's AsyncLocalStorage needs). */
  compatibilityFlags: string[];
  crons: string[];
  vars: Record<string, string>;
}

/** The few wrangler.toml facts the runtime needs (compatibility date, crons, [vars]). */
export function wranglerFacts(): WranglerFacts {
  const text = readFileSync(`${ROOT}wrangler.toml`, "utf8");
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  if (!compatibilityDate) throw new Error("wrangler.toml has no compatibility_date");
  const compatibilityFlags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1]?.matchAll(/"([^"]+)"/g) ?? [])].map(
    (m) => m[1]!,
  );
  const crons = [...(/crons\s*=\s*\[([^\]]*)\]/.exec(text)?.[1]?.matchAll(/"([^"]+)"/g) ?? [])].map((m) => m[1]!);
  const vars: Record<string, string> = {};
  const section = /^\[vars\]\s*\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(text)?.[1] ?? "";
  for (const m of section.matchAll(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)) vars[m[1]!] = m[2]!;
  return { compatibilityDate, compatibilityFlags, crons, vars };
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
  const vars: Record<string, string> = {
    ...facts.vars,
    ...(existsSync(`${ROOT}.dev.vars`) ? parseDotenv(readFileSync(`${ROOT}.dev.vars`, "utf8")) : {}),
  };
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
  /** The gateway's own socket (0: any free port). */
  port: number;
  /** Miniflare's entry Worker (scheduled trigger, Miniflare's API); 0 or omitted: any free port. */
  entryPort?: number;
  bindings: Record<string, string>;
  /** Where KV persists (omit: in memory). */
  kvPersist?: string;
  /** Where the rate-limit counters (Durable Objects) persist (omit: in memory). */
  durableObjectsPersist?: string;
  compatibilityDate: string;
  /** wrangler.toml's `compatibility_flags`: the deployed Worker runs with them, so the local one must too. */
  compatibilityFlags?: string[];
  /** Lines workerd writes to stderr (console.log of the Worker goes to stdout). */
  onStderr?: (line: string) => void;
  onStdout?: (line: string) => void;
  /** Open the V8 inspector (for heap and CPU measurements). */
  inspector?: boolean;
  /**
   * Serve through Miniflare's entry Worker and its outbound Worker, as this runtime did before (the benchmark's
   * `BENCH_RUNTIME=entry`, to measure what they cost). Never for `npm start`.
   */
  viaEntryWorker?: boolean;
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
    compatibilityFlags: o.compatibilityFlags ?? wranglerFacts().compatibilityFlags,
    host: "127.0.0.1",
    ...(o.viaEntryWorker
      ? { port: o.port }
      : { port: o.entryPort ?? 0, unsafeDirectSockets: [{ host: "127.0.0.1", port: o.port }], stripCfConnectingIp: false }),
    bindings: o.bindings,
    kvNamespaces: ["KEY_CACHE"],
    kvPersist: o.kvPersist ?? false,
    // The console's static files (wrangler.toml [assets]): the Worker hands /console/* to its ASSETS binding.
    // Miniflare's own asset router would sit in front of every request on the socket (a second Worker per
    // request, and a 404 for every path that is not a file), so the binding is served from here instead.
    serviceBindings: { ASSETS: serveConsoleFile },
    // wrangler.toml's [[durable_objects.bindings]]: the counters, with SQLite storage as in production.
    durableObjects: { RATE_LIMITER: { className: "RateLimitCounter", useSQLite: true } },
    durableObjectsPersist: o.durableObjectsPersist ?? false,
    // `GET /cdn-cgi/handler/scheduled?cron=...` on the entry Worker's port runs the cron handler on demand.
    unsafeTriggerHandlers: true,
    ...(o.inspector ? { inspectorPort: 0 } : {}),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      lines(stdout, o.onStdout ?? ((l) => process.stdout.write(`${l}\n`)));
      lines(stderr, o.onStderr ?? ((l) => process.stderr.write(`${l}\n`)));
    },
  };
}

export interface Runtime {
  mf: Miniflare;
  /** The gateway, served by the Worker's own socket. */
  url: string;
  /** Miniflare's entry Worker: `${entryUrl}/cdn-cgi/handler/scheduled` runs the cron on demand. */
  entryUrl: string;
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const mf = new Miniflare(runtimeOptions(o));
  const entryUrl = (await mf.ready).href.replace(/\/$/, "");
  const url = o.viaEntryWorker ? entryUrl : (await mf.unsafeGetDirectURL()).href.replace(/\/$/, "");
  return { mf, url, entryUrl };
}

/** Runs the Worker's scheduled handler on `cron`'s schedule (minute-step and fixed-minute forms). */
export function scheduleCrons(mf: Miniflare, crons: readonly string[], log: (m: string) => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (const cron of crons) {
    const step = /^\*\/(\d+) \* \* \* \*$/.exec(cron);
    const everyMs = step ? Number(step[1]) * 60_000 : cron === "* * * * *" ? 60_000 : null;
    if (everyMs === null) {
      log(`cron ${cron}: not scheduled locally (trigger it with /cdn-cgi/handler/scheduled on the entry port)`);
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

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
};

/** The ASSETS binding locally: files of console/dist, `index.html` for a directory, 404 for anything else. */
async function serveConsoleFile(request: MiniflareRequest): Promise<MiniflareResponse> {
  const path = decodeURIComponent(new URL(request.url).pathname);
  if (!path.startsWith("/console/") || path.includes("..")) return new MiniflareResponse("not found", { status: 404 });
  const file = `${ROOT}console/dist${path.endsWith("/") ? `${path}index.html` : path}`;
  if (!existsSync(file)) return new MiniflareResponse("not found", { status: 404 });
  const headers = new Headers({ "content-type": CONTENT_TYPES[file.split(".").pop() ?? ""] ?? "application/octet-stream" });
  return new MiniflareResponse(readFileSync(file), { headers: [...headers] });
}
