/**
 * The operator CLI (`npm run admin`), run as a user runs it, against a real database.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db";

const run = promisify(execFile);
let db: LocalDatabase;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;

async function admin(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/admin.ts", ...args], {
      env: { ...process.env, DATABASE_URL: db.nodeDatabaseUrl, ...env },
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

// PGlite by default; with TEST_DATABASE_URL, a scratch database of this run's own on that server.
beforeAll(async () => {
  const server = process.env.TEST_DATABASE_URL;
  scratch = server ? await createScratchDatabase(server, "cli") : null;
  db = await startLocalDatabase({ databaseUrl: scratch?.url });
}, 120_000); // PGlite takes over 10 s to start on a loaded machine
afterAll(async () => {
  await db.close();
  await scratch?.drop();
});

describe("npm run admin", () => {
  it("creates an admin key once, shown in plaintext only then, and lists it", async () => {
    const created = await admin(["keys", "create", "--tenant", "ops", "--subject", "root", "--admin", "--scopes", "query/*", "--json"]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.out) as { id: string; key: string; scopes: string[]; admin: boolean };
    expect(key.key).toMatch(/^fgk_/);
    expect(key.admin).toBe(true);
    expect(key.scopes.sort()).toEqual(["admin", "query/*"]);
    const listed = await admin(["keys", "list", "--json"]);
    expect(listed.out).toContain(key.id);
    expect(listed.out).not.toContain(key.key);
    const tenants = JSON.parse((await admin(["tenants", "list", "--json"])).out) as { tenants: { name: string }[] };
    expect(tenants.tenants.map((t) => t.name)).toContain("ops");
  });

  it("revokes and rotates by id, and refuses bad input with a clear message and exit code 2", async () => {
    const { id } = JSON.parse((await admin(["keys", "create", "--tenant", "acme", "--subject", "svc", "--json"])).out) as { id: string };
    const rotated = JSON.parse((await admin(["keys", "rotate", id, "--grace", "60", "--json"])).out) as { id: string; key: string };
    expect(rotated.id).not.toBe(id);
    const revoked = JSON.parse((await admin(["keys", "revoke", rotated.id, "--json"])).out) as { revokedAt: string };
    expect(revoked.revokedAt).toBeTruthy();
    const bad = await admin(["keys", "create", "--tenant", "a_b", "--subject", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("--tenant");
    expect((await admin(["keys", "revoke", "nope"])).code).toBe(2);
    // A reserved tenant name (the shared GLOBAL___ Conductor names), in any case, is refused everywhere it is named.
    for (const args of [
      ["keys", "create", "--tenant", "global", "--subject", "x"],
      ["tenants", "add", "GLOBAL"],
      ["keys", "create", "--tenant", "ops", "--subject", "w", "--serves-tenants", "Global"],
    ]) {
      const refused = await admin(args);
      expect(refused.code, args.join(" ")).toBe(2);
      expect(refused.out).toContain("GLOBAL");
    }
    expect((await admin(["frobnicate"])).code).toBe(2);
  });

  it("manages workspaces: list and list-of-lists policies, show, delete (the policy only)", async () => {
    const a = JSON.parse((await admin(["workspaces", "put", "team-a", "--roles", "a,b", "--description", "Team A", "--json"])).out) as {
      roleGroups: string[][];
      created: boolean;
    };
    expect(a).toMatchObject({ roleGroups: [["a", "b"]], created: true });
    // With the grants a submitted Argo spec is checked against (issue 25).
    const grants = ["--pod-security", "restricted", "--service-accounts", "runner,etl", "--capabilities", "metrics"];
    const b = JSON.parse(
      (await admin(["workspaces", "put", "team-b", "--roles-json", '[["c"],["d","e"]]', "--hide", ...grants, "--json"])).out,
    ) as {
      roleGroups: string[][];
      hideForUnauthorized: boolean;
    };
    expect(b).toMatchObject({
      roleGroups: [["c"], ["d", "e"]],
      hideForUnauthorized: true,
      podSecurity: "restricted",
      serviceAccounts: ["runner", "etl"],
      capabilities: ["metrics"],
    });
    expect(a).toMatchObject({ podSecurity: "baseline", serviceAccounts: [], capabilities: [] });
    const listed = JSON.parse((await admin(["workspaces", "list", "--json"])).out) as { workspaces: { name: string }[] };
    expect(listed.workspaces.map((w) => w.name)).toEqual(["team-a", "team-b"]);
    expect(JSON.parse((await admin(["workspaces", "show", "team-a", "--json"])).out)).toMatchObject({
      name: "team-a",
      description: "Team A",
    });
    expect(JSON.parse((await admin(["workspaces", "delete", "team-b", "--json"])).out)).toEqual({
      deleted: "team-b",
      namespace: "untouched",
    });
    expect((await admin(["workspaces", "put", "Bad_Name", "--roles", "a"])).code).toBe(2);
    expect((await admin(["workspaces", "put", "team-c", "--roles-json", "[[]]"])).code).toBe(2);
    expect((await admin(["workspaces", "delete", "team-b"])).code).toBe(2);
  });

  it("imports the replaced Prefect proxy's keys idempotently", async () => {
    const c = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await c.connect();
    await c.query(`create table prefect_api_keys (user_id varchar(128) primary key, scopes varchar(2000) not null, api_key varchar(128) not null,
      key_issu_dt timestamp not null, key_expr_dt timestamp not null, creatd_dt timestamp, last_updatd_dt timestamp, creatd_by varchar(11), last_updatd_by varchar(11))`);
    await c.query(`insert into prefect_api_keys values ('USERID', 'mutation/*, query/*', 'TestKey001', '2021-12-27', '2099-12-31', now(), now(), 'A', 'A'),
      ('NOSCOPE', '', 'TestKey002', '2021-12-27', '2099-12-31', now(), now(), 'A', 'A')`);
    await c.end();
    const first = JSON.parse((await admin(["keys", "import-prefect", "--from", db.nodeDatabaseUrl, "--tenant", "prefect", "--json"])).out);
    expect(first.created.map((r: { subject: string }) => r.subject)).toEqual(["USERID"]);
    expect(first.refused).toEqual([{ subject: "NOSCOPE", reason: "no scopes" }]);
    const again = JSON.parse((await admin(["keys", "import-prefect", "--from", db.nodeDatabaseUrl, "--json"])).out);
    expect(again.created).toEqual([]);
    expect(again.skipped.map((r: { subject: string }) => r.subject)).toEqual(["USERID"]);
  });

  it("sets, lists, switches and deletes a rate limit, and reads usage", async () => {
    const set = await admin([
      "limits",
      "set",
      "--kind",
      "tenant",
      "--target",
      "acme",
      "--group",
      "prefect",
      "--rate",
      "100",
      "--window",
      "60",
      "--quota",
      "5000",
      "--period",
      "day",
      "--shadow",
      "--json",
    ]);
    expect(set.code, set.out).toBe(0);
    const limit = JSON.parse(set.out.split("\n").find((l) => l.startsWith("{"))!) as {
      id: string;
      mode: string;
      rate: { limit: number };
      quota: { limit: number; period: string };
    };
    expect(limit).toMatchObject({ mode: "shadow", rate: { limit: 100 }, quota: { limit: 5000, period: "day" } });
    const listed = JSON.parse((await admin(["limits", "list", "--json"])).out) as { limits: { id: string }[] };
    expect(listed.limits.map((l) => l.id)).toContain(limit.id);
    const enforced = JSON.parse((await admin(["limits", "mode", limit.id, "enforce", "--json"])).out) as { mode: string };
    expect(enforced.mode).toBe("enforce");
    const bad = await admin(["limits", "set", "--kind", "tenant", "--target", "a_b", "--rate", "0", "--window", "60"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("--target");
    expect((await admin(["limits", "delete", limit.id])).code).toBe(0);
    expect((await admin(["limits", "delete", limit.id])).code).toBe(2);

    const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await client.connect();
    const hour = new Date(Date.now() - (Date.now() % 3_600_000));
    await client.query(
      "INSERT INTO usage_counters (resolution, bucket_start, tenant, subject, key_id, route_group, requests, cost, refused) VALUES ('hour', $1, 'acme', 'ci', '', 'prefect', 7, 42, 1)",
      [hour],
    );
    await client.end();
    const usage = JSON.parse((await admin(["usage", "--tenant", "acme", "--resolution", "hour", "--json"])).out) as {
      usage: { cost: number; requests: number }[];
    };
    expect(usage.usage).toEqual([expect.objectContaining({ subject: "ci", cost: 42, requests: 7, refused: 1 })]);
  });
});
