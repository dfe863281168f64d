/**
 * The local database bridge under concurrency: PGlite runs one session at a time, so the bridge serializes whole
 * sessions; interleaved transactions from many clients must still each see their own statements only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startLocalDatabase, type LocalDatabase } from "../../scripts/local-db";

let db: LocalDatabase;
beforeAll(async () => {
  db = await startLocalDatabase();
});
afterAll(async () => {
  await db.close();
});

describe("database bridge (PGlite)", () => {
  it("keeps 20 concurrent transactional sessions apart", async () => {
    const setup = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await setup.connect();
    await setup.query("create table if not exists bridge_check (session int, n int)");
    await setup.end();
    await Promise.all(
      Array.from({ length: 20 }, async (_, session) => {
        const c = new pg.Client({ connectionString: db.nodeDatabaseUrl });
        await c.connect();
        await c.query("begin");
        for (let n = 0; n < 5; n++) await c.query("insert into bridge_check values ($1, $2)", [session, n]);
        if (session % 2 === 0) await c.query("rollback");
        else await c.query("commit");
        await c.end();
      }),
    );
    const check = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await check.connect();
    const { rows } = await check.query("select session, count(*)::int as n from bridge_check group by session order by session");
    await check.end();
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => ({ session: 2 * i + 1, n: 5 })));
  });

  it("frees the session of a client that disappears mid-transaction", async () => {
    const c = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await c.connect();
    await c.query("begin");
    await c.query("insert into bridge_check values (99, 1)");
    // The client vanishes without commit or Terminate.
    c.on("error", () => {});
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const next = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await next.connect();
    const { rows } = await next.query("select count(*)::int as n from bridge_check where session = 99");
    await next.end();
    expect(rows[0].n).toBe(0);
  });
});
