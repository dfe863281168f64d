import { SignJWT, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { call, envWith, errorOf, stubUrl, uniqueTag } from "../helpers";

const b64url = (s: string) => btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const now = () => Math.floor(Date.now() / 1000);

let rsa: { privateKey: CryptoKey; pem: string };
let ec: { privateKey: CryptoKey; pem: string };
let otherRsa: CryptoKey;
const HS_SECRET = "a-development-secret-of-at-least-32-chars";

beforeAll(async () => {
  const r = await generateKeyPair("RS256", { extractable: true });
  rsa = { privateKey: r.privateKey, pem: await exportSPKI(r.publicKey) };
  const e = await generateKeyPair("ES256", { extractable: true });
  ec = { privateKey: e.privateKey, pem: await exportSPKI(e.publicKey) };
  otherRsa = (await generateKeyPair("RS256")).privateKey;
});

async function sign(key: CryptoKey | Uint8Array, alg: string, claims: JWTPayload = {}, header: Record<string, unknown> = {}) {
  return new SignJWT({ sub: "jwt-user", exp: now() + 300, ...claims }).setProtectedHeader({ alg, ...header }).sign(key);
}

const staticEnv = () =>
  envWith({ JWT_PUBLIC_KEYS: `${rsa.pem}\n${ec.pem}`, JWT_ISSUER: "https://idp.test", JWT_AUDIENCE: "flowgate,other" });
const whoami = (token: string, env = staticEnv()) => call("/whoami", { headers: { authorization: `Bearer ${token}` }, env });
const iss = { iss: "https://idp.test", aud: "flowgate" };

describe("JWT verification", () => {
  it("accepts RS256 and ES256 tokens from static PEM keys and maps claims to a principal", async () => {
    const claims = {
      ...iss,
      email: "j@example.com",
      roles: ["OWNER", "ops"],
      groups: "NETWORK-ADMIN,dev",
      tenant: "acme",
      scope: "conductor query/*",
      jti: "t-1",
    };
    for (const [key, alg] of [
      [rsa.privateKey, "RS256"],
      [ec.privateKey, "ES256"],
    ] as const) {
      const res = await whoami(await sign(key, alg, claims));
      expect(res.status, alg).toBe(200);
      expect(await res.json()).toMatchObject({
        kind: "jwt",
        subject: "jwt-user",
        email: "j@example.com",
        tenant: "acme",
        roles: ["OWNER", "ops"],
        groups: ["NETWORK-ADMIN", "dev"],
        scopes: ["conductor", "query/*"],
        tokenId: "t-1",
      });
    }
  });

  it("accepts an audience array holding one allowed audience", async () => {
    expect((await whoami(await sign(rsa.privateKey, "RS256", { ...iss, aud: ["x", "other"] }))).status).toBe(200);
  });

  it("reads claims by configured names and dotted paths", async () => {
    const env = envWith({
      JWT_PUBLIC_KEYS: rsa.pem,
      JWT_CLAIM_SUBJECT: "preferred_username",
      JWT_CLAIM_ROLES: "realm_access.roles",
      JWT_CLAIM_SCOPES: "scp",
    });
    const token = await sign(rsa.privateKey, "RS256", {
      preferred_username: "kc-user",
      realm_access: { roles: ["r1"] },
      scp: ["admin"],
    });
    expect(await (await whoami(token, env)).json()).toMatchObject({ subject: "kc-user", roles: ["r1"], scopes: ["admin"] });
  });

  it.each([
    ["wrong issuer", { iss: "https://evil.test", aud: "flowgate" }, "token claim check failed (iss)"],
    ["wrong audience", { iss: "https://idp.test", aud: "someone-else" }, "token claim check failed (aud)"],
    ["expired beyond leeway", { ...iss, exp: now() - 31 }, "token expired"],
    ["not yet valid beyond leeway", { ...iss, nbf: now() + 120 }, "token claim check failed (nbf)"],
    ["no exp", { ...iss, exp: undefined }, "token claim check failed (exp)"],
    ["iat in the future beyond leeway", { ...iss, iat: now() + 120 }, "token claim check failed (iat)"],
  ])("refuses a token with %s", async (_label, claims, message) => {
    const res = await whoami(await sign(rsa.privateKey, "RS256", claims as JWTPayload));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe(message);
  });

  it("accepts a token expired (or issued ahead) within the clock tolerance", async () => {
    expect((await whoami(await sign(rsa.privateKey, "RS256", { ...iss, exp: now() - 10 }))).status).toBe(200);
    expect((await whoami(await sign(rsa.privateKey, "RS256", { ...iss, iat: now() + 10 }))).status).toBe(200);
  });

  it("refuses alg none", async () => {
    const token = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify({ sub: "x", exp: now() + 60, ...iss }))}.`;
    const res = await whoami(token + "x");
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("token algorithm not allowed");
  });

  it("refuses HS256 signed with the RSA public key (algorithm confusion)", async () => {
    const token = await sign(new TextEncoder().encode(rsa.pem), "HS256", iss);
    const res = await whoami(token);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("token algorithm not allowed");
    // Even with HS256 switched on, the PEM is not the secret.
    const env = envWith({ JWT_PUBLIC_KEYS: rsa.pem, JWT_HS256_SECRET: HS_SECRET });
    expect((await whoami(token, env)).status).toBe(401);
  });

  it("accepts HS256 only with the configured secret", async () => {
    const env = envWith({ JWT_HS256_SECRET: HS_SECRET });
    expect((await whoami(await sign(new TextEncoder().encode(HS_SECRET), "HS256"), env)).status).toBe(200);
    expect((await whoami(await sign(new TextEncoder().encode(HS_SECRET), "HS256"))).status).toBe(401);
  });

  it("refuses a tampered signature and a token signed by another key", async () => {
    const token = await sign(rsa.privateKey, "RS256", iss);
    const [h, p, s] = token.split(".");
    const tamperedPayload = `${h}.${b64url(JSON.stringify({ sub: "root", exp: now() + 60, ...iss }))}.${s}`;
    expect((await whoami(tamperedPayload)).status).toBe(401);
    const flipped = `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith("AA") ? "BB" : "AA"}`;
    expect((await whoami(flipped)).status).toBe(401);
    const res = await whoami(await sign(otherRsa, "RS256", iss));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("token signature invalid");
  });

  it("refuses oversized tokens before parsing", async () => {
    const token = await sign(rsa.privateKey, "RS256", { ...iss, pad: "x".repeat(9000) });
    const res = await whoami(token);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("malformed credential");
  });

  it("refuses a token without subject, or with a tenant that is not a tenant name", async () => {
    expect((await whoami(await sign(rsa.privateKey, "RS256", { ...iss, sub: undefined }))).status).toBe(401);
    expect((await whoami(await sign(rsa.privateKey, "RS256", { ...iss, tenant: "a___b" }))).status).toBe(401);
  });

  describe("from a JWKS URL", () => {
    it("verifies with fetched keys, refuses an unknown kid, and refetches at most once per cooldown", async () => {
      const tag = uniqueTag("jwks");
      const env = envWith({ JWT_JWKS_URL: stubUrl(`/jwks/${tag}.json`) });
      const idpKey = await importJWK(inject("idpPrivateJwk") as never, "RS256");
      const good = await sign(idpKey as CryptoKey, "RS256", {}, { kid: "idp-1" });
      expect((await whoami(good, env)).status).toBe(200);
      expect((await whoami(good, env)).status).toBe(200);
      const unknownKid = await sign(rsa.privateKey, "RS256", {}, { kid: "not-there" });
      for (let i = 0; i < 3; i++) {
        const res = await whoami(unknownKid, env);
        expect(res.status).toBe(401);
        expect((await errorOf(res)).message).toBe("token signed by an unknown key");
      }
      const fetches = ((await (await fetch(stubUrl(`/jwks-fetches/${tag}`))).json()) as { fetches: number }).fetches;
      expect(fetches).toBe(1); // the unknown kids fell within the 30 s cooldown
    });

    it("keeps verifying with keys already fetched while the JWKS URL is down, and refuses unknown kids", async () => {
      const tag = uniqueTag("jwksdown");
      const env = envWith({ JWT_JWKS_URL: stubUrl(`/jwks/${tag}.json`), JWT_JWKS_CACHE_TTL_S: "1" });
      const idpKey = await importJWK(inject("idpPrivateJwk") as never, "RS256");
      const good = await sign(idpKey as CryptoKey, "RS256", {}, { kid: "idp-1" });
      expect((await whoami(good, env)).status).toBe(200);
      await fetch(stubUrl(`/jwks-down/${tag}?down=1`), { method: "POST" });
      await new Promise((r) => setTimeout(r, 1_200)); // the fetched keys are stale now; a refetch fails
      expect((await whoami(good, env)).status).toBe(200);
      const unknownKid = await sign(rsa.privateKey, "RS256", {}, { kid: "not-there" });
      expect((await whoami(unknownKid, env)).status).toBe(401);
      const forged = await sign(rsa.privateKey, "RS256", {}, { kid: "idp-1" });
      expect((await whoami(forged, env)).status).toBe(401);
      await fetch(stubUrl(`/jwks-down/${tag}?down=0`), { method: "POST" });
      await new Promise((r) => setTimeout(r, 1_200));
      const before = ((await (await fetch(stubUrl(`/jwks-fetches/${tag}`))).json()) as { fetches: number }).fetches;
      expect((await whoami(good, env)).status).toBe(200);
      const after = ((await (await fetch(stubUrl(`/jwks-fetches/${tag}`))).json()) as { fetches: number }).fetches;
      expect(after).toBeGreaterThan(before); // recovered by itself once the URL answers again
    });

    it("refuses every token when the JWKS URL is unreachable and nothing was fetched", async () => {
      const env = envWith({ JWT_JWKS_URL: "http://127.0.0.1:9/jwks.json" });
      const res = await whoami(await sign(rsa.privateKey, "RS256", {}, { kid: "k" }), env);
      expect(res.status).toBe(401);
    });
  });

  it("accepts static keys given as a JWKS document", async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "e1", alg: "ES256" }] });
    const env = envWith({ JWT_PUBLIC_KEYS: jwks });
    expect((await whoami(await sign(pair.privateKey, "ES256", {}, { kid: "e1" }), env)).status).toBe(200);
    expect((await whoami(await sign(pair.privateKey, "ES256", {}, { kid: "e2" }), env)).status).toBe(401);
  });
});
