/**
 * The load generator of `npm run bench`: wrk (Debian's package, C and epoll) when it is installed, else autocannon
 * (a Node process, which on a 2-core machine takes a core of its own and caps what it can measure). Both report the
 * same figures; `tool` says which ran.
 *
 * Latency percentiles, two kinds:
 * - raw: each request's own latency, the time from sending it to its answer (what autocannon reports);
 * - wrk's own ("corrected"): wrk 4.1 adds, for every request slower than the run's mean interval, the samples a
 *   constant-rate client would have seen while it waited (a coordinated-omission correction). Under a closed loop
 *   of 50 clients that inflates the tail; it is reported beside the raw one, never instead of it.
 * For raw latencies with wrk, each of its threads drives exactly one connection and records, in a Lua `request()`
 * hook, the time between two requests of that connection: with one connection and no pipelining, that is the
 * previous request's latency (plus the client's own microseconds).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

export type Tool = "wrk" | "autocannon";

export interface Drive {
  url: string;
  connections: number;
  durationS: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Driven {
  tool: Tool;
  requests: number;
  reqPerSec: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  /** Each request's own latency. */
  p99Ms: number;
  /** wrk's coordinated-omission-corrected p99 (wrk only). */
  p99CorrectedMs: number | null;
  /** CPU the load generator itself used (user + system), µs per request. */
  clientCpuUsPerRequest: number;
}

let detected: Tool | null = null;

export function loadTool(): Tool {
  if (detected) return detected;
  if (process.env.BENCH_TOOL === "autocannon" || process.env.BENCH_TOOL === "wrk") return (detected = process.env.BENCH_TOOL);
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    detected = "wrk";
  } catch (err) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT.
    detected = (err as NodeJS.ErrnoException).code === "ENOENT" ? "autocannon" : "wrk";
  }
  return detected;
}

const lua = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;

function wrkScript(d: Drive): string {
  const headers = Object.entries(d.headers ?? {}).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`);
  return `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } fg_timespec;
int clock_gettime(int clk, fg_timespec *ts);
]]
local ts = ffi.new("fg_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
wrk.method = ${lua(d.method ?? "GET")}
${d.body !== undefined ? `wrk.body = ${lua(d.body)}` : ""}
${headers.join("\n")}
local threads = {}
function setup(thread) table.insert(threads, thread) end
local req, last, n
samples = {} -- global: done() reads it from each thread with thread:get
function init(args)
  req = wrk.format()
  samples = {}
  n = 0
end
function request()
  local t = now_us()
  if last ~= nil then
    n = n + 1
    samples[n] = t - last
  end
  last = t
  return req
end
function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("samples")
    -- the first interval of a connection includes its connect; the rest are one request each
    for i = 2, #s do all[#all + 1] = s[i] end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return 0 end
    local i = math.floor(p / 100 * #all) + 1
    if i > #all then i = #all end
    return all[i]
  end
  local e = summary.errors
  io.write(string.format('\\nFLOWGATE_JSON {"requests":%d,"durationUs":%d,"status":%d,"errors":%d,"rawP50Us":%.1f,"rawP99Us":%.1f,"corrP50Us":%.1f,"corrP99Us":%.1f}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    pct(50), pct(99), latency:percentile(50), latency:percentile(99)))
end
`;
}

/** cutime + cstime of this process: the CPU of its children that have exited (each load generator run), µs. */
function reapedChildrenCpuUs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[13]) + Number(f[14])) * 1_000_000) / 100; // USER_HZ is 100 on Linux
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 500)}`))));
  });
}

export async function drive(d: Drive): Promise<Driven> {
  const tool = loadTool();
  const cpuBefore = reapedChildrenCpuUs();
  if (tool === "wrk") {
    const dir = mkdtempSync(join(tmpdir(), "flowgate-wrk-"));
    try {
      writeFileSync(join(dir, "s.lua"), wrkScript(d));
      // One thread per connection, so each thread's request() sees one connection's requests in order.
      const out = await run("wrk", [
        "-t",
        String(d.connections),
        "-c",
        String(d.connections),
        "-d",
        `${d.durationS}s`,
        "--timeout",
        "30s",
        "-s",
        join(dir, "s.lua"),
        d.url,
      ]);
      const m = /FLOWGATE_JSON (\{.*\})/.exec(out);
      if (!m) throw new Error(`wrk printed no result: ${out.slice(0, 500)}`);
      const r = JSON.parse(m[1]!) as {
        requests: number;
        durationUs: number;
        status: number;
        errors: number;
        rawP50Us: number;
        rawP99Us: number;
        corrP50Us: number;
        corrP99Us: number;
      };
      const clientCpu = reapedChildrenCpuUs() - cpuBefore;
      return {
        tool,
        requests: r.requests,
        reqPerSec: Math.round(r.requests / (r.durationUs / 1e6)),
        non2xx: r.status,
        errors: r.errors,
        p50Ms: round2(r.rawP50Us / 1000),
        p99Ms: round2(r.rawP99Us / 1000),
        p99CorrectedMs: round2(r.corrP99Us / 1000),
        clientCpuUsPerRequest: r.requests > 0 ? Math.round(clientCpu / r.requests) : 0,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const args = [
    `${ROOT}node_modules/autocannon/autocannon.js`,
    "-c",
    String(d.connections),
    "-d",
    String(d.durationS),
    "-j",
    "-m",
    d.method ?? "GET",
  ];
  for (const [k, v] of Object.entries(d.headers ?? {})) args.push("-H", `${k}=${v}`);
  if (d.body !== undefined) args.push("-b", d.body);
  args.push(d.url);
  const r = JSON.parse(await run(process.execPath, args)) as any;
  const clientCpu = reapedChildrenCpuUs() - cpuBefore;
  const requests = r.requests.total as number;
  return {
    tool,
    requests,
    reqPerSec: Math.round(r.requests.average as number),
    non2xx: r.non2xx as number,
    errors: r.errors as number,
    p50Ms: r.latency.p50 as number,
    p99Ms: r.latency.p99 as number,
    p99CorrectedMs: null,
    clientCpuUsPerRequest: requests > 0 ? Math.round(clientCpu / requests) : 0,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
