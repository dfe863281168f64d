/**
 * `npm start`: the whole gateway on one machine.
 * - PostgreSQL: embedded PGlite under .data/pglite (or DATABASE_URL), migrated, behind the WebSocket bridge the
 *   Neon driver uses, exactly as it reaches Neon in production;
 * - the Worker's deployable bundle on workerd through Miniflare's API (scripts/worker-runtime.ts) on
 *   127.0.0.1:$PORT (8787): KV persisted under .data/kv, the cron run on its schedule and on demand at
 *   /cdn-cgi/handler/scheduled, the bundle rebuilt and reloaded when src/ changes;
 * - every contract variable in the environment overrides wrangler.toml's [vars] and .dev.vars.
 * Not `wrangler dev`: its proxy cannot hold 50 clients on 1 MB answers (see README). Ctrl-C stops everything.
 */
import { watch } from "node:fs";
import { startLocalDatabase } from "./local-db.ts";
import { DATA_DIR, PGLITE_DIR, removeStack, writeStack } from "./stack-file.ts";
import { localTokenSecret } from "./token-secret.ts";
import { buildWorker, localVariables, runtimeOptions, scheduleCrons, startRuntime, wranglerFacts } from "./worker-runtime.ts";

const log = (m: string) => console.log(`[flowgate] ${m}`);

async function main() {
  const port = Number(process.env.PORT ?? 8787);
  const facts = wranglerFacts();
  const db = await startLocalDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: PGLITE_DIR });
  const vars = localVariables(facts);
  // Conductor SDK logins need a signing secret: one of the local stack's own unless one is set (scripts/token-secret.ts).
  const bindings = { ...vars, GATEWAY_TOKEN_SECRET: vars.GATEWAY_TOKEN_SECRET || localTokenSecret(), DATABASE_URL: db.workerDatabaseUrl, DB_WS_PROXY: db.wsProxy };
  log(`database: ${db.kind}${db.kind === "pglite" ? ` (${PGLITE_DIR})` : ""}, bridge ${db.wsProxy}`);

  const build = () => buildWorker(`${DATA_DIR}build`);
  const options = (scriptPath: string) => runtimeOptions({ scriptPath, port, bindings, kvPersist: `${DATA_DIR}kv`, compatibilityDate: facts.compatibilityDate });
  const { mf, url } = await startRuntime({ scriptPath: build(), port, bindings, kvPersist: `${DATA_DIR}kv`, compatibilityDate: facts.compatibilityDate });
  writeStack({ pid: process.pid, nodeDatabaseUrl: db.nodeDatabaseUrl, databaseKind: db.kind, gatewayUrl: url });
  const stopCrons = scheduleCrons(mf, facts.crons, log);
  log(`gateway on ${url} (cron ${facts.crons.join(", ")}; on demand: ${url}/cdn-cgi/handler/scheduled)`);

  // Rebuild and reload on changes to the Worker's sources.
  let pending: NodeJS.Timeout | null = null;
  const watcher = watch(new URL("../src/", import.meta.url).pathname, { recursive: true }, () => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      try {
        const scriptPath = build();
        mf.setOptions(options(scriptPath)).then(() => log("reloaded"), (e: unknown) => log(`reload failed: ${String(e)}`));
      } catch {
        log("build failed; still serving the previous build");
      }
    }, 300);
  });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    watcher.close();
    stopCrons();
    removeStack();
    await mf.dispose().catch(() => {});
    await db.close().catch(() => {});
    process.exit(code);
  };
  // Miniflare installs exit hooks that end the process at once; this script stops things in order itself
  // (workerd, then the database, which must close cleanly), so it takes those signals over.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void stop(0));
  }
}

main().catch((err) => {
  console.error(`[flowgate] could not start: ${err instanceof Error ? err.message : String(err)}`);
  removeStack();
  process.exit(1);
});
