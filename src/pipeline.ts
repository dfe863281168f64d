/**
 * The request pipeline's shared steps, as Hono middleware, in the order src/app.ts applies them:
 * request id -> configuration -> control state + logger -> CORS -> (per route) authenticate -> authorize.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Config, ConfigResult, Env } from "./config";
import { REQUEST_ID_PATTERN } from "./constants";
import { controlState, effectiveLogLevel } from "./control";
import type { AppContext, AppEnv, AppVariables, ErrorStyle } from "./context";
import { editAnswerHeaders, keyLookupDeps, waitUntil } from "./context";
import { GatewayError, conductorErrorBody, errorEnvelope, graphqlErrorBody, toGatewayError, unauthenticated } from "./errors";
import { graphqlResponse, graphqlStatus, negotiateGraphQLMedia } from "./graphqlHttp";
import { authenticate, type AuthOutcome } from "./identity/authenticate";
import { PAGE_CSP, signInFailureHtml } from "./auth/pages";
import { crossSiteCheck, isBrowserNavigation, safeReturnPath, wantsPage } from "./identity/browser";
import { cookieNamesFor, sealSession, setCookie } from "./identity/session";
import type { CredentialSources } from "./identity/credentials";
import type { Principal } from "./identity/principal";
import { auditAllowed, auditRefusal } from "./audit";
import { DryRunHalt, currentDryRun } from "./dryRun";
import { createLogger } from "./log";
import { limitTable, limitTableFresh } from "./ratelimit/limits";
import { allow, orThrow, refuse, type Verdict } from "./verdict";

/**
 * Conductor's clients read Conductor's error shape: every answer under its routes has it, whichever layer refuses
 * (configuration, authentication, path checks, limits, not found), so the style is set from the path first thing.
 */
function errorStyleOf(pathname: string): ErrorStyle {
  if (pathname.startsWith("/auth/")) return "signin";
  return /^\/(workers\/)?conductor(\/|$)/.test(pathname) ? "conductor" : "envelope";
}

/**
 * errorStyleOf for a request URL, parsing it only when it could be a Conductor or sign-in path: the parser never
 * makes the letters of "conductor" or "/auth/" out of anything else, so a URL without them is "envelope" either way.
 */
const errorStyleOfUrl = (url: string): ErrorStyle =>
  url.includes("conductor") || url.includes("/auth/") ? errorStyleOf(new URL(url).pathname) : "envelope";

/**
 * Refuses (400), before any route is chosen, a path that an upstream could read differently from the gateway:
 * encoded `/` or `\` (Go's router before 1.22 and any decoding proxy split on them), encoded dots (a `%2e%2e`
 * segment is `..` to whoever decodes it), escapes of escapes (`%252F` is `%2F` after one decode), NUL and other
 * control characters, `;` (Tomcat/Spring strip `;...` matrix parameters from a segment), raw `\`, empty
 * segments (`//`: Go's ServeMux redirects to the cleaned path) and escapes that are not UTF-8 (overlong forms
 * such as `%C0%AF`). Legitimate clients never send any of these: names on every engine are plain.
 */
export function checkPath(rawPath: string): Verdict {
  if (/[\\;\x00-\x1f\x7f]/.test(rawPath)) return refuse("the path holds a backslash, a ';' or a control character");
  if (rawPath.includes("//")) return refuse("the path holds an empty segment");
  if (!rawPath.includes("%")) return allow();
  if (/%(?![0-9A-Fa-f]{2})/.test(rawPath)) return refuse("the path holds a malformed escape");
  if (/%(2f|5c|2e|3b|25|0[0-9a-f]|1[0-9a-f]|7f)/i.test(rawPath))
    return refuse("the path holds an encoded '/', '\\', '.', ';', '%' or control character");
  try {
    decodeURIComponent(rawPath);
  } catch {
    return refuse("the path holds an escape that is not UTF-8");
  }
  return allow();
}

/** The path exactly as the client sent it (no decoding, no normalisation beyond the URL parser's). */
function rawPathOf(url: string): string {
  const afterScheme = url.indexOf("//");
  const start = url.indexOf("/", afterScheme < 0 ? 0 : afterScheme + 2);
  if (start < 0) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}

