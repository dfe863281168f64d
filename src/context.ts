/**
 * What every handler finds on the Hono context, set once by the pipeline in src/app.ts.
 */
import type { Context } from "hono";
import type { Config, Env } from "./config";
import type { ControlState } from "./control";
import type { KeyLookupDeps } from "./identity/keyLookup";
import type { Principal } from "./identity/principal";
import type { SessionClaims } from "./identity/session";
import type { Logger } from "./log";

export interface AppVariables {
  requestId: string;
  config: Config;
  control: ControlState;
  log: Logger;
  /** Set by `authenticate`: null for a request without credential. */
  principal: Principal | null;
  /** Set by `authenticate` when the credential is the browser session cookie. */
  session?: SessionClaims;
  /** This route takes the session cookie (so a page load without one may be sent to sign in). */
  sessionAccepted?: boolean;
  /** GraphQL routes answer errors in GraphQL's shape, Conductor routes in Conductor's (src/pipeline.ts). */
  errorStyle: ErrorStyle;
  /** The gateway refused the request, whatever status it answered with (a GraphQL refusal may be a 200). */
  refused: boolean;
  /**
   * The route group the request is for (`prefect`, `conductor`, `workers`, `argo`, `flowapi`, `admin`, `auth`,
   * `gateway`), from its path's prefix, set first thing by the front door (src/pipeline.ts); named in audit entries.
   */
  engine?: string;
  /** The route recorded an audit entry for this request itself; the pipeline then records no allowed one (src/audit.ts). */
  auditedRequest?: boolean;
  /** The route recorded a refusal of this request itself; the error renderer then records none (src/audit.ts). */
  auditedRefusal?: boolean;
  /** The route found the request reads only, whatever its method (a GraphQL query sent by POST): audited as a read. */
  auditRead?: boolean;
  /** Where a sign-in that failed would have gone: its "try again" link goes back there (src/auth/pages.ts). */
  signInReturn?: string;
  /** Limits that applied to this request, for the RateLimit headers (src/ratelimit/enforce.ts). */
  rateLimit?: RateLimitOutcome;
  // `services` (what handlers use, built after authentication) is declared by src/services.ts, which sets it.
}

/**
 * What the response says about the limits that applied (set by src/ratelimit/enforce.ts, written by its
 * `writeRateLimitHeaders`). Defined here, with the context that carries it, so the context imports no limiter.
 */
export interface RateLimitOutcome {
  policy: string[];
  state: string[];
  retryAfterS?: number;
}

/** `signin`: sign-in's routes, which answer a person with a page and a script with the envelope (src/auth/pages.ts). */
export type ErrorStyle = "envelope" | "graphql" | "conductor" | "signin";

export type AppEnv = { Bindings: Env; Variables: AppVariables };
export type AppContext = Context<AppEnv>;

/** Dependencies of the key lookup, from the request context. */
export function keyLookupDeps(c: AppContext): KeyLookupDeps {
  return {
    config: c.get("config"),
    kv: c.env.KEY_CACHE,
    cacheEpoch: c.get("control").cacheEpoch,
    waitUntil: (p) => waitUntil(c, p),
    log: c.get("log"),
  };
}

/** `executionCtx.waitUntil`, tolerant of contexts without one (unit tests call `app.request` bare). */
export function waitUntil(c: AppContext, p: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(p);
  } catch {
    p.catch(() => {});
  }
}

/**
 * Changes the answer's headers in place; an answer whose headers are immutable (straight from `fetch` or a binding)
 * is copied once first, so a header the gateway adds never turns a good answer into a 500.
 */
export function editAnswerHeaders(c: AppContext, edit: (headers: Headers) => void): void {
  try {
    edit(c.res.headers);
  } catch {
    c.res = new Response(c.res.body, c.res);
    edit(c.res.headers);
  }
}
