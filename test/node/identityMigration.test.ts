/**
 * Issue 25, class 4, at start: a database that already holds two spellings of one tenant, workspace or subject is
 * refused by `migrateDatabase` (what `npm start`, the CLI and the test setup run), naming the pair and changing
 * nothing: the rows stay, and migration 0005 is not recorded as applied.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { migrateDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db";

let db: LocalDatabase;
beforeAll(async () => {
  db = await startLocalDatabase();
});
afterAll(async () => {
  await db.close();
});

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * The database as it was before migration 0005_identity_folds: emptied, then migrated with the migrations before it
 * only (a copy of the journal that stops there), so later migrations never stand in the way.
 */
async function beforeIdentityFolds() {
  await sql("drop schema if exists drizzle cascade");
  await sql("drop schema public cascade");
  await sql("create schema public");
  const folder = new URL("../../migrations/", import.meta.url).pathname;
  const journal = JSON.parse(readFileSync(`${folder}meta/_journal.json`, "utf8")) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((e) => e.tag === "0005_identity_folds");
  const before = mkdtempSync(join(tmpdir(), "flowgate-before-0005-"));
  mkdirSync(join(before, "meta"));
  writeFileSync(join(before, "meta", "_journal.json"), JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }));
  for (const e of journal.entries.slice(0, cut)) copyFileSync(`${folder}${e.tag}.sql`, join(before, `${e.tag}.sql`));
  const c = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await c.connect();
  try {
    await migrate(drizzle(c), { migrationsFolder: before });
  } finally {
    await c.end();
    rmSync(before, { recursive: true, force: true });
  }
}

describe("names under folding, at start", () => {
  it("migration 0005 stops on tenants acme and ACME, naming them; nothing changes, and it applies once one is gone", async () => {
    await beforeIdentityFolds();
    const applied = (await sql(`select count(*)::int as n from drizzle.__drizzle_migrations`))[0]!.n;
    await sql(`insert into tenants (name) values ('acme'), ('ACME'), ('globex')`);
    const err = await migrateDatabase(db.nodeDatabaseUrl).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/tenant names "ACME" and "acme" are one name under case folding/);
    expect(err?.message).toContain("nothing was changed");
    expect((await sql(`select name from tenants order by name`)).map((r) => r.name)).toEqual(["ACME", "acme", "globex"]);
    expect((await sql(`select count(*)::int as n from drizzle.__drizzle_migrations`))[0]!.n).toBe(applied);
    expect(await sql(`select 1 from pg_indexes where indexname = 'tenants_name_folded_idx'`)).toEqual([]);

    // The operator merges one into the other (docs/storage.md); then the migration applies.
    await sql(`delete from tenants where name = 'ACME'`);
    await migrateDatabase(db.nodeDatabaseUrl);
    expect(await sql(`select 1 from pg_indexes where indexname = 'tenants_name_folded_idx'`)).toHaveLength(1);
  });

  it("migration 0005 stops on two workspaces of one name under case folding", async () => {
    await beforeIdentityFolds();
    await sql(`insert into workspaces (name, role_groups, updated_by) values ('team-a', '[]', 't'), ('Team-A', '[]', 't')`);
    await expect(migrateDatabase(db.nodeDatabaseUrl)).rejects.toThrow(/workspace names "Team-A" and "team-a" are one name/);
    expect((await sql(`select name from workspaces order by name`)).map((r) => r.name)).toEqual(["Team-A", "team-a"]);
    await sql(`delete from workspaces where name = 'Team-A'`);
    await migrateDatabase(db.nodeDatabaseUrl);
  });

  it("the check after migrating refuses two subjects of one identity under folding (accents too), naming them, changing nothing", async () => {
    await sql(`insert into tenants (name) values ('fold-t') on conflict do nothing`);
    await sql(
      `insert into api_keys (id, prefix, secret_hash, tenant, subject, created_by) values
         ('aaaaaaaaaaa1', 'fgk_a', 'h1', 'fold-t', 'Zoé', 't'), ('aaaaaaaaaaa2', 'fgk_b', 'h2', 'fold-t', 'zoe', 't')`,
    );
    const err = await migrateDatabase(db.nodeDatabaseUrl).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/subject names "(Zoé|zoe)" and "(Zoé|zoe)" are one name under folding/);
    expect(err?.message).toContain("nothing was changed");
    expect((await sql(`select subject from api_keys where tenant = 'fold-t' order by id`)).map((r) => r.subject)).toEqual(["Zoé", "zoe"]);
    // Rolled back: not even the subject that was first is claimed.
    expect(await sql(`select * from subjects`)).toEqual([]);
    await sql(`delete from api_keys where id = 'aaaaaaaaaaa2'`);
    await migrateDatabase(db.nodeDatabaseUrl);
    expect((await sql(`select subject from subjects`)).map((r) => r.subject)).toEqual(["Zoé"]);
  });
});
