/**
 * `.data/stack.json`: how the CLI finds the database of a running `npm start`.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";

export const DATA_DIR = new URL("../.data/", import.meta.url).pathname;
export const STACK_FILE = `${DATA_DIR}stack.json`;
export const PGLITE_DIR = `${DATA_DIR}pglite`;

export interface StackInfo {
  pid: number;
  nodeDatabaseUrl: string;
  databaseKind: string;
  gatewayUrl: string;
}

export function writeStack(info: StackInfo): void {
  writeFileSync(STACK_FILE, JSON.stringify(info, null, 2), { mode: 0o600 });
}

export function removeStack(): void {
  rmSync(STACK_FILE, { force: true });
}

/** The running stack, or null when there is none (or its process is gone). */
export function readStack(): StackInfo | null {
  if (!existsSync(STACK_FILE)) return null;
  try {
    const info = JSON.parse(readFileSync(STACK_FILE, "utf8")) as StackInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}
