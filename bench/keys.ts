/**
 * The keys the benchmarks authenticate with, written straight into the local database (src/store/keys.ts), as the
 * operator CLI would: one connection, the keys created, closed.
 */
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { schema } from "../src/db/schema.ts";
import { createKey } from "../src/store/keys.ts";

type NewKey = Parameters<typeof createKey>[1];

/** The GraphQL caller of the benchmarks: any query, and the one audited mutation they send. */
export const GRAPHQL_CALLER: NewKey = {
  tenant: "bench",
  subject: "bench",
  scopes: ["query/*", "mutation/create_flow_run"],
  createdBy: "bench",
};

/** Creates the keys in order; their plaintext, in the same order. */
export async function createBenchKeys(nodeDatabaseUrl: string, keys: NewKey[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: nodeDatabaseUrl });
  await client.connect();
  try {
    const db = drizzle(client, { schema });
    const out: string[] = [];
    for (const k of keys) out.push((await createKey(db, k)).key);
    return out;
  } finally {
    await client.end();
  }
}
