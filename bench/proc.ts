/**
 * What /proc says about workerd: its processes, their CPU time and memory (Linux only, like the benchmark).
 */
import { readFileSync, readdirSync } from "node:fs";

/** CPU time (user + system, µs) of a process, from /proc. */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
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
