/**
 * Browser sign-in (docs/browser-sign-in.md):
 *   GET  /auth/login?return_to=/path   start: sign-in transaction cookie, redirect to the provider (PKCE, state, nonce)
 *   GET  /auth/callback                the provider's redirect back: code -> ID token -> principal -> session cookie
 *   POST /auth/key                     no provider needed: a flowgate key (admin, or a workspace admin's) for a session
 *   GET  /auth/session                 who this browser is signed in as, and its CSRF token (for the console)
 *   GET  /auth/methods                 how a browser can sign in here (a provider, a key), for the console's sign-in
 *   POST /auth/logout                  sign-out: the cookie cleared and the session's id revoked
 *   GET  /auth/signed-out              a plain page saying so
 *
 * A failure of any of them answers a person with a page in words and a link to start again, and a script with the
 * error envelope (the `signin` error style, src/pipeline.ts).
 */
import { Hono } from "hono";
import { recordAudit } from "../audit";
import type { SessionConfig } from "../config";
import type { AppContext, AppEnv } from "../context";
import { keyLookupDeps } from "../context";
import type { Engine } from "../engine";
import { GatewayError, badRequest, forbidden, notFound, unauthenticated } from "../errors";
import { KV } from "../cache/kv";
import { constantTimeEqual, sha256Hex } from "../formats/apiKey";
import { authenticate } from "../identity/authenticate";
import { admit } from "../identity/admission";
import { crossSiteCheck, safeReturnPath, sameOriginCheck, wantsPage } from "../identity/browser";
import { allow, orThrow } from "../verdict";
import { principalFromClaims } from "../identity/jwt";
import { authorizationUrl, discover, idTokenClaims, redeemCode } from "../identity/oidc";
import { isAdminPrincipal, type Principal } from "../identity/principal";
import { publishRevocation } from "../identity/revocation";
import {
  clearCookie,
  cookieNamesFor,
  cookieOf,
  newSession,
  newSignIn,
  openSession,
  openSignIn,
  sealSession,
  sealSignIn,
  sessionRevocationFacts,
  setCookie,
  type CookieNames,
  type SessionClaims,
} from "../identity/session";
import { LOGIN_TRANSACTION_TTL_S, MAX_SESSION_COOKIE_BYTES } from "../constants";
import { authenticated, requirePrincipal } from "../pipeline";
import { readBodyLimited, utf8 } from "../proxy/body";
import { requireJsonDepth } from "../proxy/json";
import { PAGE_CSP, escapeHtml, pageHtml, signInLink } from "./pages";

/** The callback's path: OIDC_REDIRECT_URI must point here on the gateway's own origin. */
export const CALLBACK_PATH = "/auth/callback";

const nowS = () => Date.now() / 1000;

function sessionConfig(c: AppContext): SessionConfig {
  const s = c.get("config").session;
  if (!s) throw notFound("browser sessions are not configured (SESSION_SECRETS)");
  return s;
}

function namesFor(c: AppContext): CookieNames {
  const names = cookieNamesFor(new URL(c.req.url));
  if (!names) throw badRequest("browser sign-in needs https (plain http only on 127.0.0.1 or localhost)");
  return names;
}

/** Answers that carry a cookie or a sign-in step are never stored by a cache. */
function noStore(res: Response): Response {
  res.headers.set("cache-control", "no-store");
  return res;
}

/** The new session's cookie, with the sign-in audited. */
async function startSession(c: AppContext, s: SessionClaims, config: SessionConfig, names: CookieNames): Promise<string> {
  const sealed = await sealSession(s, config);
  if (sealed.length > MAX_SESSION_COOKIE_BYTES) {
    throw badRequest(
      `the identity provider sent more roles, groups or scopes than a browser cookie can hold (${sealed.length} > ${MAX_SESSION_COOKIE_BYTES} bytes); narrow the claims it releases to the gateway`,
    );
  }
  recordAudit(c, {
    action: "session.start",
    decision: "done",
    actorSubject: s.sub,
    actorKeyId: null,
    tenant: s.tenant ?? null,
    target: s.src,
    requestId: c.get("requestId"),
    details: { source: s.src, expiresAt: new Date(s.max * 1000).toISOString() },
  });
  return setCookie(names.session, sealed, Math.min(config.idleTtlS, s.max - nowS()), names.secure);
}

function redirectWith(location: string, cookies: string[]): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

/** A plain page (src/auth/pages.ts); `body` is HTML built from escaped parts. */
function page(c: AppContext, title: string, body: string): Response {
  const res = c.html(pageHtml(title, body));
  res.headers.set("content-security-policy", PAGE_CSP);
  return noStore(res);
}

/** Whether a key may become a browser session: an admin's, or one an engine says administers something of it. */
async function mayExchangeKey(c: AppContext, p: Principal, engines: readonly Engine[]): Promise<boolean> {
  if (isAdminPrincipal(p)) return true;
  for (const e of engines) if (e.opensSession && (await e.opensSession(c, p))) return true;
  return false;
}