/**
 * The pipeline's shared steps, run for every request as ONE middleware (one async frame rather than six: each
 * middleware costs the runtime a promise and a closure per request, docs/benchmarks.md), in this order:
 *
 * 1. request context: the request id (the client's if plain, else new), the error style (from the path), and the
 *    registry's upstreams (`c.get("upstreams")`: shared code learns them from the composition root);
 * 2. configuration: validated once per isolate, the control state from KV (src/control.ts), a logger at the
 *    effective level;
 * 3. the path guard (`checkPath`): the first decision, so its refusals are logged like any other;
 * 4. CORS: preflights answered before any credential is asked for;
 * 5. the route; then `finish` (the rate-limit headers), `X-Request-Id`, and the access log line.
 *
 * A refusal in steps 2-4 is rendered here (renderError), so the answer still gets its request id and log line.
 */
export function frontDoor(options: {
  configFor: (env: Env) => ConfigResult;
  upstreams: AppVariables["upstreams"];
  /** The route groups by mount (the engines', `/admin`, `/auth`), for `c.get("engine")`; any other path is `gateway`. */
  groups?: readonly { name: string; mount: string }[];
  /** Run on every answer before it leaves (src/ratelimit/enforce.ts writes the RateLimit headers). */
  finish: (c: AppContext) => void;
}): MiddlewareHandler<AppEnv> {
  const { configFor, upstreams, finish } = options;
  // Longest mount first, so a nested mount (none today) wins over its parent.
  const groups = [...(options.groups ?? [])].sort((a, b) => b.mount.length - a.mount.length);
  const groupOf = (path: string): string => groups.find((g) => path === g.mount || path.startsWith(`${g.mount}/`))?.name ?? "gateway";
  return async (c, next) => {
    const url = c.req.url;
    // Read once: it names the route group and is the path checked below.
    const rawPath = rawPathOf(url);
    c.set("engine", groupOf(rawPath));
    const offered = c.req.header("x-request-id");
    const requestId = offered && REQUEST_ID_PATTERN.test(offered) ? offered : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("principal", null);
    c.set("errorStyle", errorStyleOfUrl(url));
    c.set("refused", false);
    c.set("upstreams", upstreams);
    const started = Date.now();
    try {
      const result = configFor(c.env);
      if (!result.ok) throw result.error; // renderError logs it, naming the variables only
      const config = result.config;
      c.set("config", config);
      const pending = controlState(c.env.KEY_CACHE, (p) => waitUntil(c, p));
      const control = pending instanceof Promise ? await pending : pending;
      c.set("control", control);
      c.set("log", createLogger(effectiveLogLevel(config.logLevel, control), { requestId }));
      orThrow(checkPath(rawPath));
      // A preflight is answered by CORS itself (its return value); everything else by the route, through next().
      const answer = await corsPolicy(c, next);
      if (answer instanceof Response) c.res = answer;
    } catch (err) {
      c.res = renderError(err, c);
    }
    if (c.get("config") && !currentDryRun()) auditAllowed(c, (c.get("services")?.budget.spent ?? 0) > 0);
    finish(c);
    editAnswerHeaders(c, (h) => h.set("x-request-id", requestId));
    const log = c.get("log");
    if (log?.enabled("info")) {
      const p = c.get("principal");
      log.info("request", {
        method: c.req.method,
        path: new URL(url).pathname,
        status: c.res.status,
        durationMs: Date.now() - started,
        subject: p?.subject,
        keyId: p?.keyId,
        decision: c.get("refused") || c.res.status >= 400 ? "refused" : "allowed",
      });
    }
  };
}

/** The CORS middleware for one origin list, built once per configuration rather than per request. */
const corsFor = new WeakMap<readonly string[], MiddlewareHandler<AppEnv>>();

