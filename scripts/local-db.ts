/**
 * Starts the database side of the local stack and of the test runs: an embedded PGlite (or a real PostgreSQL
 * named by a URL) behind the WebSocket bridge, with flowgate's migrations applied.
 *
 * Returns what the Worker needs (`workerDatabaseUrl` + `wsProxy`) and what Node tools need (`nodeDatabaseUrl`).
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { startBridge, type Bridge } from "./db-bridge.ts";
import { schema } from "../src/db/schema.ts";
import { describeCollisions, storedIdentityCollisions } from "../src/store/identities.ts";

export interface LocalDatabase {
  /** Connection string the Worker gives the Neon driver. */
  workerDatabaseUrl: string;
  /** `127.0.0.1:<port>` of the WebSocket bridge (the Worker's `DB_WS_PROXY`). */
  wsProxy: string;
  /** Connection string for node-postgres (CLI, migrations, test fixtures); goes through the session lock. */
  nodeDatabaseUrl: string;
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export interface LocalDatabaseOptions {
  /** A real PostgreSQL server; when absent, PGlite is used. */
  databaseUrl?: string;
  /** PGlite data directory; in memory when absent. */
  dataDir?: string;
  wsPort?: number;
  tcpPort?: number;
  /** Apply flowgate's migrations (default); false leaves the database as it is, for a caller that migrates it its own way. */
  migrate?: boolean;
}

export async function startLocalDatabase(opts: LocalDatabaseOptions = {}): Promise<LocalDatabase> {
  if (opts.databaseUrl) {
    const url = new URL(opts.databaseUrl);
    const bridge = await startBridge({
      target: { host: url.hostname, port: Number(url.port || 5432) },
      serialize: false,
      wsPort: opts.wsPort,
      tcpPort: opts.tcpPort,
    });
    const db: LocalDatabase = {
      kind: "postgres",
      workerDatabaseUrl: opts.databaseUrl,
      wsProxy: `127.0.0.1:${bridge.wsPort}`,
      nodeDatabaseUrl: opts.databaseUrl,
      close: () => bridge.close(),
    };
    if (opts.migrate !== false) await migrateDatabase(db.nodeDatabaseUrl);
    return db;
  }

  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const pglite = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const socketServer = new PGLiteSocketServer({ db: pglite, port: 0, host: "127.0.0.1", maxConnections: 1000 });
  await socketServer.start();
  const internalPort = Number(socketServer.getServerConn().split(":").pop());
  let bridge: Bridge;
  try {
    bridge = await startBridge({
      target: { host: "127.0.0.1", port: internalPort },
      serialize: true,
      wsPort: opts.wsPort,
      tcpPort: opts.tcpPort,
    });
  } catch (err) {
    await socketServer.stop();
    await pglite.close();
    throw err;
  }
  const db: LocalDatabase = {
    kind: "pglite",
    workerDatabaseUrl: `postgres://postgres@127.0.0.1:${bridge.tcpPort}/postgres`,
    wsProxy: `127.0.0.1:${bridge.wsPort}`,
    nodeDatabaseUrl: `postgres://postgres@127.0.0.1:${bridge.tcpPort}/postgres`,
    close: async () => {
      await bridge.close();
      await socketServer.stop();
      await pglite.close();
    },
  };
  if (opts.migrate !== false) await migrateDatabase(db.nodeDatabaseUrl);
  return db;
}

/**
 * Applies flowgate's migrations, then refuses to go on (naming each pair, changing nothing) when the database
 * holds two tenants, workspaces or subjects that are one name under folding (src/formats/identityFold.ts).
 */
export async function migrateDatabase(nodeDatabaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: nodeDatabaseUrl });
  await client.connect();
  try {
    try {
      await migrate(drizzle(client), { migrationsFolder: new URL("../migrations", import.meta.url).pathname });
    } catch (err) {
      // drizzle wraps the database's error in "Failed query: <the whole migration>"; the operator needs the reason.
      const cause = (err as { cause?: unknown }).cause;
      throw cause instanceof Error ? new Error(`migration failed: ${cause.message}`, { cause: err }) : err;
    }
    await checkStoredIdentities(drizzle(client, { schema }));
  } finally {
    await client.end();
  }
}

export class IdentityCollision extends Error {}

/** The check at start: in one transaction, rolled back when it finds a pair, so a refusal changes nothing. */
export async function checkStoredIdentities(db: Parameters<typeof storedIdentityCollisions>[0]): Promise<void> {
  await db.transaction(async (tx) => {
    const collisions = await storedIdentityCollisions(tx);
    if (collisions.length > 0)
      throw new IdentityCollision(
        `the database holds names that are one identity under folding (a case-insensitive store behind Conductor merges them); nothing was changed. Move everything of one onto the other (docs/storage.md, "Names under folding"):\n${describeCollisions(collisions)}`,
      );
  });
}

/** Creates a database of its own for one run on a shared server; `drop` removes it. */
export async function createScratchDatabase(serverUrl: string, label: string) {
  const name = `flowgate_${label}_${process.pid}_${Date.now().toString(36)}`.toLowerCase();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
