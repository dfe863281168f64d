/**
 * `npm start`: the whole gateway on one machine.
 * - PostgreSQL: embedded PGlite under .data/pglite (or DATABASE_URL), migrated, behind the WebSocket bridge the
 *   Neon driver uses, exactly as it reaches Neon in production;
 * - the Worker under `wrangler dev` on 127.0.0.1:$PORT (8787), local KV persisted under .data/wrangler, the cron
 *   trigger callable at /__scheduled;
 * - every contract variable in the environment overrides wrangler.toml and .dev.vars.
 * Ctrl-C stops everything.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { CONFIG_VARIABLE_NAMES } from "../src/config.ts";
import { startLocalDatabase } from "./local-db.ts";
import { DATA_DIR, PGLITE_DIR, removeStack, writeStack } from "./stack-file.ts";


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

const quote = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

async function main() {
  const port = Number(process.env.PORT ?? 8787);
  const db = await startLocalDatabase(
    process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: PGLITE_DIR },
  );
  const vars: Record<string, string> = existsSync(".dev.vars") ? parseDotenv(readFileSync(".dev.vars", "utf8")) : {};
  // Every configuration variable in the environment overrides wrangler.toml and .dev.vars.
  for (const name of CONFIG_VARIABLE_NAMES) if (process.env[name] !== undefined) vars[name] = process.env[name]!;
  vars.DATABASE_URL = db.workerDatabaseUrl;
  vars.DB_WS_PROXY = db.wsProxy;
  const envFile = `${DATA_DIR}worker.env`;
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${quote(v)}`).join("\n") + "\n", { mode: 0o600 });

  const gatewayUrl = `http://127.0.0.1:${port}`;
  writeStack({ pid: process.pid, nodeDatabaseUrl: db.nodeDatabaseUrl, databaseKind: db.kind, gatewayUrl });
  console.log(`[flowgate] database: ${db.kind}${db.kind === "pglite" ? ` (${PGLITE_DIR})` : ""}, bridge ${db.wsProxy}`);

  const wrangler = spawn(
    "npx",
    [
      "wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--env-file", envFile,
      "--persist-to", `${DATA_DIR}wrangler`, "--test-scheduled", "--show-interactive-dev-session=false",
    ],
    { stdio: "inherit", detached: true },
  );

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      if (wrangler.pid && wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGTERM");
    } catch {
      // already gone
    }
    removeStack();
    await db.close().catch(() => {});
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  wrangler.on("exit", (code) => void stop(code ?? 0));
}

main().catch((err) => {
  console.error(`[flowgate] could not start: ${err instanceof Error ? err.message : String(err)}`);
  removeStack();
  process.exit(1);
});
