/**
 * The operator CLI (`npm run admin`), run as a user runs it: a client of the admin API of a real gateway (the
 * deployable bundle on workerd) over a database of this file's own, which the first admin key is bootstrapped into.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Miniflare } from "miniflare";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, startLocalDatabase, type LocalDatabase } from "../../scripts/local-db";
import { buildWorker, startRuntime, wranglerFacts } from "../../scripts/worker-runtime";
import { COMMANDS } from "../../scripts/cli/commands";

const run = promisify(execFile);
let db: LocalDatabase;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
let mf: Miniflare;
let gateway: string;
let buildDir: string;
let adminKey = "";
/** No config file of the developer's running this: each test names what it uses. */
const noConfig = join(tmpdir(), `flowgate-cli-test-none-${process.pid}.json`);

async function admin(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "scripts/admin.ts", ...args], {
      env: { ...process.env, FLOWGATE_CONFIG: noConfig, FLOWGATE_URL: gateway, FLOWGATE_ADMIN_KEY: adminKey, DATABASE_URL: "", ...env },
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}
const json = <T>(r: { code: number; out: string }): T => {
  expect(r.code, r.out).toBe(0);
  return JSON.parse(r.out) as T;
};

// PGlite by default; with TEST_DATABASE_URL, a scratch database of this run's own on that server.
beforeAll(async () => {
  const server = process.env.TEST_DATABASE_URL;
  scratch = server ? await createScratchDatabase(server, "cli") : null;
  db = await startLocalDatabase({ databaseUrl: scratch?.url });
  buildDir = new URL(`../../.data/cli-test-build-${process.pid}`, import.meta.url).pathname;
  mkdirSync(buildDir, { recursive: true });
  ({ mf, url: gateway } = await startRuntime({
    scriptPath: buildWorker(buildDir),
    port: 0,
    compatibilityDate: wranglerFacts().compatibilityDate,
    bindings: { DATABASE_URL: db.workerDatabaseUrl, DB_WS_PROXY: db.wsProxy, LOG_LEVEL: "error" },
    onStdout: () => {},
  }));
}, 180_000); // PGlite and a Worker build take over 10 s each on a loaded machine
afterAll(async () => {
  await mf?.dispose();
  rmSync(buildDir, { recursive: true, force: true });
  await db.close();
  await scratch?.drop();
});

describe("the first admin key", () => {
  it("is written to a new database directly, once, and audited; later ones need an admin key or --break-glass", async () => {
    const bootstrap = ["keys", "create", "--tenant", "ops", "--subject", "root", "--admin", "--scopes", "query/*", "--json"];
    const direct = { FLOWGATE_ADMIN_KEY: "", FLOWGATE_URL: "", DATABASE_URL: db.nodeDatabaseUrl };
    const key = json<{ id: string; key: string; scopes: string[]; admin: boolean }>(await admin(bootstrap, direct));
    expect(key.key).toMatch(/^fgk_/);
    expect(key.scopes.sort()).toEqual(["admin", "query/*"]);
    adminKey = key.key;

    const again = await admin(bootstrap, direct);
    expect(again.code).toBe(2);
    expect(again.out).toContain("already has 1 admin key");
    expect(again.out).toContain("FLOWGATE_ADMIN_KEY");
    expect(json<{ id: string }>(await admin([...bootstrap, "--break-glass"], direct)).id).toMatch(/^[a-z0-9]{12}$/);
    // Without an admin key, nothing but that bootstrap is done.
    const plain = await admin(["keys", "create", "--tenant", "ops", "--subject", "x"], { FLOWGATE_ADMIN_KEY: "" });
    expect(plain.code).toBe(2);
    expect(plain.out).toContain("no admin key");

    const events = json<{ events: { action: string; target: string; details: { door: string; breakGlass: boolean } }[] }>(
      await admin(["audit", "--action", "key.create", "--json"]),
    ).events;
    expect(events.filter((e) => e.details.door === "cli-bootstrap").map((e) => e.details.breakGlass)).toEqual([true, false]);
  });
});

