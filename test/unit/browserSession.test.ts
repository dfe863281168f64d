/**
 * The browser session's pure policy: return paths, navigations, the same-origin proof, sliding renewal, and the
 * sign-in configuration's all-or-nothing checks. (End to end, with a real provider and Chromium:
 * test/node/browserSignIn.test.ts.)
 */
import { describe, expect, it } from "vitest";
import type { SessionConfig } from "../../src/config";
import { parseConfig } from "../../src/readConfig";
import { crossSiteCheck, isBrowserNavigation, safeReturnPath } from "../../src/identity/browser";

/** The cross-site check's reason for refusing, or null when the request may pass. */
const crossSiteRefusal = (...args: Parameters<typeof crossSiteCheck>): string | null => {
  const v = crossSiteCheck(...args);
  return v.ok ? null : v.reason;
};
import { newSession, openSession, renewal, sealSession, newSignIn, sealSignIn } from "../../src/identity/session";
import { idTokenClaims, type Provider } from "../../src/identity/oidc";
import { admit, type AdmissionRules } from "../../src/identity/admission";
import type { Principal } from "../../src/identity/principal";
import * as oauth from "oauth4webapi";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

const kv = { get: () => null } as unknown as KVNamespace;
const base = { KEY_CACHE: kv, DATABASE_URL: "postgres://u:p@db.example/flowgate" };
const oidc = {
  OIDC_ISSUER: "https://id.example.com/realms/acme",
  OIDC_CLIENT_ID: "flowgate",
  OIDC_REDIRECT_URI: "https://gw.example.com/auth/callback",
  SESSION_SECRETS: "s".repeat(32),
};
const ORIGIN = "https://gw.example.com";
const session: SessionConfig = { secrets: ["k".repeat(32)], idleTtlS: 900, maxTtlS: 28_800, keyExchange: false };

describe("return path after sign-in", () => {
  it("keeps same-origin relative paths, query and all", () => {
    expect(safeReturnPath("/argo/workflows/alpha?phase=Running")).toBe("/argo/workflows/alpha?phase=Running");
    expect(safeReturnPath("/")).toBe("/");
  });

  it("sends every other target to /", () => {
    for (const raw of [
      "//evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "%2F%2Fevil.example",
      "/%2F%2Fevil.example",
      "/%5Cevil.example",
      "https://evil.example/",
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      "data:text/html,x",
      "/\t/evil.example",
      "/\n/evil.example",
      " /x",
      "evil.example",
      "",
      "/%",
      `/${"a".repeat(5000)}`,
      undefined,
      ["/x"],
    ]) {
      expect(safeReturnPath(raw), JSON.stringify(raw)).toBe("/");
    }
  });
});

