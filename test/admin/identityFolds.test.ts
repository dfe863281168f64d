/**
 * Issue 25, class 4: tenant names, workspace names and subjects are unique under folding. A case-insensitive store
 * behind Conductor (MySQL's default collation, accent-insensitive too) holds `acme___x` and `ACME___x` as one
 * row, and finds `Alice`'s executions for `correlationId = 'alice'`; so two spellings of one name never both exist.
 * Checked where each is created (admin API, the stores behind the CLI and the Prefect import) and at start.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import { withDatabase } from "../../src/db/client";
import { apiKeys, subjects, tenants, workspaces } from "../../src/db/schema";
import { foldSubject } from "../../src/formats/identityFold";
import { parseConfig } from "../../src/readConfig";
import { storedIdentityCheck } from "../../src/cron/purge";
import { storedIdentityCollisions } from "../../src/store/identities";
import { createKey, ensureTenant } from "../../src/store/keys";
import { importLegacyPrefectKeys } from "../../src/store/prefectImport";
import { putWorkspace } from "../../src/store/workspaces";
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { asAdmin, bearer, call, errorOf, uniqueTag } from "../helpers";
import { conductorStack } from "../engines/conductor/harness";

const config = (() => {
  const r = parseConfig(env as unknown as Env);
  if (!r.ok) throw r.error;
  return r.config;
})();

const tag = () => uniqueTag("").slice(0, 10);
const tenantNames = async () =>
  ((await (await asAdmin("/admin/tenants")).json()) as { tenants: { name: string }[] }).tenants.map((t) => t.name);

describe("tenants under case folding", () => {
  it("POST /admin/tenants refuses ACME beside acme with a 409 naming both, and creates nothing", async () => {
    const lower = `fold-${tag()}`;
    const upper = lower.toUpperCase();
    expect((await asAdmin("/admin/tenants", { method: "POST", json: { name: lower } })).status).toBe(201);
    for (const other of [upper, `F${lower.slice(1)}`]) {
      const res = await asAdmin("/admin/tenants", { method: "POST", json: { name: other } });
      expect(res.status, other).toBe(409);
      const error = await errorOf(res);
      expect(error.code).toBe("CONFLICT");
      expect(error.message).toContain(`"${other}"`);
      expect(error.message).toContain(`"${lower}"`);
    }
    const names = await tenantNames();
    expect(names).toContain(lower);
    expect(names).not.toContain(upper);
    // The same spelling again is still "exists", not a conflict.
    expect((await asAdmin("/admin/tenants", { method: "POST", json: { name: lower } })).status).toBe(200);
  });

  it("key creation naming Acme where acme exists is refused (409 naming both), not resolved: no key, no tenant", async () => {
    const lower = `kfold-${tag()}`;
    const mixed = `K${lower.slice(1)}`;
    expect((await asAdmin("/admin/keys", { method: "POST", json: { tenant: lower, subject: `s-${lower}` } })).status).toBe(201);
    const res = await asAdmin("/admin/keys", { method: "POST", json: { tenant: mixed, subject: `s2-${lower}` } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain(`tenant "${mixed}" is tenant "${lower}"`);
    expect(await tenantNames()).not.toContain(mixed);
    const keys = (await (await asAdmin(`/admin/keys?subject=s2-${lower}`)).json()) as { keys: unknown[] };
    expect(keys.keys).toEqual([]);
  });

  it("the stores behind the CLI and the Prefect import refuse it too", async () => {
    const lower = `cli-${tag()}`;
    await withDatabase(config, async (db) => {
      await ensureTenant(db, lower);
      await expect(ensureTenant(db, lower.toUpperCase())).rejects.toMatchObject({ status: 409 });
      await expect(createKey(db, { tenant: lower.toUpperCase(), subject: `x-${lower}`, createdBy: "test" })).rejects.toMatchObject({
        status: 409,
      });
      await expect(
        importLegacyPrefectKeys(
          db,
          [{ user_id: "u", scopes: "query/*", api_key: "legacy-key-123456", key_issu_dt: null, key_expr_dt: null }],
          lower.toUpperCase(),
          "t",
        ),
      ).rejects.toMatchObject({ status: 409 });
      const rows = await db.select().from(tenants).where(sql`lower(${tenants.name}) = ${lower}`);
      expect(rows.map((r) => r.name)).toEqual([lower]);
    });
  });

  it("a worker key serving Acme where acme exists is refused (409 naming both): worker keys' tenants are not read again", async () => {
    const lower = `wfold-${tag()}`;
    const mixed = `W${lower.slice(1)}`;
    await withDatabase(config, async (db) => {
      await ensureTenant(db, lower);
      const serving = { tenant: "workers", subject: `w-${lower}`, servesTenants: [mixed], createdBy: "test" };
      await expect(createKey(db, serving)).rejects.toMatchObject({ status: 409 });
      const keys = await db
        .select()
        .from(apiKeys)
        .where(sql`${apiKeys.subject} = ${`w-${lower}`}`);
      expect(keys).toEqual([]);
      // Its own spelling, and a tenant not stored yet, are served as named.
      await createKey(db, { ...serving, servesTenants: [lower, `new-${lower}`] });
    });
  });

  it("the database itself holds the rule: a second spelling written around the store is refused by the unique index", async () => {
    const lower = `idx-${tag()}`;
    await withDatabase(config, async (db) => {
      await db.insert(tenants).values({ name: lower });
      await expect(db.insert(tenants).values({ name: lower.toUpperCase() })).rejects.toThrow();
    });
  });
});

describe("subjects under folding", () => {
  it("the fold merges case, accents, width, compatibility forms and ignorables, as MySQL's _ai_ci collations do", () => {
    const same: [string, string][] = [
      ["alice", "ALICE"],
      ["alice", "Álice"],
      ["alice", "ａｌｉｃｅ"],
      ["alice", "al\u200bice"],
      ["strasse", "Straße"],
      ["kit", "\u212Ait"],
      ["sam", "ſam"],
      ["ann ", "ann"],
      ["office", "oﬃce"],
    ];
    for (const [a, b] of same) expect(foldSubject(a), `${a} / ${b}`).toBe(foldSubject(b));
    const different: [string, string][] = [
      ["alice", "alice2"],
      ["ann@acme.example", "ann@acme.exampie"],
    ];
    for (const [a, b] of different) expect(foldSubject(a)).not.toBe(foldSubject(b));
  });

  it("key creation for a subject another key holds in another spelling is a 409 naming both; the same spelling is fine", async () => {
    const t = tag();
    const subject = `Ann-${t}@acme.example`;
    expect((await asAdmin("/admin/keys", { method: "POST", json: { tenant: "acme", subject } })).status).toBe(201);
    // The same subject again, in any tenant, is one identity: allowed.
    expect((await asAdmin("/admin/keys", { method: "POST", json: { tenant: "ops", subject } })).status).toBe(201);
    // C1 control characters (U+0080..U+009F) are completely ignorable in the Unicode collation MySQL's
    // utf8mb4_0900_ai_ci uses (DUCET), as C0 ones are; key creation refuses only C0 (attack3).
    for (const other of [
      subject.toLowerCase(),
      subject.replace("A", "Á"),
      subject.replace("A", "Ａ"),
      subject.replace("-", "\u0085-"),
      subject.replace("-", "\u009f-"),
    ]) {
      const res = await asAdmin("/admin/keys", { method: "POST", json: { tenant: "acme", subject: other } });
      expect(res.status, other).toBe(409);
      const { message } = await errorOf(res);
      expect(message).toContain(JSON.stringify(other));
      expect(message).toContain(JSON.stringify(subject));
    }
  });

  it("a subject of a key stored before the subjects table meets a new spelling; the Prefect import refuses that row only", async () => {
    const t = tag();
    const old = `Bob-${t}`;
    await withDatabase(config, async (db) => {
      await ensureTenant(db, "acme");
      // A key written around the store, as keys were before migration 0003: no subjects row.
      await db.insert(apiKeys).values({
        id: `o${t}`.slice(0, 12).padEnd(12, "0"),
        prefix: "fgk_x",
        secretHash: `h-${t}`,
        tenant: "acme",
        subject: old,
        createdBy: "t",
      });
      await expect(createKey(db, { tenant: "acme", subject: old.toLowerCase(), createdBy: "t" })).rejects.toMatchObject({ status: 409 });
      const report = await importLegacyPrefectKeys(
        db,
        [
          { user_id: old.toUpperCase(), scopes: "query/*", api_key: `legacy-${t}-a`, key_issu_dt: null, key_expr_dt: null },
          { user_id: old, scopes: "query/*", api_key: `legacy-${t}-b`, key_issu_dt: null, key_expr_dt: null },
        ],
        "acme",
        "t",
      );
      expect(report.refused.map((r) => r.subject)).toEqual([old.toUpperCase()]);
      expect(report.created.map((r) => r.subject)).toEqual([old]);
      const claimed = await db
        .select()
        .from(subjects)
        .where(sql`${subjects.folded} = ${foldSubject(old)}`);
      expect(claimed.map((r) => r.subject)).toEqual([old]);
    });
  });

  it("the check at start (and the cron's) names a pair stored around every check, and changes none of their rows", async () => {
    const t = tag();
    const pair = [`carol-${t}`, `CAROL-${t}`];
    // Assertions stay outside withDatabase, which turns any error inside into a 503; one session at a time (PGlite).
    const found = await withDatabase(config, async (db) => {
      await ensureTenant(db, "acme");
      await db.insert(apiKeys).values(
        pair.map((subject, i) => ({
          id: `p${i}${t}`.slice(0, 12),
          prefix: "fgk_p",
          secretHash: `h${i}-${t}`,
          tenant: "acme",
          subject,
          createdBy: "t",
        })),
      );
      return storedIdentityCollisions(db);
    });
    // The cron repeats the check, for deployments that migrate with drizzle-kit and never run npm start.
    const cron = await storedIdentityCheck(config);
    const rows = await withDatabase(config, async (db) => {
      const rows = await db.select().from(apiKeys).where(sql`lower(${apiKeys.subject}) = ${pair[0]}`);
      // Clean up: the shared database's other tests run the same check.
      await db.delete(apiKeys).where(sql`lower(${apiKeys.subject}) = ${pair[0]}`);
      await db.delete(subjects).where(sql`${subjects.folded} = ${pair[0]}`);
      return rows;
    });
    const mine = found.filter((c) => pair.includes(c.existing));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.kind).toBe("subject");
    expect([mine[0]!.existing, mine[0]!.requested].sort()).toEqual([...pair].sort());
    expect(rows).toHaveLength(2);
    expect(cron?.filter((c) => pair.includes(c.existing))).toEqual(mine);
  });
});

describe("workspaces under case folding", () => {
  it("a workspace spelled otherwise than a stored one is refused by the store (409 naming both) and by the index", async () => {
    const lower = `ws-${tag()}`;
    await withDatabase(config, async (db) => {
      // A row written around the rule (workspace names are lower-case DNS labels at every API).
      await db.insert(workspaces).values({ name: lower.toUpperCase(), roleGroups: [], updatedBy: "t" });
      await expect(
        putWorkspace(db, { name: lower, roleGroups: [], hideForUnauthorized: false, description: null, updatedBy: "t" }),
      ).rejects.toMatchObject({
        status: 409,
        message: expect.stringContaining(`"${lower.toUpperCase()}"`),
      });
      await expect(db.insert(workspaces).values({ name: lower, roleGroups: [], updatedBy: "t" })).rejects.toThrow();
      await db.delete(workspaces).where(sql`${workspaces.name} = ${lower.toUpperCase()}`);
    });
  });
});

describe("tenants an identity provider names", () => {
  it("a JWT naming ACME where acme is stored is refused on Conductor and worker routes (403), nothing sent; its own spelling passes", async () => {
    const stack = await conductorStack("foldjwt");
    const lower = `jwt-${tag()}`;
    expect((await asAdmin("/admin/tenants", { method: "POST", json: { name: lower } })).status).toBe(201);
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const env = { ...stack.env, JWT_PUBLIC_KEYS: await exportSPKI(publicKey) } as Env;
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ sub: `u-${lower}`, scope: "conductor worker", roles: ["OWNER"], ...claims })
        .setProtectedHeader({ alg: "RS256" })
        .setExpirationTime("5m")
        .sign(privateKey);
    for (const other of [lower.toUpperCase(), `J${lower.slice(1)}`]) {
      const res = await call("/conductor/api/metadata/workflow", { env, headers: bearer(await sign({ tenant: other })) });
      expect(res.status, other).toBe(403);
      expect((await errorOf(res)).message).toContain(`is tenant "${lower}" under case folding`);
      const poll = await call("/workers/conductor/api/tasks/poll/batch/job?count=1&timeout=1", {
        env,
        headers: bearer(await sign({ tenant: "ops", serves_tenants: [other] })),
      });
      expect(poll.status, other).toBe(403);
      expect((await errorOf(poll)).message).toContain("under case folding");
    }
    expect(await stack.records()).toHaveLength(0);
    expect((await call("/conductor/api/metadata/workflow", { env, headers: bearer(await sign({ tenant: lower })) })).status).toBe(200);
  });
});
