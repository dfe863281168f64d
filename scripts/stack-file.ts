/**
 * `.data/stack.json`: who holds the local database under .data/, and how to reach it.
 *
 * PGlite has one writer and no lock of its own: two processes opening .data/pglite at once lose data. So whoever
 * opens it (a running `npm start`, or the operator CLI when no stack runs) first claims this file, atomically
 * (created with O_EXCL), naming its pid. Everyone else reads it: a live holder that is a stack exposes its database
 * through its bridge (`nodeDatabaseUrl`), which serializes sessions, and the CLI goes through that; a live holder
 * that is not (a CLI command, a stack still starting) is waited for or refused, never opened beside. A claim whose
 * process is gone is stale and is taken over. A process removes the file only when it holds the claim.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { mkdirSync } from "node:fs";

/** `.data/` of the checkout; FLOWGATE_DATA_DIR moves it (the tests of this file's rules use a directory of their own). */
export const DATA_DIR = process.env.FLOWGATE_DATA_DIR
  ? `${process.env.FLOWGATE_DATA_DIR.replace(/\/+$/, "")}/`
  : new URL("../.data/", import.meta.url).pathname;
export const STACK_FILE = `${DATA_DIR}stack.json`;
export const PGLITE_DIR = `${DATA_DIR}pglite`;

export interface StackInfo {
  pid: number;
  /** `stack`: a running `npm start`; `cli`: the operator CLI with the local database open for one command. */
  role: "stack" | "cli";
  /** Set once the stack's database is up: node-postgres reaches it here, through the bridge's session lock. */
  nodeDatabaseUrl?: string;
  databaseKind?: string;
  gatewayUrl?: string;
  /** Miniflare's entry Worker: `${schedulerUrl}/cdn-cgi/handler/scheduled` runs the cron on demand. */
  schedulerUrl?: string;
}

/** Whether `pid` is a live process (and, where /proc tells, a Node process: a recycled pid is not a holder). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return /node|tsx/.test(cmdline);
  } catch {
    return true; // no /proc: trust the signal check
  }
}

function readInfo(): StackInfo | null {
  try {
    return JSON.parse(readFileSync(STACK_FILE, "utf8")) as StackInfo;
  } catch {
    return null;
  }
}

/** The live holder of the local database, or null when there is none (no file, or its process is gone). */
export function readStack(): StackInfo | null {
  if (!existsSync(STACK_FILE)) return null;
  const info = readInfo();
  if (!info || info.pid === process.pid) return info;
  return alive(info.pid) ? info : null;
}

export interface Claim {
  /** Rewrites the claim with what the holder now offers (its database URL, gateway URL). */
  update(info: Omit<StackInfo, "pid" | "role">): void;
  /** Removes the file, if it is still this process's claim. */
  release(): void;
}

/**
 * Claims the local database for this process; returns the live holder instead when another process has it.
 * Nothing else is touched: a refused caller has created nothing and removes nothing.
 */
export function claimStack(role: StackInfo["role"]): { claim: Claim } | { holder: StackInfo } {
  mkdirSync(DATA_DIR, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(STACK_FILE, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = readStack();
      if (holder && holder.pid !== process.pid) return { holder };
      // Stale (its process is gone) or unreadable: take it over, once. Another process racing for the same stale
      // file loses the O_EXCL create below and sees this one as the holder.
      rmSync(STACK_FILE, { force: true });
      continue;
    }
    const base: StackInfo = { pid: process.pid, role };
    writeSync(fd, JSON.stringify(base, null, 2));
    closeSync(fd);
    const mine = () => readInfo()?.pid === process.pid;
    return {
      claim: {
        update(info) {
          if (mine()) writeFileSync(STACK_FILE, JSON.stringify({ ...base, ...info }, null, 2), { mode: 0o600 });
        },
        release() {
          if (mine()) rmSync(STACK_FILE, { force: true });
        },
      },
    };
  }
  const holder = readStack();
  if (holder) return { holder };
  throw new Error(`could not claim ${STACK_FILE}`);
}

/** One line naming who holds the local database, for a refusal. */
export function describeHolder(h: StackInfo): string {
  return h.role === "stack"
    ? `a flowgate stack is already running (pid ${h.pid}${h.gatewayUrl ? `, gateway ${h.gatewayUrl}` : ", starting"})`
    : `the operator CLI (pid ${h.pid}) has the local database open`;
}