describe("npm run admin, through the admin API", () => {
  it("answers --help on every command, listing the flags from the gateway's own document", async () => {
    const top = await admin(["--help"]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.out).toContain(c.words.join(" "));
    // Four at a time: each is a process of its own.
    for (let i = 0; i < COMMANDS.length; i += 4) {
      await Promise.all(
        COMMANDS.slice(i, i + 4).map(async (c) => {
          const help = await admin([...c.words, "--help"]);
          expect(help.code, c.words.join(" ")).toBe(0);
          expect(help.out).toContain(`(${c.method.toUpperCase()} ${c.path})`);
          expect(help.out).toContain("--json");
        }),
      );
    }
    const create = (await admin(["keys", "create", "--help"])).out;
    expect(create).toMatch(/--tenant +text, required/);
    expect(create).toMatch(/--serves-tenants +comma list/);
    expect(create).toContain("(or --expires)");
    expect((await admin(["frobnicate"])).code).toBe(2);
    expect((await admin(["keys", "frobnicate"])).code).toBe(2);
  }, 240_000);

  it("revokes a key, and the very next request through the gateway is refused; the action is audited with its principal", async () => {
    const k = json<{ id: string; key: string }>(await admin(["keys", "create", "--tenant", "acme", "--subject", "svc", "--json"]));
    const whoami = () => fetch(`${gateway}/whoami`, { headers: { authorization: `Bearer ${k.key}` } }).then((r) => r.status);
    expect(await whoami()).toBe(200); // cached in the isolate and in KV now
    expect(json<{ revokedAt: string }>(await admin(["keys", "revoke", k.id, "--json"])).revokedAt).toBeTruthy();
    expect(await whoami()).toBe(401);
    const events = json<{ events: { action: string; actorSubject: string; target: string; details: { door: string } }[] }>(
      await admin(["audit", "--action", "key.revoke", "--json"]),
    ).events;
    expect(events.find((e) => e.target === k.id)).toMatchObject({ actorSubject: "root", details: { door: "cli" } });
  });

  it("rotates by id, and refuses bad input naming the flag, with exit code 2", async () => {
    const { id } = json<{ id: string }>(await admin(["keys", "create", "--tenant", "acme", "--subject", "svc2", "--json"]));
    const rotated = json<{ id: string; key: string }>(await admin(["keys", "rotate", id, "--grace", "60", "--json"]));
    expect(rotated.id).not.toBe(id);
    const bad = await admin(["keys", "create", "--tenant", "a_b", "--subject", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("--tenant:");
    expect((await admin(["keys", "revoke", "nope"])).code).toBe(2);
    expect((await admin(["keys", "create", "--tenant", "acme", "--subject", "x", "--frob", "1"])).out).toContain("has no --frob");
    expect((await admin(["keys", "create", "--tenant", "acme", "--tenant", "b", "--subject", "x"])).out).toContain("given twice");
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
  });

  it("manages tenants and workspaces: list and list-of-lists policies, show, delete (the policy only)", async () => {
    expect(json<{ created: boolean }>(await admin(["tenants", "add", "globex", "--json"])).created).toBe(true);
    expect(json<{ tenants: { name: string }[] }>(await admin(["tenants", "list", "--json"])).tenants.map((t) => t.name)).toContain(
      "globex",
    );
    const a = json<{ roleGroups: string[][] }>(
      await admin(["workspaces", "put", "team-a", "--roles", "a,b", "--description", "Team A", "--json"]),
    );
    expect(a).toMatchObject({ roleGroups: [["a", "b"]] });
    // With the grants a submitted Argo spec is checked against (issue 25): flags read from the API's own schema.
    const grants = ["--pod-security", "restricted", "--service-accounts", "runner,etl", "--capabilities", "metrics"];
    const b = json<{ roleGroups: string[][]; hideForUnauthorized: boolean }>(
      await admin(["workspaces", "put", "team-b", "--roles-json", '[["c"],["d","e"]]', "--hide", ...grants, "--json"]),
    );
    expect(b).toMatchObject({
      roleGroups: [["c"], ["d", "e"]],
      hideForUnauthorized: true,
      podSecurity: "restricted",
      serviceAccounts: ["runner", "etl"],
      capabilities: ["metrics"],
    });
    const listed = json<{ workspaces: { name: string }[] }>(await admin(["workspaces", "list", "--json"]));
    expect(listed.workspaces.map((w) => w.name)).toEqual(["team-a", "team-b"]);
    expect(json(await admin(["workspaces", "show", "team-a", "--json"]))).toMatchObject({ name: "team-a", description: "Team A" });
    expect(json(await admin(["workspaces", "delete", "team-b", "--json"]))).toEqual({ deleted: "team-b", namespace: "untouched" });
    expect((await admin(["workspaces", "put", "Bad_Name", "--roles", "a"])).code).toBe(2);
    expect((await admin(["workspaces", "put", "team-c", "--roles-json", "[[]]"])).code).toBe(2);
    expect((await admin(["workspaces", "delete", "team-b"])).code).toBe(2);
  });

  it("imports the replaced Prefect proxy's keys through the gateway, idempotently, in batches", async () => {
    const c = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await c.connect();
    await c.query(`create table prefect_api_keys (user_id varchar(128) primary key, scopes varchar(2000) not null, api_key varchar(128) not null,
      key_issu_dt timestamp not null, key_expr_dt timestamp not null, creatd_dt timestamp, last_updatd_dt timestamp, creatd_by varchar(11), last_updatd_by varchar(11))`);
    await c.query(`insert into prefect_api_keys values ('USERID', 'mutation/*, query/*', 'TestKey001', '2021-12-27', '2099-12-31', now(), now(), 'A', 'A'),
      ('NOSCOPE', '', 'TestKey002', '2021-12-27', '2099-12-31', now(), now(), 'A', 'A')`);
    // More rows than one call takes, so the CLI sends them in batches.
    await c.query(`insert into prefect_api_keys select 'bulk' || g, 'query/*', 'BulkKey' || lpad(g::text, 4, '0'), '2021-12-27', '2099-12-31'
      from generate_series(1, 150) g`);
    await c.end();
    const first = json<{ created: { subject: string }[]; refused: unknown[] }>(
      await admin(["keys", "import-prefect", "--from", db.nodeDatabaseUrl, "--tenant", "prefect", "--json"]),
    );
    expect(first.created.map((r) => r.subject)).toContain("USERID");
    expect(first.created).toHaveLength(151);
    expect(first.refused).toEqual([{ subject: "NOSCOPE", reason: "no scopes" }]);
    const again = json<{ created: unknown[]; skipped: { subject: string }[] }>(
      await admin(["keys", "import-prefect", "--from", db.nodeDatabaseUrl, "--tenant", "prefect", "--json"]),
    );
    expect(again.created).toEqual([]);
    expect(again.skipped).toHaveLength(151);
    const imported = await fetch(`${gateway}/whoami`, { headers: { authorization: "Bearer TestKey001" } });
    expect(imported.status).toBe(200);
  });

  it("sets, lists, switches and deletes a rate limit, and reads usage with the documented flags", async () => {
    const limit = json<{ id: string; mode: string; rate: { limit: number }; quota: { limit: number; period: string } }>(
      await admin(
        ["limits", "set", "--kind", "tenant", "--target", "acme", "--group", "prefect", "--rate", "100", "--window", "60"].concat([
          "--quota",
          "5000",
          "--period",
          "day",
          "--shadow",
          "--json",
        ]),
      ),
    );
    expect(limit).toMatchObject({ mode: "shadow", rate: { limit: 100 }, quota: { limit: 5000, period: "day" } });
    expect(json<{ limits: { id: string }[] }>(await admin(["limits", "list", "--json"])).limits.map((l) => l.id)).toContain(limit.id);
    expect(json<{ mode: string }>(await admin(["limits", "mode", limit.id, "enforce", "--json"])).mode).toBe("enforce");
    const bad = await admin(["limits", "set", "--kind", "tenant", "--target", "a_b", "--rate", "0", "--window", "60"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("--target");
    expect((await admin(["limits", "delete", limit.id])).code).toBe(0);
    expect((await admin(["limits", "delete", limit.id])).code).toBe(2);

    const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await client.connect();
    const hour = new Date(Date.now() - (Date.now() % 3_600_000));
    await client.query(
      "INSERT INTO usage_counters (resolution, bucket_start, tenant, subject, key_id, route_group, requests, cost, refused) VALUES ('hour', $1, 'acme', 'ci', '', 'prefect', 7, 42, 1), ('hour', $1, 'globex', 'ci', '', 'prefect', 1, 1, 0)",
      [hour],
    );
    await client.end();
    // The documented form, both flags kept: only acme's row.
    const usage = json<{ usage: { tenant: string; cost: number; requests: number }[] }>(
      await admin(["usage", "--tenant", "acme", "--resolution", "hour", "--json"]),
    );
    expect(usage.usage).toEqual([expect.objectContaining({ tenant: "acme", subject: "ci", cost: 42, requests: 7, refused: 1 })]);
  });

  it("reads its gateway and key from a config file, and refuses one that others may read", async () => {
    const file = join(tmpdir(), `flowgate-cli-test-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ url: gateway, adminKey }), { mode: 0o600 });
    try {
      const status = await admin(["status", "--json"], { FLOWGATE_CONFIG: file, FLOWGATE_URL: "", FLOWGATE_ADMIN_KEY: "" });
      expect(status.code, status.out).toBe(0);
      writeFileSync(file, JSON.stringify({ url: gateway, adminKey }), { mode: 0o644 });
      const { chmodSync } = await import("node:fs");
      chmodSync(file, 0o644);
      const open = await admin(["status"], { FLOWGATE_CONFIG: file, FLOWGATE_URL: "", FLOWGATE_ADMIN_KEY: "" });
      expect(open.code).toBe(2);
      expect(open.out).toContain("chmod 600");
      const clear = await admin(["status"], { FLOWGATE_URL: "http://gateway.example.com" });
      expect(clear.code).toBe(2);
      expect(clear.out).toContain("https is required");
    } finally {
      rmSync(file, { force: true });
    }
  });
});
