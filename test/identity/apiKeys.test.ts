import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey } from "../../src/formats/apiKey";
import { asAdmin, call, createTestKey, dbSessions, envWith, errorOf, uniqueTag, wsProxy } from "../helpers";

/** An env whose database sessions are counted under their own tag at the bridge. */
const countedEnv = (tag: string, extra: Record<string, unknown> = {}) => envWith({ DB_WS_PROXY: `${wsProxy()}/${tag}`, ...extra });

describe("API keys", () => {
  it("accepts a key from Authorization, X-API-Key and X-Prefect-User-Id", async () => {
    const { key } = await createTestKey({ subject: "alice", scopes: ["query/*"] });
    const variants: Record<string, string>[] = [{ authorization: `Bearer ${key}` }, { "x-api-key": key }, { "x-prefect-user-id": key }];
    for (const headers of variants) {
      const res = await call("/whoami", { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ kind: "api_key", subject: "alice", tenant: "acme", scopes: ["query/*"] });
    }
  });

  it("refuses a request without credential with 401", async () => {
    const res = await call("/whoami");
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("UNAUTHENTICATED");
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("refuses a malformed key before any I/O", async () => {
    const tag = uniqueTag("malformed");
    const { key } = generateApiKey();
    const broken = key.slice(0, -1) + (key.endsWith("a") ? "b" : "a");
    for (const bad of [broken, "fgk_short", `fgk_${"a".repeat(12)}_${"b".repeat(38)}`]) {
      const res = await call("/whoami", { headers: { "x-api-key": bad }, env: countedEnv(tag) });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).message).toBe("malformed API key");
    }
    // No key lookup: the only database sessions are the audit trail's writes of the refusals, one per request here
    // (each request's background work is awaited on its own; in production a batch holds AUDIT_FLUSH_MS of them).
    expect(await dbSessions(tag)).toBe(3);
  });

  it("refuses an unknown well-formed key, and asks the database only once for it (negative cache)", async () => {
    const tag = uniqueTag("negative");
    const { key } = generateApiKey();
    for (let i = 0; i < 5; i++) {
      const res = await call("/whoami", { headers: { "x-api-key": key }, env: countedEnv(tag) });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).message).toBe("unknown API key");
    }
    // One lookup, then the negative cache; beside it, the audit trail's write of each refusal.
    expect(await dbSessions(tag)).toBe(1 + 5);
    // And nothing about the bad key was written to KV (an attacker must not cause KV writes).
    const hash = await hashApiKey(key);
    const listed = await countedEnv(tag).KEY_CACHE.list({ prefix: "apikey:" });
    expect(listed.keys.filter((k) => k.name.endsWith(hash))).toEqual([]);
  });

  it("serves a known key from memory after the first lookup", async () => {
    const tag = uniqueTag("memory");
    const { key } = await createTestKey({ subject: "mem" });
    const env = countedEnv(tag);
    for (let i = 0; i < 5; i++) expect((await call("/whoami", { headers: { "x-api-key": key }, env })).status).toBe(200);
    // One session for the lookup, one for the post-fill re-check; none for the four memory hits.
    expect(await dbSessions(tag)).toBe(2);
  });

  it("shares one lookup among concurrent requests for the same uncached key", async () => {
    const tag = uniqueTag("herd");
    const { key } = await createTestKey({ subject: "herd" });
    const env = countedEnv(tag);
    const answers = await Promise.all(Array.from({ length: 10 }, () => call("/whoami", { headers: { "x-api-key": key }, env })));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await dbSessions(tag)).toBe(2); // one lookup, one post-fill re-check
  });

  it("serves a key from KV when the isolate does not hold it", async () => {
    const tag = uniqueTag("kv");
    const { key } = await createTestKey({ subject: "kv-user" });
    const env = countedEnv(tag, { MEMORY_CACHE_TTL_S: "0" });
    expect((await call("/whoami", { headers: { "x-api-key": key }, env })).status).toBe(200);
    const afterFill = await dbSessions(tag);
    for (let i = 0; i < 3; i++) expect((await call("/whoami", { headers: { "x-api-key": key }, env })).status).toBe(200);
    expect(await dbSessions(tag)).toBe(afterFill);
  });

  it("refuses expired and not-yet-valid keys, whatever is cached", async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const { key: expiring } = await createTestKey({ subject: "exp", expiresAt: soon });
    expect((await call("/whoami", { headers: { "x-api-key": expiring } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const res = await call("/whoami", { headers: { "x-api-key": expiring } }); // still in the memory cache
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("API key expired");

    const later = new Date(Date.now() + 3_600_000).toISOString();
    const { key: future } = await createTestKey({ subject: "nbf", notBefore: later });
    const res2 = await call("/whoami", { headers: { "x-api-key": future } });
    expect(res2.status).toBe(401);
    expect((await errorOf(res2)).message).toBe("API key not valid yet");
  });

  it("refuses a revoked key at once in the revoking isolate, and from KV elsewhere", async () => {
    const { id, key } = await createTestKey({ subject: "rev" });
    expect((await call("/whoami", { headers: { "x-api-key": key } })).status).toBe(200); // cached now
    const revoke = await asAdmin(`/admin/keys/${id}`, { method: "DELETE" });
    expect(revoke.status).toBe(200);
    expect(((await revoke.json()) as { revokedAt: string }).revokedAt).toBeTruthy();
    const res = await call("/whoami", { headers: { "x-api-key": key } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("API key revoked");
    // Another isolate that finds the key only in KV sees the tombstone, without asking the database for the key:
    // its one database session is the audit trail's write of the refusal.
    const tag = uniqueTag("tomb");
    const other = countedEnv(tag, { MEMORY_CACHE_TTL_S: "0" });
    expect((await call("/whoami", { headers: { "x-api-key": key }, env: other })).status).toBe(401);
    expect(await dbSessions(tag)).toBe(1);
  });

  it("refuses two different credentials in one request, and non-Bearer schemes", async () => {
    const a = await createTestKey({ subject: "a" });
    const b = await createTestKey({ subject: "b" });
    const res = await call("/whoami", { headers: { authorization: `Bearer ${a.key}`, "x-api-key": b.key } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toContain("conflicting");
    const same = await call("/whoami", { headers: { authorization: `Bearer ${a.key}`, "x-api-key": a.key } });
    expect(same.status).toBe(200);
    const basic = await call("/whoami", { headers: { authorization: `Basic ${btoa("u:p")}` } });
    expect(basic.status).toBe(401);
  });

  it("refuses oversized and non-printable credentials early", async () => {
    expect((await call("/whoami", { headers: { "x-api-key": "k".repeat(9000) } })).status).toBe(401);
    expect((await call("/whoami", { headers: { "x-api-key": "abc\u00e9def" } })).status).toBe(401);
  });
});
