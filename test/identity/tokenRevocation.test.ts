/**
 * JWT revocation for every JWT route (`POST /admin/tokens/revoke`), and the cron forgetting revocations whose
 * tokens have expired.
 */
import { SignJWT, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { runScheduledPurge } from "../../src/cron/purge";
import { parseConfig } from "../../src/readConfig";
import { asAdmin, call, envWith, stubUrl, uniqueTag } from "../helpers";

describe("JWT revocation", () => {
  it("a revoked jti stops working on /whoami at once, other tokens of the subject do not", async () => {
    const env = envWith({ JWT_JWKS_URL: stubUrl(`/jwks/${uniqueTag("rv")}.json`) });
    const idp = (await importJWK(inject("idpPrivateJwk") as never, "RS256")) as CryptoKey;
    const sign = (jti: string) =>
      new SignJWT({ sub: "rv-user", jti })
        .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(idp);
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const ta = await sign(a);
    const tb = await sign(b);
    expect((await call("/whoami", { env, headers: { authorization: `Bearer ${ta}` } })).status).toBe(200);
    expect((await asAdmin("/admin/tokens/revoke", { method: "POST", env, json: { jti: a } })).status).toBe(200);
    expect((await call("/whoami", { env, headers: { authorization: `Bearer ${ta}` } })).status).toBe(401);
    expect((await call("/whoami", { env, headers: { authorization: `Bearer ${tb}` } })).status).toBe(200);
  });

  it("needs an admin credential", async () => {
    expect((await call("/admin/tokens/revoke", { method: "POST", json: { jti: "x" } })).status).toBe(401);
  });

  it("the cron forgets revocations whose tokens have all expired", async () => {
    const env = envWith({});
    const soon = new Date(Date.now() + 1_500).toISOString();
    expect(
      (await asAdmin("/admin/tokens/revoke", { method: "POST", env, json: { jti: uniqueTag("short"), expiresAt: soon } })).status,
    ).toBe(200);
    await new Promise((r) => setTimeout(r, 1_700));
    const config = parseConfig(env as unknown as Record<string, unknown>);
    if (!config.ok) throw config.error;
    const summary = await runScheduledPurge(env.KEY_CACHE, config.config);
    expect(summary.revocationsPruned).toBeGreaterThanOrEqual(1);
    expect((await runScheduledPurge(env.KEY_CACHE, config.config)).revocationsPruned).toBe(0);
  });
});
