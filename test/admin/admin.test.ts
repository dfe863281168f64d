import { describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, dbSessions, envWith, errorOf, uniqueTag, wsProxy } from "../helpers";

const ADMIN_ROUTES: [string, string][] = [
  ["POST", "/admin/cache/purge"],
  ["DELETE", "/admin/cache/keys/abcdefabcdef"],
  ["POST", "/admin/logs/debug"],
  ["GET", "/admin/keys"],
  ["POST", "/admin/keys"],
  ["GET", "/admin/keys/abcdefabcdef"],
  ["DELETE", "/admin/keys/abcdefabcdef"],
  ["POST", "/admin/keys/abcdefabcdef/rotate"],
  ["GET", "/admin/tenants"],
  ["POST", "/admin/tenants"],
  ["GET", "/admin/audit"],
];

describe("admin API access", () => {
  it.each(ADMIN_ROUTES)("%s %s: 401 without credential, 403 for a non-admin key", async (method, path) => {
    const anon = await call(path, { method });
    expect(anon.status).toBe(401);
    const { key } = await createTestKey({ subject: "not-admin", scopes: ["query/*", "mutation/*", "conductor"] });
    const res = await call(path, { method, headers: { "x-api-key": key } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("FORBIDDEN");
  });
});

describe("admin keys", () => {
  it("creates a key (tenant created on the fly), shows the plaintext once, and never stores it", async () => {
    const tenant = `t-${uniqueTag("")}`.slice(0, 20);
    const res = await asAdmin("/admin/keys", {
      method: "POST",
      json: { tenant, subject: "svc", email: "svc@example.com", scopes: ["query/*"], roles: ["r"], name: "ci" },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created.key).toMatch(/^fgk_/);
    expect(created).toMatchObject({ tenant, subject: "svc", scopes: ["query/*"], admin: false, prefix: `fgk_${created.id}` });
    const shown = await (await asAdmin(`/admin/keys/${created.id}`)).json();
    expect(JSON.stringify(shown)).not.toContain(created.key as string);
    expect(shown).not.toHaveProperty("secretHash");
    const tenants = (await (await asAdmin("/admin/tenants")).json()) as { tenants: { name: string }[] };
    expect(tenants.tenants.map((t) => t.name)).toContain(tenant);
  });

  it("makes admin keys with admin:true", async () => {
    const res = await asAdmin("/admin/keys", { method: "POST", json: { tenant: "ops", subject: "op2", admin: true } });
    const { key } = (await res.json()) as { key: string };
    expect((await call("/admin/keys", { headers: { "x-api-key": key } })).status).toBe(200);
  });

  it("refuses bad bodies with 400 naming the fields", async () => {
    const cases: unknown[] = [
      { tenant: "a_b", subject: "x" },
      { tenant: "acme" },
      { tenant: "acme", subject: "x", scopes: ["*"] },
      { tenant: "acme", subject: "x", expiresAt: "tomorrow" },
      { tenant: "acme", subject: "x", unknownField: 1 },
      { tenant: "acme", subject: "x", servesTenants: ["*", "a"] },
      { tenant: "acme", subject: "x", notBefore: "2030-01-02T00:00:00Z", expiresAt: "2030-01-01T00:00:00Z" },
      [],
    ];
    for (const json of cases) {
      const res = await asAdmin("/admin/keys", { method: "POST", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect((await errorOf(res)).code).toBe("BAD_REQUEST");
    }
    const notJson = await asAdmin("/admin/keys", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
  });

  it("lists keys with filters, and answers 404 for unknown ids", async () => {
    const subject = uniqueTag("lister");
    await createTestKey({ subject });
    await createTestKey({ subject });
    const res = await asAdmin(`/admin/keys?subject=${subject}`);
    const body = (await res.json()) as { keys: { subject: string }[] };
    expect(body.keys).toHaveLength(2);
    expect(body.keys.every((k) => k.subject === subject)).toBe(true);
    expect((await asAdmin("/admin/keys/zzzzzzzzzzzz")).status).toBe(404);
    expect((await asAdmin("/admin/keys/..%2F..%2Fetc")).status).toBe(400); // refused before routing (issue 17, class 3)
    expect((await asAdmin("/admin/keys?limit=0")).status).toBe(400);
  });

  it("rotates a key: the new one works, the old one keeps working for the grace period only", async () => {
    const { id, key: oldKey } = await createTestKey({ subject: "rot", scopes: ["conductor"] });
    expect((await call("/whoami", { headers: { "x-api-key": oldKey } })).status).toBe(200);
    const res = await asAdmin(`/admin/keys/${id}/rotate`, { method: "POST", json: { gracePeriodS: 2 } });
    expect(res.status).toBe(201);
    const rotated = (await res.json()) as { id: string; key: string; scopes: string[]; previous: { id: string; expiresAt: string } };
    expect(rotated.id).not.toBe(id);
    expect(rotated.scopes).toEqual(["conductor"]);
    expect(rotated.previous.id).toBe(id);
    expect((await call("/whoami", { headers: { "x-api-key": rotated.key } })).status).toBe(200);
    expect((await call("/whoami", { headers: { "x-api-key": oldKey } })).status).toBe(200); // in grace
    await new Promise((r) => setTimeout(r, 2100));
    const after = await call("/whoami", { headers: { "x-api-key": oldKey } });
    expect(after.status).toBe(401);
    expect((await errorOf(after)).message).toBe("API key expired");
    expect((await call("/whoami", { headers: { "x-api-key": rotated.key } })).status).toBe(200);
    // A rotated key cannot be rotated again; a revoked one neither.
    expect((await asAdmin(`/admin/keys/${id}/rotate`, { method: "POST" })).status).toBe(409);
  });

  it("rotates without a body (default grace)", async () => {
    const { id } = await createTestKey({ subject: "rot2" });
    expect((await asAdmin(`/admin/keys/${id}/rotate`, { method: "POST" })).status).toBe(201);
  });
});

describe("admin cache", () => {
  it("purges one key's cached lookups: the next request asks the database again", async () => {
    const tag = uniqueTag("purge1");
    const env = envWith({ DB_WS_PROXY: `${wsProxy()}/${tag}` });
    const { id, key } = await createTestKey({ subject: "p1" });
    await call("/whoami", { headers: { "x-api-key": key }, env });
    await call("/whoami", { headers: { "x-api-key": key }, env });
    const before = await dbSessions(tag);
    const purge = await asAdmin(`/admin/cache/keys/${id}`, { method: "DELETE" });
    expect(purge.status).toBe(200);
    expect((await call("/whoami", { headers: { "x-api-key": key }, env })).status).toBe(200);
    expect(await dbSessions(tag)).toBeGreaterThan(before);
    expect((await asAdmin("/admin/cache/keys/zzzzzzzzzzzz", { method: "DELETE" })).status).toBe(404);
  });

  it("purges every cached lookup with a new cache epoch", async () => {
    const tag = uniqueTag("purgeall");
    const env = envWith({ DB_WS_PROXY: `${wsProxy()}/${tag}`, MEMORY_CACHE_TTL_S: "0" });
    const { key } = await createTestKey({ subject: "p2" });
    await call("/whoami", { headers: { "x-api-key": key }, env });
    await call("/whoami", { headers: { "x-api-key": key }, env }); // KV hit
    const before = await dbSessions(tag);
    const res = await asAdmin("/admin/cache/purge", { method: "POST" });
    expect(res.status).toBe(200);
    const { cacheEpoch } = (await res.json()) as { cacheEpoch: number };
    expect(await env.KEY_CACHE.get("control:cache-epoch")).toBe(String(cacheEpoch));
    expect((await call("/whoami", { headers: { "x-api-key": key }, env })).status).toBe(200);
    expect(await dbSessions(tag)).toBeGreaterThan(before);
  });
});

describe("admin log level", () => {
  it("sets a temporary override through KV, needs no body, refuses unknown levels", async () => {
    const res = await asAdmin("/admin/logs/debug", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ level: "debug", durationS: 300 });
    const stored = await envWith().KEY_CACHE.get<{ level: string; until: number }>("control:log-level", "json");
    expect(stored?.level).toBe("debug");
    expect(stored!.until).toBeGreaterThan(Date.now() + 290_000);
    for (const bad of ["verbose", "trace", "DEBUGX"]) {
      const r = await asAdmin(`/admin/logs/${bad}`, { method: "POST" });
      expect(r.status).toBe(400);
    }
    await asAdmin("/admin/logs/warn", { method: "POST" });
  });
});

describe("admin tenants and audit", () => {
  it("adds tenants idempotently", async () => {
    const name = uniqueTag("tenant-").replace(/_/g, "-");
    const first = await asAdmin("/admin/tenants", { method: "POST", json: { name } });
    expect(first.status).toBe(201);
    const again = await asAdmin("/admin/tenants", { method: "POST", json: { name } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ name, created: false });
    expect((await asAdmin("/admin/tenants", { method: "POST", json: { name: "bad_name" } })).status).toBe(400);
  });

  it("records every admin action with who did it", async () => {
    const { id } = await createTestKey({ subject: uniqueTag("audited") });
    await asAdmin(`/admin/keys/${id}`, { method: "DELETE" });
    const res = await asAdmin(`/admin/audit?subject=test-admin&limit=200`);
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: { action: string; target: string; actorSubject: string; decision: string }[] };
    const mine = events.filter((e) => e.target === id).map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(["key.create", "key.revoke"]));
    // The admin's actions are `done`; its requests elsewhere are in the trail too (other tests share the database):
    // refused ones as `refused`, allowed writes that reached an engine as `allowed`.
    expect(events.every((e) => e.actorSubject === "test-admin")).toBe(true);
    expect(events.filter((e) => e.target === id).every((e) => e.decision === "done")).toBe(true);
    expect(events.every((e) => ["done", "refused", "allowed"].includes(e.decision))).toBe(true);
    const byAction = (await (await asAdmin("/admin/audit?action=key.revoke")).json()) as { events: { action: string }[] };
    expect(byAction.events.every((e) => e.action === "key.revoke")).toBe(true);
    expect((await asAdmin("/admin/audit?decision=MAYBE")).status).toBe(400);
    // One vocabulary (issue 27): allowed / refused / done, the words of explain, the console and the logs.
    const done = (await (await asAdmin("/admin/audit?decision=done&subject=test-admin")).json()) as { events: { decision: string }[] };
    expect(done.events.length).toBeGreaterThan(0);
    for (const old of ["DONE", "BLOCKED", "ALLOWED"]) expect((await asAdmin(`/admin/audit?decision=${old}`)).status, old).toBe(400);
  });
});

describe("admin query parameters", () => {
  it("refuses a parameter given twice, naming it, on every admin listing that reads a query", async () => {
    for (const path of [
      "/admin/audit?format=ndjson&format=json",
      "/admin/audit?limit=1&limit=100000",
      "/admin/keys?subject=a&subject=b",
      "/admin/usage?resolution=hour&resolution=day",
    ]) {
      const res = await asAdmin(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, path).toContain("given twice");
    }
    // A parameter named like an object's prototype is a parameter, read and refused as unknown or ignored, never a 500.
    expect((await asAdmin("/admin/keys?__proto__=x")).status).toBeLessThan(500);
    expect((await asAdmin("/admin/audit?limit=1")).status).toBe(200);
  });
});

describe("admin bodies", () => {
  it("refuses a body over the admin limit with 413, and invalid UTF-8 with 400", async () => {
    const big = await asAdmin("/admin/tenants", {
      method: "POST",
      body: `{"name":"${"a".repeat(70_000)}"}`,
      headers: { "content-type": "application/json" },
    });
    expect(big.status).toBe(413);
    const bad = await asAdmin("/admin/tenants", {
      method: "POST",
      body: new Uint8Array([0x7b, 0xff, 0x7d]),
      headers: { "content-type": "application/json" },
    });
    expect(bad.status).toBe(400);
  });
});
