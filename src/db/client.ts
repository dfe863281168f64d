/**
 * The Worker's database access: a Neon serverless client over WebSocket, opened per request (workerd does not
 * let one request use another's socket) and closed after the response.
 */
import { Client } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { PgDatabase } from "drizzle-orm/pg-core";
import type { Config } from "../config";
import { DB_QUERY_TIMEOUT_MS } from "../constants";
import { GatewayError } from "../errors";
import { schema, type Schema } from "./schema";

// Any drizzle PostgreSQL database over flowgate's schema: the Worker's (Neon) and the CLI's (node-postgres).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Database = PgDatabase<any, Schema>;

export class DatabaseUnavailable extends GatewayError {
  constructor() {
    super("AUTH_BACKEND_UNAVAILABLE", "the credential store is unavailable; try again shortly");
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("database timeout")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs `work` with a fresh connection. Any failure to connect or query, or a timeout, becomes
 * `DatabaseUnavailable` (503): callers never treat "could not ask" as an answer.
 */
export async function withDatabase<T>(config: Config, work: (db: Database) => Promise<T>, timeoutMs = DB_QUERY_TIMEOUT_MS): Promise<T> {
  const client = new Client({ connectionString: config.databaseUrl });
  if (config.dbWsProxy) {
    const proxy = config.dbWsProxy;
    client.neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    client.neonConfig.useSecureWebSocket = false;
    client.neonConfig.pipelineConnect = false;
    client.neonConfig.forceDisablePgSSL = true;
  }
  // Unhandled 'error' events from a dropped socket must not crash the isolate.
  client.on("error", () => {});
  try {
    return await withTimeout(
      (async () => {
        await client.connect();
        return work(drizzle(client, { schema }));
      })(),
      timeoutMs,
    );
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new DatabaseUnavailable();
  } finally {
    client.end().catch(() => {});
  }
}
