/**
 * Which gateway the operator CLI talks to, and with which admin credential.
 *
 * The gateway: `--url`, else `FLOWGATE_URL`, else the config file's `url`, else the local stack that `npm start`
 * runs on this checkout (its address is in .data/stack.json). The credential: `FLOWGATE_ADMIN_KEY`, else the config
 * file's `adminKey`. The config file is `FLOWGATE_CONFIG`, else `~/.config/flowgate/cli.json`:
 * `{"url": "https://gateway.example", "adminKey": "fgk_..."}`. It holds a secret, so, as ssh does with its keys,
 * a file that others may read is refused rather than used.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { readStack } from "../stack-file.ts";
import { UsageError } from "./errors.ts";

export interface Target {
  /** The gateway's base URL, without a trailing slash. */
  url: string;
  /** Where the URL came from, for messages. */
  urlFrom: string;
  adminKey: string | null;
}

interface ConfigFile {
  url?: string;
  adminKey?: string;
}

export const configPath = () => process.env.FLOWGATE_CONFIG || join(homedir(), ".config", "flowgate", "cli.json");

function readConfigFile(): ConfigFile {
  const path = configPath();
  if (!existsSync(path)) return {};
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new UsageError(`${path} holds an admin key and may be read by others: chmod 600 ${path}`);
  }
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    const { url, adminKey } = parsed as Record<string, unknown>;
    if ((url !== undefined && typeof url !== "string") || (adminKey !== undefined && typeof adminKey !== "string")) {
      throw new Error("url and adminKey are strings");
    }
    return { url, adminKey } as ConfigFile;
  } catch (err) {
    throw new UsageError(`${path}: not a flowgate CLI config (${(err as Error).message})`);
  }
}

/** The gateway and credential to use, or null when no gateway is named and no local stack runs. */
export function resolveTarget(urlFlag: string | undefined): Target | null {
  const file = readConfigFile();
  const adminKey = process.env.FLOWGATE_ADMIN_KEY || file.adminKey || null;
  const named: [string | undefined, string][] = [
    [urlFlag, "--url"],
    [process.env.FLOWGATE_URL, "FLOWGATE_URL"],
    [file.url, configPath()],
  ];
  for (const [url, from] of named) if (url) return { url: checkedUrl(url, from), urlFrom: from, adminKey };
  const stack = readStack();
  if (stack?.role === "stack" && stack.gatewayUrl)
    return { url: stack.gatewayUrl.replace(/\/+$/, ""), urlFrom: "the local stack", adminKey };
  return null;
}

function checkedUrl(url: string, from: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${from}: not a URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new UsageError(`${from}: an http(s) URL`);
  if (u.username || u.password) throw new UsageError(`${from}: no credentials in the URL; the admin key goes in FLOWGATE_ADMIN_KEY`);
  // A plain-HTTP gateway elsewhere than this machine would see the admin key travel in clear.
  if (u.protocol === "http:" && !["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) {
    throw new UsageError(`${from}: https is required for a gateway other than this machine's (the admin key would travel in clear)`);
  }
  return u.toString().replace(/\/+$/, "");
}
