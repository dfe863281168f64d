/**
 * What /proc says about workerd: its processes, their CPU time and memory (Linux only, like the benchmark); and
 * the stub upstream's process, which every bench starts the same way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** CPU time (user + system, µs) of a process, from /proc. */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU time (µs) of every thread of a process, from each thread's schedstat: nanoseconds, where /proc/<pid>/stat
 * counts 10 ms ticks. For measurements too short for ticks (one request's CPU).
 */
export function cpuUsFine(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended
    }
  }
  return ns / 1000;
}

/**
 * workerd processes; with `parent`, only that process's children (others on a shared machine start workerd too,
 * so "the one that appeared" is not a safe way to find ours).
 */
export function workerdPids(parent?: number): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      if (/^Name:\s+workerd$/m.exec(status) === null) continue;
      if (parent !== undefined && Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1]) !== parent) continue;
      out.add(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Resident memory of a process, MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** The stub upstream (bench/upstream.ts) in a process of its own, so its CPU is never counted as the bench's. */
export async function startUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./upstream.ts", import.meta.url).pathname], {
    cwd: new URL("../", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      const m = /port=(\d+)/.exec(String(c));
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`stub upstream exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