/** CORS for the listed browser origins; preflights are answered here, before any credential is asked for. */
const corsPolicy: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origins = c.get("config").corsOrigins;
  if (origins.length === 0) {
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      return c.body(null, 204);
    }
    return next();
  }
  let middleware = corsFor.get(origins);
  if (!middleware) {
    const allowed = new Set(origins);
    middleware = cors({
      origin: (origin) => (allowed.has(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "X-API-Key", "X-Authorization", "X-Prefect-User-Id", "X-Request-Id"],
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      // Rate-limit answers are for browser clients too (src/ratelimit/enforce.ts).
      exposeHeaders: ["X-Request-Id", "Location", "Retry-After", "RateLimit", "RateLimit-Policy"],
      credentials: true,
      maxAge: 600,
    });
    corsFor.set(origins, middleware);
  }
  return middleware(c, next);
};

/**
 * Establishes `c.get("principal")` (null when the request carries no credential). Every route that asks for a
 * credential also takes the browser session cookie (when SESSION_SECRETS is set): one front door. A change carried
 * by a cookie must prove it comes from the gateway's own pages (src/identity/browser.ts); a session in use past
 * half its idle time leaves with a renewed cookie.
 */
export function authenticated(sources: CredentialSources = {}, options: { browserSession?: boolean } = {}): MiddlewareHandler<AppEnv> {
  const takesSession = options.browserSession ?? true;
  return async (c, next) => {
    const config = c.get("config");
    // Parsed only where sessions are on: most requests carry a key or token and never need the URL here.
    const url = config.session && takesSession ? new URL(c.req.url) : null;
    const names = url ? cookieNamesFor(url) : null;
    if (names) c.set("sessionAccepted", true);
    // `/admin/explain` about a key by id: the principal comes from the operator's question, not a credential.
    const dryRun = currentDryRun();
    // The limit table does not depend on who asks: when this isolate must read it (KV, else the database), that
    // read starts now, beside the credential's lookup, and the charge after authentication joins it (one round
    // trip on a new isolate instead of two; fresh in memory, as on almost every request, nothing is started). Kept
    // alive by `waitUntil`: a request answered before its charge (a redirect, a refusal) must not leave behind a
    // read its I/O context no longer carries, which the next request would wait on forever.
    const epoch = c.get("control").cacheEpoch;
    if (!dryRun && !limitTableFresh(config, epoch))
      waitUntil(
        c,
        limitTable(c.env.KEY_CACHE, config, epoch, (p) => waitUntil(c, p)).catch(() => {}),
      );
    const outcome: AuthOutcome = dryRun?.askedPrincipal
      ? { principal: dryRun.askedPrincipal, lookup: "explain" }
      : await authenticate(c.req.raw.headers, keyLookupDeps(c), names ? { ...sources, sessionCookie: names.session } : sources);
    if (dryRun) dryRun.principal = outcome.principal;
    if (outcome.viaCookie) {
      orThrow(crossSiteCheck(c.req.method, c.req.raw.headers, (url ?? new URL(c.req.url)).origin, outcome.session?.claims.csrf ?? null));
    }
    c.set("principal", outcome.principal);
    if (outcome.session) c.set("session", outcome.session.claims);
    if (outcome.principal) {
      const log = c.get("log").with({ subject: outcome.principal.subject, keyId: outcome.principal.keyId });
      c.set("log", log);
      if (log.enabled("debug")) log.debug("auth.ok", { kind: outcome.principal.kind, lookup: outcome.lookup });
    }
    await next();
    const renewed = outcome.session?.renewed;
    if (renewed && names && config.session) {
      const maxAgeS = Math.min(config.session.idleTtlS, renewed.max - Date.now() / 1000);
      const cookie = setCookie(names.session, await sealSession(renewed, config.session), maxAgeS, names.secure);
      editAnswerHeaders(c, (h) => h.append("set-cookie", cookie));
    }
  };
}

/** Whether a browser can sign in here: sessions on, and a provider or the key exchange to start one. */
export const signInConfigured = (config: Config | undefined): boolean => !!config?.session && (!!config.oidc || config.session.keyExchange);