/** `engines` (the registry, from src/app.ts) say which keys besides an admin's may open a session. */
export function authRoutes(engines: readonly Engine[]): Hono<AppEnv> {
  const r = new Hono<AppEnv>();

  r.get("/login", async (c) => {
    const config = c.get("config");
    const session = sessionConfig(c);
    const names = namesFor(c);
    const ret = safeReturnPath(c.req.query("return_to"));
    c.set("signInReturn", ret);
    if (!config.oidc) {
      if (!session.keyExchange) throw notFound("no identity provider is configured (OIDC_*)");
      return page(
        c,
        "Sign in to flowgate",
        `<form method="post" action="/auth/key"><label>flowgate key <input name="key" type="password" autocomplete="off" required></label><input type="hidden" name="return_to" value="${escapeHtml(ret)}"><button>Sign in</button></form>`,
      );
    }
    const t = newSignIn(ret, nowS());
    const provider = await discover(config.oidc, config.jwt.clockToleranceS);
    const headers = new Headers({ location: await authorizationUrl(provider, config.oidc, t), "cache-control": "no-store" });
    headers.append("set-cookie", setCookie(names.signin, await sealSignIn(t, session), LOGIN_TRANSACTION_TTL_S, names.secure));
    return new Response(null, { status: 302, headers });
  });

  r.get("/callback", async (c) => {
    const config = c.get("config");
    const oidc = config.oidc;
    if (!oidc) throw notFound("no identity provider is configured (OIDC_*)");
    const session = sessionConfig(c);
    const names = namesFor(c);
    const url = new URL(c.req.url);
    // Exact redirect URI: a callback reached on another origin or path is not this client's.
    if (`${url.origin}${url.pathname}` !== oidc.redirectUri) throw badRequest("this is not the registered redirect URI");
    // The sign-in cookie is left to expire (LOGIN_TRANSACTION_TTL_S) or be replaced by the next /auth/login.
    const failed = unauthenticated;
    const providerError = url.searchParams.get("error");
    if (providerError !== null)
      throw failed(`the identity provider did not sign you in (${providerError.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 64)})`);
    const code = url.searchParams.get("code");
    const state = url.searchParams.get("state");
    if (!code || !state || code.length > 2_048 || state.length > 512) throw failed("the provider's answer lacks code or state");
    const carried = cookieOf(c.req.header("cookie") ?? null, names.signin);
    if (carried.value === undefined || carried.repeated) throw failed("no sign-in in progress in this browser; start again");
    const t = await openSignIn(carried.value, session, nowS());
    if (!t) throw failed("the sign-in expired or is not this gateway's; start again");
    c.set("signInReturn", safeReturnPath(t.ret));
    // `state` ties the provider's answer to this browser's own sign-in (login CSRF, injected codes).
    if (!constantTimeEqual(state, t.state)) throw failed("state does not match this browser's sign-in");
    // And each state is used once: a replayed callback (same cookie, same URL) is refused before the code is redeemed.
    const kv = c.env.KEY_CACHE;
    const used = KV.signInState(await sha256Hex(t.state));
    if ((await kv.get(used)) !== null) throw failed("this sign-in was already completed; start again");
    await kv.put(used, "1", { expirationTtl: Math.max(60, LOGIN_TRANSACTION_TTL_S) });

    const provider = await discover(oidc, config.jwt.clockToleranceS);
    const claims = await idTokenClaims(provider, await redeemCode(provider, oidc, url.searchParams, t), t.nonce);
    // The same claim mapping as bearer JWTs (JWT_CLAIM_*): RBAC, workspaces and GraphQL scopes see one principal.
    const p = principalFromClaims(claims, config);
    // Who may enter at all (OIDC_ALLOWED_*, and never an account that maps to nothing): refused before any session.
    const admitted = admit(claims, p, oidc.allowed);
    if (!admitted.ok) {
      recordAudit(c, {
        action: "session.refused",
        decision: "refused",
        actorSubject: p.subject,
        actorKeyId: null,
        tenant: p.tenant ?? null,
        target: "oidc",
        requestId: c.get("requestId"),
        details: { reason: admitted.reason },
      });
      orThrow(admitted);
    }
    const s = newSession(
      { src: "oidc", sub: p.subject, email: p.email, tenant: p.tenant, roles: p.roles, groups: p.groups, scopes: [...p.scopes] },
      session,
      nowS(),
    );
    return redirectWith(t.ret, [await startSession(c, s, session, names), clearCookie(names.signin, names.secure)]);
  });

  r.post("/key", async (c) => {
    const session = sessionConfig(c);
    if (!session.keyExchange) throw notFound("key sign-in is turned off (SESSION_KEY_EXCHANGE)");
    const names = namesFor(c);
    // No session yet, so no CSRF token: the browser's own Origin / Sec-Fetch-Site must name this gateway (a
    // cross-site page must not sign a victim in with the attacker's key).
    orThrow(sameOriginCheck(c.req.raw.headers, new URL(c.req.url).origin));
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const text = utf8(await readBodyLimited(c.req.raw, 16_384));
    let key: unknown;
    let ret: unknown;
    if (type === "application/json") {
      requireJsonDepth(text);
      try {
        ({ key, return_to: ret } = JSON.parse(text) as { key?: unknown; return_to?: unknown });
      } catch {
        throw badRequest("body is not JSON");
      }
    } else if (type === "application/x-www-form-urlencoded") {
      const form = new URLSearchParams(text);
      key = form.get("key");
      ret = form.get("return_to");
    } else {
      throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", "send the key as JSON or as a form");
    }
    c.set("signInReturn", safeReturnPath(ret));
    if (typeof key !== "string" || key === "") throw badRequest("key is required");
    const outcome = await authenticate(new Headers({ authorization: `Bearer ${key}` }), keyLookupDeps(c));
    const p = outcome.principal;
    if (!p || p.kind !== "api_key") throw unauthenticated("only a flowgate key can be exchanged for a session");
    if (!(await mayExchangeKey(c, p, engines))) throw forbidden("only an admin's or a workspace admin's key opens a browser session");
    const s = newSession(
      { src: "key", sub: p.subject, email: p.email, tenant: p.tenant, roles: [], groups: [], scopes: [], keyHash: await sha256Hex(key) },
      session,
      nowS(),
    );
    const cookie = await startSession(c, s, session, names);
    if (type !== "application/json") return redirectWith(safeReturnPath(ret), [cookie]);
    // A script asked: answer JSON (the cookie is set all the same), not a redirect it would follow blindly.
    const json = c.json({ subject: s.sub, source: s.src, expiresAt: new Date(s.max * 1000).toISOString(), csrfToken: s.csrf });
    json.headers.append("set-cookie", cookie);
    return noStore(json);
  });

  r.get("/session", authenticated(), async (c) => {
    const p = requirePrincipal(c);
    const s = c.get("session");
    if (p.kind !== "session" || !s) throw unauthenticated("no browser session");
    return noStore(
      c.json({
        subject: p.subject,
        email: p.email,
        tenant: p.tenant,
        roles: p.roles,
        groups: p.groups,
        scopes: p.scopes,
        keyId: p.keyId,
        source: s.src,
        signedInAt: new Date(s.auth * 1000).toISOString(),
        idleExpiresAt: new Date(s.exp * 1000).toISOString(),
        expiresAt: new Date(s.max * 1000).toISOString(),
        csrfToken: s.csrf,
      }),
    );
  });

  // Public: what the console's sign-in offers (a provider's link, the key form), so it never shows a way that cannot work.
  r.get("/methods", (c) => {
    const config = c.get("config");
    return c.json({ provider: !!config.oidc && !!config.session, keyExchange: !!config.session?.keyExchange });
  });

  r.post("/logout", async (c) => {
    const session = sessionConfig(c);
    const names = namesFor(c);
    const carried = cookieOf(c.req.header("cookie") ?? null, names.session);
    let s: SessionClaims | null = null;
    if (carried.value !== undefined && !carried.repeated) s = await openSession(carried.value, session, nowS()).catch(() => null);
    if (s) {
      // The same proof as any change made with the cookie; a plain form sends its token as `csrf_token`.
      const origin = new URL(c.req.url).origin;
      let verdict = crossSiteCheck("POST", c.req.raw.headers, origin, s.csrf);
      if (
        !verdict.ok &&
        sameOriginCheck(c.req.raw.headers, origin).ok &&
        (c.req.header("content-type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")
      ) {
        const token = new URLSearchParams(utf8(await readBodyLimited(c.req.raw, 4_096))).get("csrf_token");
        if (token !== null && constantTimeEqual(token, s.csrf)) verdict = allow();
      }
      orThrow(verdict);
      // A copy of the cookie (another tab, a stolen one) must die too: its id is revoked until it would have ended.
      const facts = sessionRevocationFacts(s);
      await publishRevocation(c.env.KEY_CACHE, "jti", facts.jti, new Date(), new Date(s.max * 1000));
      recordAudit(c, {
        action: "session.end",
        decision: "done",
        actorSubject: s.sub,
        actorKeyId: null,
        tenant: s.tenant ?? null,
        target: s.src,
        requestId: c.get("requestId"),
        details: { source: s.src },
      });
    }
    const res = wantsPage(c.req.raw.headers)
      ? new Response(null, { status: 303, headers: { location: "/auth/signed-out" } })
      : c.json({ signedOut: true });
    res.headers.append("set-cookie", clearCookie(names.session, names.secure));
    return noStore(res);
  });

  r.get("/signed-out", (c) =>
    page(c, "Signed out", `<p><a href="${escapeHtml(signInLink(safeReturnPath(c.req.query("return_to"))))}">Sign in again</a></p>`),
  );

  return r;
}
