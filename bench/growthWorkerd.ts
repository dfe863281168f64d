/**
 * The growth curves measured on the gateway itself: the deployable bundle on workerd (scripts/worker-runtime.ts, as
 * `npm run bench` runs it), one runtime per point, so each point's peak is its own.
 *
 * - CPU per request: the workerd process's user + system CPU (/proc) over the point's requests, divided by them.
 * - Peak memory of one request: the workerd process's peak resident memory (VmHWM, reset through
 *   /proc/<pid>/clear_refs just before) minus its resident memory before (VmRSS), after a warm-up with a small
 *   request of the same kind. It counts everything the request made the process hold at once: the isolate's JS
 *   heap, the answer's and the output's bytes, and whatever workerd's own buffers took. A Worker's 128 MB counts
 *   the isolate's heap and its array buffers, so this is an upper bound of what the platform would count.
 *   workerd's clock stands still inside a request, so nothing inside the Worker can time it or sample its heap.
 */
import { createServer, type Server } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { startRuntime } from "../scripts/worker-runtime.ts";
import { cpuUs, workerdPids } from "./proc.ts";

const COMPAT_DATE = "2026-04-20";

export interface Gateway {
  url: string;
  /** Miniflare's entry Worker: `/cdn-cgi/handler/scheduled` runs the cron. */
  entryUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startGateway(scriptPath: string, bindings: Record<string, string>, kvPersist?: string): Promise<Gateway> {
  const before = workerdPids(process.pid);
  const { mf, url, entryUrl } = await startRuntime({
    scriptPath,
    port: 0,
    bindings,
    compatibilityDate: COMPAT_DATE,
    ...(kvPersist ? { kvPersist } : {}),
    onStdout: () => {},
    onStderr: (line) => {
      if (!/Connection reset by peer|^stack: |Broken pipe/.test(line)) process.stderr.write(`[workerd] ${line}\n`);
    },
  });
  const after = [...workerdPids(process.pid)].filter((p) => !before.has(p));
  if (after.length !== 1) throw new Error(`expected one new workerd process, found ${after.length}`);
  return { url, entryUrl, pid: after[0]!, stop: () => mf.dispose() };
}

/** A field of /proc/<pid>/status in kB (VmRSS: resident now, VmHWM: peak resident since the last reset). */
export function vmKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]);
}

/** Resets the process's peak resident memory to its present resident memory (Linux, `5` to clear_refs). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

export interface Req {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export async function send(base: string, r: Req): Promise<{ status: number; bytes: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(base + r.path, { method: r.method ?? (r.body === undefined ? "GET" : "POST"), headers: r.headers, body: r.body });
  const bytes = (await res.arrayBuffer()).byteLength;
  return { status: res.status, bytes, ms: performance.now() - t0 };
}

export interface PointFigures {
  status: number;
  answerBytes: number;
  /** Peak resident memory the one measured request added to the workerd process, MB. */
  peakAddedMb: number;
  /** workerd CPU per request over `requests` requests, ms. */
  cpuMsPerRequest: number;
  requests: number;
  /** Median wall time of one request, one client, ms. */
  p50Ms: number;
}

/**
 * One point: warm up with `warm` (same route, small), measure the peak of one `target`, then its CPU over requests
 * until `cpuBudgetMs` of workerd CPU (at least 3 requests, at most `maxRequests`).
 */
export async function measurePoint(
  gateway: Gateway,
  warm: () => Promise<unknown>,
  target: () => Promise<{ status: number; bytes: number; ms: number }>,
  cpuBudgetMs: number,
  maxRequests = 2_000,
): Promise<PointFigures> {
  for (let i = 0; i < 5; i++) await warm();
  await new Promise((r) => setTimeout(r, 200));
  const rssBefore = vmKb(gateway.pid, "VmRSS");
  resetPeak(gateway.pid);
  const first = await target();
  const peakKb = vmKb(gateway.pid, "VmHWM");
  const times: number[] = [];
  const cpu0 = cpuUs(gateway.pid);
  let n = 0;
  while (n < maxRequests && (n < 3 || cpuUs(gateway.pid) - cpu0 < cpuBudgetMs * 1000)) {
    const r = await target();
    if (r.status !== first.status) throw new Error(`status changed from ${first.status} to ${r.status}`);
    times.push(r.ms);
    n++;
  }
  const cpu = cpuUs(gateway.pid) - cpu0;
  times.sort((a, b) => a - b);
  return {
    status: first.status,
    answerBytes: first.bytes,
    peakAddedMb: Math.max(0, peakKb - rssBefore) / 1024,
    cpuMsPerRequest: cpu / n / 1000,
    requests: n,
    p50Ms: times[Math.floor(times.length / 2)]!,
  };
}

/**
 * A stand-in upstream in this process: answers `answer()` to every request. For a listing, `vary` puts a different
 * run of whitespace before the JSON each time (same definitions, other bytes), so the gateway rewrites every answer
 * instead of reusing the last rewrite (src/engines/conductor/upstream.ts reuses one only for identical bytes).
 */
export async function startStandIn(): Promise<{ url: string; set(answer: Buffer, vary: boolean): void; close(): Promise<void> }> {
  let answer: Buffer = Buffer.from('{"data":{"ok":true}}');
  let vary = false;
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const prefix = vary ? Buffer.from((++n).toString(2).replace(/0/g, " ").replace(/1/g, "\t")) : Buffer.alloc(0);
      res.writeHead(200, { "content-type": "application/json", "content-length": String(prefix.length + answer.length) });
      if (prefix.length) res.write(prefix);
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    set: (a, v) => {
      answer = a;
      vary = v;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
