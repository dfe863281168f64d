/**
 * Issue 25, class 7: a planted `authorization` cookie (any sibling subdomain can set one for the parent domain)
 * made the Argo route act as another principal beside a browser's session. A signed-in browser is its session; the
 * credential cookie is read only where no session exists, and two cookies of one name are refused, never guessed
 * between (the browser sends both, ordered by path length and age, not by who set them).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { SessionConfig } from "../../src/config";
import { extractCredential } from "../../src/identity/credentials";
import { newSession, sealSession } from "../../src/identity/session";
import worker from "../../src/index";
import { asAdmin, createTestKey, envWith, stubUrl, uniqueTag } from "../helpers";

const SECRET = "cookie-test-session-secret-0123456789abcdef";
const tag = uniqueTag("ck");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`), SESSION_SECRETS: SECRET, SESSION_KEY_EXCHANGE: "true" });
const sessionConfig: SessionConfig = { secrets: [SECRET], idleTtlS: 900, maxTtlS: 28_800, keyExchange: true };
const SESSION = "__Host-flowgate-session";

/** A request as a browser on https sends it (the `__Host-` session cookie needs https). */
async function browser(path: string, cookie: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://gateway.test${path}`, { headers: { cookie, accept: "application/json" } }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const sessionCookie = async (roles: string[]) =>
  `${SESSION}=${await sealSession(newSession({ src: "oidc", sub: `victim-${tag}`, roles, groups: [], scopes: [] }, sessionConfig, Date.now() / 1000), sessionConfig)}`;
const authorizationCookie = (key: string) => `authorization=${encodeURIComponent(`Bearer ${key}`)}`;

describe("credential cookies beside a session", () => {
  const mine = `ck-mine-${tag}`.slice(0, 40);
  const theirs = `ck-theirs-${tag}`.slice(0, 40);
  // Hidden, and removed afterwards: other files list the workspaces of the shared database.
  afterAll(async () => {
    for (const name of [mine, theirs]) await asAdmin(`/admin/workspaces/${name}`, { method: "DELETE", env });
  });

  it("a signed-in browser acts as its session on the Argo route, whatever authorization cookie was planted beside it", async () => {
    for (const [name, role] of [
      [mine, "victim-role"],
      [theirs, "attacker-role"],
    ] as const) {
      const res = await asAdmin(`/admin/workspaces/${name}`, { method: "PUT", env, json: { roles: [role], hideForUnauthorized: true } });
      expect([200, 201], await res.clone().text()).toContain(res.status);
    }
    const attacker = (await createTestKey({ tenant: "acme", subject: `attacker-${tag}`, roles: ["attacker-role"] }, env)).key;
    const session = await sessionCookie(["victim-role"]);
    // Alone, each is what it is.
    expect((await browser(`/argo/api/v1/workflows/${mine}`, session)).status).toBe(200);
    expect((await browser(`/argo/api/v1/workflows/${theirs}`, authorizationCookie(attacker))).status).toBe(200);
    // Together, in either order: the session, never the planted cookie.
    for (const cookie of [`${authorizationCookie(attacker)}; ${session}`, `${session}; ${authorizationCookie(attacker)}`]) {
      expect((await browser(`/argo/api/v1/workflows/${mine}`, cookie)).status).toBe(200);
      expect((await browser(`/argo/api/v1/workflows/${theirs}`, cookie)).status).toBe(403);
    }
  });

  it("two authorization cookies are refused (401), never one of them chosen", async () => {
    const a = (await createTestKey({ tenant: "acme", subject: `a-${tag}`, roles: ["attacker-role"] }, env)).key;
    const b = (await createTestKey({ tenant: "acme", subject: `b-${tag}`, roles: ["victim-role"] }, env)).key;
    for (const cookie of [
      `${authorizationCookie(a)}; ${authorizationCookie(b)}`,
      `${authorizationCookie(b)}; theme=dark; ${authorizationCookie(a)}`,
    ]) {
      const res = await browser(`/argo/api/v1/workflows/${mine}`, cookie);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/more than one authorization cookie/);
    }
    // The same key twice is still two cookies: which path or domain set each is unknown.
    expect((await browser(`/argo/api/v1/workflows/${mine}`, `${authorizationCookie(b)}; ${authorizationCookie(b)}`)).status).toBe(401);
  });
});

describe("the order of credentials (pure)", () => {
  const sources = { cookieName: "authorization", sessionCookie: SESSION };
  const h = (init: Record<string, string>) => new Headers(init);

  it("header credential, then the session cookie, then the credential cookie", () => {
    expect(extractCredential(h({ cookie: `${SESSION}=sess; authorization=Bearer%20fgk_planted` }), sources)).toEqual({
      kind: "session",
      value: "sess",
      viaCookie: true,
    });
    expect(extractCredential(h({ cookie: "authorization=Bearer%20fgk_only" }), sources)).toEqual({
      kind: "api_key",
      value: "fgk_only",
      viaCookie: true,
    });
    // A script's header beside any cookie: the header, and no cookie read.
    expect(extractCredential(h({ "x-api-key": "fgk_header", cookie: `${SESSION}=s; authorization=fgk_planted` }), sources)).toEqual({
      kind: "api_key",
      value: "fgk_header",
    });
    // The Prefect UI's "no user" (`X-Prefect-User-ID: null`) is no credential: the session decides.
    for (const none of ["null", "undefined"]) {
      expect(extractCredential(h({ "x-prefect-user-id": none, cookie: `${SESSION}=sess` }), sources)).toEqual({
        kind: "session",
        value: "sess",
        viaCookie: true,
      });
    }
    expect(extractCredential(h({ "x-prefect-user-id": "null" }), sources)).toBeNull();
    // Without sessions on this route, the credential cookie alone.
    expect(extractCredential(h({ cookie: `${SESSION}=s; authorization=fgk_x` }), { cookieName: "authorization" })).toMatchObject({
      value: "fgk_x",
    });
  });

  it("refuses an ambiguous cookie header: two credential cookies, or two session cookies", () => {
    expect(() => extractCredential(h({ cookie: "authorization=fgk_a; authorization=fgk_b" }), sources)).toThrow(
      /more than one authorization cookie/,
    );
    expect(() => extractCredential(h({ cookie: "authorization=fgk_a; authorization=fgk_a" }), { cookieName: "authorization" })).toThrow(
      /more than one/,
    );
    expect(() => extractCredential(h({ cookie: `${SESSION}=a; ${SESSION}=b; authorization=fgk_a` }), sources)).toThrow(
      /more than one session cookie/,
    );
  });
});
