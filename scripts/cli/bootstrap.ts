/**
 * The first admin key of a deployment: the one thing the CLI writes to the database itself, because no admin
 * credential exists yet to ask the gateway with. Everything else goes through the admin API.
 *
 * It refuses when the database already holds a usable admin key (then that key, or one made with it, is the way
 * in), unless `--break-glass` says the operator lost every admin key; either way the creation is written to the
 * audit trail with the operating-system user who ran it.
 *
 * The database: DATABASE_URL (a PostgreSQL server, which takes many sessions); else the running stack's, through
 * its bridge (.data/stack.json); else the local PGlite, opened only after claiming it (scripts/stack-file.ts), so a
 * `npm start` begun meanwhile refuses instead of opening it too.
 */
import { and, arrayContains, gt, isNull, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { CreateKeyBody } from "../../src/admin/validation.ts";
import type { Database } from "../../src/db/client.ts";
import { apiKeys, schema } from "../../src/db/schema.ts";
import { insertAuditEvents } from "../../src/store/audit.ts";
import { createKey, toKeyView, type KeyView } from "../../src/store/keys.ts";
import { migrateDatabase, startLocalDatabase } from "../local-db.ts";
import { PGLITE_DIR, claimStack, describeHolder, readStack } from "../stack-file.ts";
import { UsageError } from "./errors.ts";

async function withDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
  let close = async () => {};
  let connectionString = process.env.DATABASE_URL;
  if (connectionString) {
    await migrateDatabase(connectionString);
  } else {
    const holder = readStack();
    if (holder?.role === "stack" && holder.nodeDatabaseUrl) {
      connectionString = holder.nodeDatabaseUrl;
    } else {
      const claimed = holder ? { holder } : claimStack("cli");
      if ("holder" in claimed) throw new UsageError(`${describeHolder(claimed.holder)}; try again in a moment`);
      try {
        const local = await startLocalDatabase({ dataDir: PGLITE_DIR });
        connectionString = local.nodeDatabaseUrl;
        close = async () => {
          await local.close();
          claimed.claim.release();
        };
      } catch (err) {
        claimed.claim.release();
        throw err;
      }
    }
  }
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(drizzle(client, { schema }));
  } finally {
    await client.end();
    await close();
  }
}

/** Admin keys that would let an operator in now: not revoked, not expired. */
async function usableAdminKeys(db: Database): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(apiKeys)
    .where(
      and(
        arrayContains(apiKeys.scopes, ["admin"]),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, new Date())),
      ),
    );
  return row?.n ?? 0;
}

export const operatorName = () => `cli:${process.env.USER ?? "operator"}`;

/** Creates the first admin key from `body` (the `keys create` flags, as the admin API would take them). */
export async function bootstrapAdminKey(body: Record<string, unknown>, breakGlass: boolean): Promise<KeyView & { key: string }> {
  const parsed = CreateKeyBody.safeParse(body);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0] ?? "?")}: ${i.message}`).join("; "));
  return withDb(async (db) => {
    const existing = await usableAdminKeys(db);
    if (existing > 0 && !breakGlass) {
      throw new UsageError(
        `this database already has ${existing} admin key(s): set FLOWGATE_ADMIN_KEY to one of them (the CLI then asks the gateway), or, if every one is lost, run again with --break-glass`,
      );
    }
    const { key, row } = await createKey(db, { ...parsed.data, admin: true, createdBy: operatorName() });
    await insertAuditEvents(db, [
      {
        action: "key.create",
        decision: "done",
        actorSubject: operatorName(),
        tenant: row.tenant,
        target: row.id,
        details: { door: "cli-bootstrap", breakGlass, scopes: row.scopes },
      },
    ]);
    return { ...toKeyView(row), key };
  });
}