/** Whether an unauthenticated page load should be sent to sign in rather than shown a 401. */
function signInRedirect(c: AppContext, e: GatewayError): Response | null {
  if (e.status !== 401) return null;
  if (!signInConfigured(c.get("config"))) return null;
  // Only where a session would be taken, and only when none was: a signed-in browser refused anyway (a route that
  // does not take sessions, like FlowAPI's) sees the 401 instead of going round through sign-in forever.
  if (!c.get("sessionAccepted") || c.get("session")) return null;
  if (!isBrowserNavigation(c.req.method, c.req.raw.headers)) return null;
  const url = new URL(c.req.url);
  if (url.pathname.startsWith("/auth/")) return null; // a failed sign-in shows its reason, never loops
  const location = `/auth/login?return_to=${encodeURIComponent(safeReturnPath(`${url.pathname}${url.search}`))}`;
  return new Response(null, { status: 302, headers: { location, "cache-control": "no-store" } });
}

/** The principal, or 401 when the request carried no credential. */
export function requirePrincipal(c: AppContext): Principal {
  const p = c.get("principal");
  if (!p) throw unauthenticated("credential required");
  return p;
}

type ErrorRenderer = (e: GatewayError, requestId: string, c: AppContext) => Response;

/** How each route's errors look; a route picks its style with `c.set("errorStyle", ...)`. */
const ERROR_RENDERERS: Record<AppVariables["errorStyle"], ErrorRenderer> = {
  envelope: (e, requestId, c) => c.json(errorEnvelope(e, requestId), e.status as 400),
  // GraphQL's shape, with the status and media type the client's Accept calls for (src/graphqlHttp.ts).
  graphql: (e, requestId, c) => {
    const media = negotiateGraphQLMedia(c.req.header("accept"));
    return graphqlResponse(graphqlErrorBody(e, requestId), graphqlStatus(e.status, media), media);
  },
  // Conductor's ErrorResponse at the top level, which every Conductor client reads (src/errors.ts).
  conductor: (e, requestId, c) => c.json(conductorErrorBody(e, requestId), e.status as 400),
  // A person signing in reads what went wrong and how to start again; a script gets the envelope.
  signin: (e, requestId, c) => {
    if (!wantsPage(c.req.raw.headers)) return c.json(errorEnvelope(e, requestId), e.status as 400);
    const res = c.html(signInFailureHtml(e, requestId, c.get("signInReturn") ?? "/"), e.status as 400);
    res.headers.set("content-security-policy", PAGE_CSP);
    res.headers.set("cache-control", "no-store");
    return res;
  },
};

/** The one error renderer: the route's error style picks the shape. Never a stack trace. */
export function renderError(err: unknown, c: AppContext): Response {
  const e = toGatewayError(err);
  const dryRun = currentDryRun();
  if (dryRun) {
    // Only a refusal made before the upstream call decided; what follows the halt is the halt's own echo.
    if (err instanceof DryRunHalt) return c.body(null, 204);
    if (!dryRun.upstreamCall) dryRun.error ??= e;
  }
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const log = c.get("log") ?? createLogger("warn", { requestId });
  if (!(err instanceof GatewayError)) {
    log.error("request.unhandled", { error: (err instanceof Error ? err.name : typeof err).slice(0, 100) });
  } else if (e.status >= 500) {
    log.error("request.failed", { code: e.code, message: e.message });
  } else {
    log.info("request.refused", { code: e.code, status: e.status });
  }
  c.set("refused", true);
  // The one place every refusal passes: it is audited here, whichever layer refused (a 5xx is a failure, not a
  // decision, and is logged above). An explained request is the operator's question, not a client's refusal.
  if (e.status >= 400 && e.status < 500 && !dryRun) auditRefusal(c, e);
  const redirect = signInRedirect(c, e);
  if (redirect) {
    redirect.headers.set("x-request-id", requestId);
    return redirect;
  }
  // A refusal made before the front door set the style (none today) still answers in its route's shape.
  const res = ERROR_RENDERERS[c.get("errorStyle") ?? errorStyleOfUrl(c.req.url)](e, requestId, c);
  res.headers.set("x-request-id", requestId);
  if (res.status === 401) res.headers.set("www-authenticate", 'Bearer realm="flowgate"');
  return res;
}
