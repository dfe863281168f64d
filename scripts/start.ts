/**
 * `npm start`: the whole gateway on one machine.
 * - PostgreSQL: embedded PGlite under .data/pglite (or DATABASE_URL), migrated, behind the WebSocket bridge the
 *   Neon driver uses, exactly as it reaches Neon in production;
 * - the Worker's deployable bundle on workerd through Miniflare's API (scripts/worker-runtime.ts), served on
 *   127.0.0.1:$PORT (8787) by a socket of its own: KV persisted under .data/kv, the cron run on its schedule and
 *   on demand at /cdn-cgi/handler/scheduled on Miniflare's entry port (printed, and in .data/stack.json), the
 *   bundle rebuilt and reloaded when src/ changes;
 * - every contract variable in the environment overrides wrangler.toml's [vars] and .dev.vars.
 * Before it touches anything it checks, and refuses with one line each: the configuration (the Worker's own
 * schema, src/config.ts, naming every bad variable and why), a stack already running on .data/ (its pid, from
 * .data/stack.json: a second PGlite on the same directory loses data), and the port.
 * Not `wrangler dev`: its proxy cannot hold 50 clients on 1 MB answers (see README). Ctrl-C stops everything.
 */
import { watch } from "node:fs";
import { createServer } from "node:net";
import type { Env } from "../src/config.ts";
import { configFor } from "../src/readConfig.ts";
import { startLocalDatabase } from "./local-db.ts";
import { DATA_DIR, PGLITE_DIR, claimStack, describeHolder, type Claim } from "./stack-file.ts";
import { SESSION_SECRET_FILE, localTokenSecret } from "./token-secret.ts";
import { buildWorker, localVariables, runtimeOptions, scheduleCrons, startRuntime, wranglerFacts } from "./worker-runtime.ts";

const log = (m: string) => console.log(`[flowgate] ${m}`);

/** Ends the process with one line, having created nothing. */
class Refusal extends Error {}

/**
 * The configuration as the Worker will read it, through its own schema (src/config.ts): every bad variable named
 * with what is wrong, never its value. The database variables are the stack's own and filled in later; stand-ins
 * take their place here.
 */
function checkConfiguration(vars: Record<string, string>): void {
  const env = {
    ...vars,
    DATABASE_URL: vars.DATABASE_URL || "postgres://flowgate@127.0.0.1:5432/flowgate",
    KEY_CACHE: { get: () => null },
  } as unknown as Env;
  const result = configFor(env);
  if (result.ok) return;
  const problems = result.error.message.replace(/^invalid configuration: /, "").split("; ");
  throw new Refusal(`refusing to start: bad configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 8787;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Refusal(`refusing to start: PORT: must be a port number (0-65535)`);
  return port;
}

/** Whether the gateway's port is free, asked before the database is opened (a busy port used to fail later, in workerd). */
function checkPortFree(port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Refusal(`refusing to start: 127.0.0.1:${port} is in use (${err.code}); set PORT to a free port`)),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

let claim: Claim | null = null;

async function main() {
  const port = parsePort(process.env.PORT);
  const facts = wranglerFacts();
  checkConfiguration(localVariables(facts));
  const claimed = claimStack("stack");
  if ("holder" in claimed)
    throw new Refusal(
      `refusing to start: ${describeHolder(claimed.holder)}; stop it first (Ctrl-C in its terminal, or kill ${claimed.holder.pid})`,
    );
  claim = claimed.claim;
  await checkPortFree(port);
  const db = await startLocalDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: PGLITE_DIR });
  const vars = localVariables(facts);
  // Conductor SDK logins and the console's session need secrets: the local stack's own unless set (scripts/token-secret.ts).
  const bindings = {
    ...vars,
    GATEWAY_TOKEN_SECRET: vars.GATEWAY_TOKEN_SECRET || localTokenSecret(),
    SESSION_SECRETS: vars.SESSION_SECRETS || localTokenSecret(SESSION_SECRET_FILE),
    DATABASE_URL: db.workerDatabaseUrl,
    DB_WS_PROXY: db.wsProxy,
  };
  log(`database: ${db.kind}${db.kind === "pglite" ? ` (${PGLITE_DIR})` : ""}, bridge ${db.wsProxy}`);

  const build = () => buildWorker(`${DATA_DIR}build`);
  const options = (scriptPath: string) =>
    runtimeOptions({
      scriptPath,
      port,
      bindings,
      kvPersist: `${DATA_DIR}kv`,
      durableObjectsPersist: `${DATA_DIR}do`,
      compatibilityDate: facts.compatibilityDate,
    });
  let runtime: Awaited<ReturnType<typeof startRuntime>>;
  try {
    runtime = await startRuntime({
      scriptPath: build(),
      port,
      bindings,
      kvPersist: `${DATA_DIR}kv`,
      durableObjectsPersist: `${DATA_DIR}do`,
      compatibilityDate: facts.compatibilityDate,
    });
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  const { mf, url, entryUrl } = runtime;
  claim.update({ nodeDatabaseUrl: db.nodeDatabaseUrl, databaseKind: db.kind, gatewayUrl: url, schedulerUrl: entryUrl });
  const stopCrons = scheduleCrons(mf, facts.crons, log);
  log(`gateway on ${url} (cron ${facts.crons.join(", ")}; on demand: ${entryUrl}/cdn-cgi/handler/scheduled)`);

  // Rebuild and reload on changes to the Worker's sources.
  let pending: NodeJS.Timeout | null = null;
  const watcher = watch(new URL("../src/", import.meta.url).pathname, { recursive: true }, () => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      try {
        const scriptPath = build();
        mf.setOptions(options(scriptPath)).then(
          () => log("reloaded"),
          (e: unknown) => log(`reload failed: ${String(e)}`),
        );
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
    claim?.release();
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
  if (err instanceof Refusal) console.error(`[flowgate] ${err.message}`);
  else console.error(`[flowgate] could not start: ${err instanceof Error ? err.message : String(err)}`);
  claim?.release(); // only this process's own claim: a refusal has none
  process.exit(1);
});