describe("navigations and the same-origin proof", () => {
  const h = (o: Record<string, string>) => new Headers(o);

  it("redirects only a page load (GET, navigate, document, text/html)", () => {
    const nav = { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document", accept: "text/html,*/*" };
    expect(isBrowserNavigation("GET", h(nav))).toBe(true);
    expect(isBrowserNavigation("POST", h(nav))).toBe(false);
    expect(isBrowserNavigation("GET", h({ ...nav, "sec-fetch-mode": "cors" }))).toBe(false);
    expect(isBrowserNavigation("GET", h({ ...nav, "sec-fetch-dest": "iframe" }))).toBe(false);
    expect(isBrowserNavigation("GET", h({ ...nav, accept: "application/json" }))).toBe(false);
    expect(isBrowserNavigation("GET", h({ accept: "text/html" }))).toBe(false);
  });

  it("lets the UIs' own JSON calls through and refuses cross-site and form-shaped changes", () => {
    const same = { origin: ORIGIN, "sec-fetch-site": "same-origin" };
    expect(crossSiteRefusal("GET", h({}), ORIGIN, "t")).toBeNull();
    expect(crossSiteRefusal("POST", h({ ...same, "content-type": "application/json" }), ORIGIN, "t")).toBeNull();
    expect(crossSiteRefusal("DELETE", h(same), ORIGIN, "t")).toBeNull();
    expect(crossSiteRefusal("POST", h({ ...same, "content-type": "text/plain" }), ORIGIN, "t")).toMatch(/CSRF token/);
    expect(crossSiteRefusal("POST", h({ ...same, "content-type": "application/x-www-form-urlencoded" }), ORIGIN, "t")).toMatch(
      /CSRF token/,
    );
    expect(crossSiteRefusal("POST", h({ ...same, "content-type": "multipart/form-data; boundary=x" }), ORIGIN, "t")).toMatch(/CSRF token/);
    expect(crossSiteRefusal("POST", h(same), ORIGIN, "t")).toMatch(/CSRF token/);
    expect(crossSiteRefusal("POST", h({ ...same, "content-type": "text/plain", "x-csrf-token": "t" }), ORIGIN, "t")).toBeNull();
    expect(crossSiteRefusal("POST", h({ ...same, "content-type": "application/json", "x-csrf-token": "u" }), ORIGIN, "t")).toMatch(
      /does not match/,
    );
    expect(crossSiteRefusal("POST", h({ origin: "https://evil.gw.example.com", "content-type": "application/json" }), ORIGIN, "t")).toMatch(
      /cross-origin/,
    );
    expect(crossSiteRefusal("POST", h({ origin: "null", "content-type": "application/json" }), ORIGIN, "t")).toMatch(/cross-origin/);
    expect(crossSiteRefusal("PUT", h({ "sec-fetch-site": "same-site", "content-type": "application/json" }), ORIGIN, "t")).toMatch(
      /cross-site/,
    );
    expect(crossSiteRefusal("PUT", h({ "content-type": "application/json" }), ORIGIN, "t")).toMatch(/Origin/);
  });
});

describe("session cookie", () => {
  const grants = { src: "oidc" as const, sub: "alice", roles: [], groups: ["analysts"], scopes: ["query/*"] };

  it("slides its idle deadline past half-time, never beyond the absolute end", async () => {
    const t0 = 1_000_000;
    const s = newSession(grants, session, t0);
    expect(s.exp - t0).toBe(900);
    expect(renewal(s, session, t0 + 100)).toBeNull();
    expect(renewal(s, session, t0 + 600)).toMatchObject({ exp: t0 + 1500, sid: s.sid, auth: t0, csrf: s.csrf });
    expect(renewal({ ...s, exp: s.max - 10 }, session, s.max - 20)).toMatchObject({ exp: s.max });
    expect(renewal({ ...s, exp: s.max }, session, s.max - 20)).toBeNull();
    await expect(openSession(await sealSession(s, session), session, t0 + 901)).rejects.toThrow(/not valid/);
    await expect(openSession(await sealSession({ ...s, exp: s.max + 5 }, session), session, s.max)).rejects.toThrow();
  });

  it("is never a sign-in transaction, nor the other way round", async () => {
    const t = await sealSignIn(newSignIn("/", 1_000_000), session);
    await expect(openSession(t, session, 1_000_001)).rejects.toThrow(/not valid/);
  });
});

describe("sign-in configuration", () => {
  it("is all or nothing, and needs SESSION_SECRETS", () => {
    const r = parseConfig({ ...base, ...oidc });
    if (!r.ok) throw r.error;
    expect(r.config.oidc).toMatchObject({
      issuer: "https://id.example.com/realms/acme",
      clientId: "flowgate",
      scopes: ["openid", "email", "profile"],
    });
    expect(r.config.session).toMatchObject({ idleTtlS: 900, maxTtlS: 28_800, keyExchange: false });
    const { OIDC_CLIENT_ID: _, ...partial } = oidc;
    expect(parseConfig({ ...base, ...partial })).toMatchObject({ ok: false, error: { details: { variables: ["OIDC_CLIENT_ID"] } } });
    const { SESSION_SECRETS: __, ...noSecret } = oidc;
    expect(parseConfig({ ...base, ...noSecret })).toMatchObject({ ok: false, error: { details: { variables: ["SESSION_SECRETS"] } } });
    expect(parseConfig({ ...base, ...oidc, SESSION_SECRETS: "short" })).toMatchObject({ ok: false });
    expect(parseConfig({ ...base, ...oidc, OIDC_REDIRECT_URI: "http://gw.example.com/auth/callback" })).toMatchObject({ ok: false });
    expect(parseConfig({ ...base, ...oidc, OIDC_REDIRECT_URI: "https://gw.example.com/elsewhere" })).toMatchObject({ ok: false });
    expect(parseConfig({ ...base, ...oidc, OIDC_SCOPES: "email profile" })).toMatchObject({ ok: false });
    expect(parseConfig({ ...base, ...oidc, OIDC_ISSUER: "http://id.example.com/realms/acme" })).toMatchObject({
      ok: false,
      error: { details: { variables: ["OIDC_ISSUER"] } },
    });
    expect(parseConfig({ ...base, ...oidc, OIDC_ISSUER: "http://127.0.0.1:9000" })).toMatchObject({ ok: true });
  });

  it("keeps the issuer exactly as written (a trailing slash is part of it)", () => {
    const r = parseConfig({ ...base, ...oidc, OIDC_ISSUER: "https://tenant.auth0.example/" });
    if (!r.ok) throw r.error;
    expect(r.config.oidc?.issuer).toBe("https://tenant.auth0.example/");
  });

  it("exchanges keys for sessions only without a provider, unless turned on", () => {
    const keysOnly = parseConfig({ ...base, SESSION_SECRETS: oidc.SESSION_SECRETS });
    expect(keysOnly).toMatchObject({ ok: true, config: { oidc: null, session: { keyExchange: true } } });
    expect(parseConfig({ ...base, ...oidc, SESSION_KEY_EXCHANGE: "true" })).toMatchObject({
      ok: true,
      config: { session: { keyExchange: true } },
    });
    expect(parseConfig({ ...base })).toMatchObject({ ok: true, config: { session: null } });
  });
});

describe("ID token checks (oauth4webapi, and the azp rule it leaves to flowgate)", () => {
  // Real providers' tokens are checked end to end in test/node/browserSignIn.test.ts; the azp rule needs tokens
  // with several audiences, which the test provider does not issue, so they are signed here with a local key and
  // answered as a token endpoint would (the provider's keys served to the library by its custom fetch).
  it("refuses a token whose azp names another client, or that has several audiences and no azp; and every other failed check", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k", alg: "ES256", use: "sig" }] };
    const provider: Provider = {
      as: { issuer: "https://id.example", jwks_uri: "https://id.example/jwks", id_token_signing_alg_values_supported: ["ES256"] },
      client: { client_id: "flowgate", [oauth.clockTolerance]: 0 },
      clientAuth: oauth.None(),
      http: { [oauth.customFetch]: async () => Response.json(jwks) },
    };
    const sign = (claims: Record<string, unknown>, expires: string | number = "5m") =>
      new SignJWT({ nonce: "n", iss: "https://id.example", sub: "alice", ...claims })
        .setProtectedHeader({ alg: "ES256", kid: "k" })
        .setIssuedAt()
        .setExpirationTime(expires)
        .sign(privateKey);
    const check = (idToken: string) =>
      idTokenClaims(provider, Response.json({ access_token: "at", token_type: "Bearer", id_token: idToken }), "n");
    await expect(check(await sign({ aud: "flowgate" }))).resolves.toMatchObject({ sub: "alice" });
    await expect(check(await sign({ aud: ["flowgate", "other"], azp: "flowgate" }))).resolves.toMatchObject({ sub: "alice" });
    await expect(check(await sign({ aud: ["flowgate", "other"] }))).rejects.toThrow(/aud|azp/);
    await expect(check(await sign({ aud: ["flowgate", "other"], azp: "other" }))).rejects.toThrow(/azp/);
    await expect(check(await sign({ aud: "flowgate", azp: "other" }))).rejects.toThrow(/azp/);
    await expect(check(await sign({ aud: "other" }))).rejects.toThrow(/aud/);
    await expect(check(await sign({ aud: "flowgate", nonce: "m" }))).rejects.toThrow(/nonce/);
    await expect(check(await sign({ aud: "flowgate", iss: "https://id.example.evil" }))).rejects.toThrow(/iss/);
    await expect(check(await sign({ aud: "flowgate" }, Math.floor(Date.now() / 1000) - 60))).rejects.toThrow(/expired/);
    const hs = await new SignJWT({ nonce: "n", aud: "flowgate" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://id.example")
      .setSubject("alice")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(32)));
    await expect(check(hs)).rejects.toThrow(/could not be verified/);
    // Signed by a key the provider does not publish, and a signature that does not match the claims.
    const other = await generateKeyPair("ES256");
    const foreign = await new SignJWT({ nonce: "n", aud: "flowgate" })
      .setProtectedHeader({ alg: "ES256", kid: "k" })
      .setIssuer("https://id.example")
      .setSubject("alice")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(other.privateKey);
    await expect(check(foreign)).rejects.toThrow(/could not be verified/);
    const [h, , sig] = (await sign({ aud: "flowgate" })).split(".");
    const [, body] = (await sign({ aud: "flowgate", sub: "mallory" })).split(".");
    await expect(check(`${h}.${body}.${sig}`)).rejects.toThrow(/could not be verified/);
    // The provider refusing the code (invalid_grant), and an answer without an ID token.
    await expect(idTokenClaims(provider, Response.json({ error: "invalid_grant" }, { status: 400 }), "n")).rejects.toMatchObject({
      status: 401,
      message: expect.stringMatching(/refused the sign-in/),
    });
    await expect(idTokenClaims(provider, Response.json({ access_token: "at", token_type: "Bearer" }), "n")).rejects.toMatchObject({
      status: 502,
    });
  });
});

describe("who may sign in", () => {
  const none: AdmissionRules = { groups: [], emailDomains: [], claims: [] };
  const principal = (over: Partial<Principal> = {}): Principal => ({
    kind: "jwt",
    subject: "alice",
    email: "alice@example.com",
    tenant: "acme",
    roles: [],
    groups: ["analysts"],
    scopes: [],
    ...over,
  });
  const reason = (claims: Record<string, unknown>, p: Principal, rules = none) => {
    const v = admit(claims, p, rules);
    return v.ok ? null : `${v.code}: ${v.reason}`;
  };

  it("refuses an account that maps to nothing here, whatever the rules", () => {
    expect(reason({}, principal({ tenant: undefined, groups: [] }))).toMatch(/^FORBIDDEN: this account has no access here/);
    expect(reason({}, principal({ tenant: undefined, groups: [], roles: ["r"] }))).toBeNull();
    expect(reason({}, principal())).toBeNull();
  });

  it("with OIDC_ALLOWED_GROUPS, admits members of one of them only", () => {
    const rules = { ...none, groups: ["NETWORK-ADMIN", "analysts"] };
    expect(reason({}, principal(), rules)).toBeNull();
    expect(reason({}, principal({ groups: ["contractors"] }), rules)).toMatch(/none of the groups/);
    expect(reason({}, principal({ groups: ["ANALYSTS"] }), rules)).toMatch(/none of the groups/);
  });

  it("with OIDC_ALLOWED_EMAIL_DOMAINS, needs a verified address at one of them", () => {
    const rules = { ...none, emailDomains: ["example.com"] };
    expect(reason({ email_verified: true }, principal(), rules)).toBeNull();
    expect(reason({ email_verified: true }, principal({ email: "Alice@EXAMPLE.com" }), rules)).toBeNull();
    expect(reason({ email_verified: false }, principal(), rules)).toMatch(/not verified/);
    expect(reason({ email_verified: "true" }, principal(), rules)).toMatch(/not verified/);
    expect(reason({}, principal(), rules)).toMatch(/not verified/);
    for (const email of ["alice@example.com.evil.test", "alice@sub.example.com", "alice@evil.test?@example.com", "example.com", undefined])
      expect(reason({ email_verified: true }, principal({ email }), rules), String(email)).toMatch(/not at a domain/);
  });

  it("with OIDC_ALLOWED_CLAIMS, needs one claim=value to hold (a value, or a list holding it)", () => {
    const rules = {
      ...none,
      claims: [
        { claim: "hd", value: "example.com" },
        { claim: "realm_access.roles", value: "flowgate" },
      ],
    };
    expect(reason({ hd: "example.com" }, principal(), rules)).toBeNull();
    expect(reason({ realm_access: { roles: ["x", "flowgate"] } }, principal(), rules)).toBeNull();
    expect(reason({ hd: "example.org", realm_access: { roles: ["x"] } }, principal(), rules)).toMatch(/does not hold a claim/);
    expect(reason({ hd: ["example.org"] }, principal(), rules)).toMatch(/does not hold a claim/);
  });

  it("needs every configured rule to hold", () => {
    const rules = { groups: ["analysts"], emailDomains: ["example.com"], claims: [{ claim: "hd", value: "example.com" }] };
    expect(reason({ email_verified: true, hd: "example.com" }, principal(), rules)).toBeNull();
    expect(reason({ email_verified: true }, principal(), rules)).toMatch(/claim/);
    expect(reason({ email_verified: true, hd: "example.com" }, principal({ groups: ["x"] }), rules)).toMatch(/groups/);
  });

  it("is configured by OIDC_ALLOWED_* beside a provider, and refused without one", () => {
    const r = parseConfig({
      ...base,
      ...oidc,
      OIDC_ALLOWED_GROUPS: "analysts, NETWORK-ADMIN",
      OIDC_ALLOWED_EMAIL_DOMAINS: "Example.com,example.org",
      OIDC_ALLOWED_CLAIMS: "hd=example.com,realm_access.roles=flowgate",
    });
    if (!r.ok) throw r.error;
    expect(r.config.oidc?.allowed).toEqual({
      groups: ["analysts", "NETWORK-ADMIN"],
      emailDomains: ["example.com", "example.org"],
      claims: [
        { claim: "hd", value: "example.com" },
        { claim: "realm_access.roles", value: "flowgate" },
      ],
    });
    for (const [name, value] of [
      ["OIDC_ALLOWED_EMAIL_DOMAINS", "@example.com"] as const,
      ["OIDC_ALLOWED_EMAIL_DOMAINS", "localhost"] as const,
      ["OIDC_ALLOWED_CLAIMS", "hd"] as const,
      ["OIDC_ALLOWED_CLAIMS", "=x"] as const,
      ["OIDC_ALLOWED_CLAIMS", "hd="] as const,
    ])
      expect(parseConfig({ ...base, ...oidc, [name]: value }), `${name}=${value}`).toMatchObject({
        ok: false,
        error: { details: { variables: [name] } },
      });
    expect(parseConfig({ ...base, SESSION_SECRETS: oidc.SESSION_SECRETS, OIDC_ALLOWED_GROUPS: "analysts" })).toMatchObject({
      ok: false,
      error: { details: { variables: ["OIDC_ALLOWED_GROUPS"] } },
    });
  });
});
