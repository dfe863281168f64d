/**
 * vitest global setup (runs in Node, once per run): a real PostgreSQL for the Worker to reach through the Neon
 * driver (PGlite behind the WebSocket bridge, or the server named by TEST_DATABASE_URL, in a scratch database of
 * this run's own), flowgate's migrations, a first admin key, and the stub servers.
 */
import type { TestProject } from "vitest/node";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { createScratchDatabase, startLocalDatabase } from "../../scripts/local-db.ts";
import { schema } from "../../src/db/schema.ts";
import { createKey } from "../../src/store/keys.ts";
import { startStubs } from "./stubs.ts";

export default async function setup(project: TestProject) {
  const server = process.env.TEST_DATABASE_URL;
  const scratch = server ? await createScratchDatabase(server, "test") : null;
  const db = await startLocalDatabase({ databaseUrl: scratch?.url });
  const stubs = await startStubs();

  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const { key } = await createKey(drizzle(client, { schema }), {
    tenant: "ops",
    subject: "test-admin",
    scopes: ["admin"],
    createdBy: "test-setup",
  });
  await client.end();

  project.provide("databaseUrl", db.workerDatabaseUrl);
  project.provide("wsProxy", db.wsProxy);
  project.provide("databaseKind", db.kind);
  project.provide("adminKey", key);
  project.provide("stubPort", stubs.port);
  project.provide("idpPrivateJwk", stubs.idpPrivateJwk);
  console.log(`[flowgate tests] database: ${db.kind}${scratch ? ` (scratch database on ${new URL(server!).host})` : ""}`);

  return async () => {
    await stubs.close();
    await db.close();
    await scratch?.drop();
  };
}
