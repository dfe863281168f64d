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
import { verifyIdToken } from "../../src/identity/oidc";
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from "jose";

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

describe("ID token audience and authorized party", () => {
  // Real providers' tokens are checked end to end in test/node/browserSignIn.test.ts; the azp rule needs tokens
  // with several audiences, which the test provider does not issue, so they are signed here with a local key.
  it("refuses a token whose azp names another client, or that has several audiences and no azp", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" }] });
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ nonce: "n", ...claims })
        .setProtectedHeader({ alg: "ES256", kid: "k" })
        .setIssuer("https://id.example")
        .setSubject("alice")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey);
    const expect_ = { issuer: "https://id.example", clientId: "flowgate", nonce: "n", clockToleranceS: 0, keys };
    await expect(verifyIdToken(await sign({ aud: "flowgate" }), expect_)).resolves.toMatchObject({ sub: "alice" });
    await expect(verifyIdToken(await sign({ aud: ["flowgate", "other"], azp: "flowgate" }), expect_)).resolves.toMatchObject({
      sub: "alice",
    });
    await expect(verifyIdToken(await sign({ aud: ["flowgate", "other"] }), expect_)).rejects.toThrow(/azp/);
    await expect(verifyIdToken(await sign({ aud: ["flowgate", "other"], azp: "other" }), expect_)).rejects.toThrow(/azp/);
    await expect(verifyIdToken(await sign({ aud: "flowgate", azp: "other" }), expect_)).rejects.toThrow(/azp/);
    await expect(verifyIdToken(await sign({ aud: "other" }), expect_)).rejects.toThrow(/aud/);
    await expect(verifyIdToken(await sign({ aud: "flowgate", nonce: "m" }), expect_)).rejects.toThrow(/nonce/);
    const hs = await new SignJWT({ nonce: "n", aud: "flowgate" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://id.example")
      .setSubject("alice")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(32)));
    await expect(verifyIdToken(hs, expect_)).rejects.toThrow(/could not be verified/);
  });
});
