/**
 * What handlers use, built once per request by the `requestServices` step after authentication (like Unkey's init
 * middleware): each engine's upstream client, with the principal's identity headers, the timeout and the request's
 * one subrequest budget fixed when it is made; `requireUpstream`, the one "X_URL is not set" refusal; and the
 * read-through lists. Nothing below a handler reads the Hono context: what it needs is given to it here.
 */
import type { MiddlewareHandler } from "hono";
import type { ReadThroughList } from "./cache/readThrough";
import type { Config } from "./config";
import { waitUntil, type AppContext, type AppEnv } from "./context";
import { GatewayError } from "./errors";
import { SubrequestBudget } from "./proxy/budget";
import { forward } from "./proxy/forward";
import { principalHeaders, type Engine } from "./proxy/headers";

export type UpstreamName = keyof Config["upstreams"];

/**
 * Each upstream: the variable that sets it (named in the refusal when unset), the engine whose header allow-list
 * applies, and the gateway prefix its `Location` answers are kept under. Schellar is Conductor's scheduler, served
 * under Conductor's routes.
 */
const UPSTREAMS: Record<UpstreamName, { variable: string; engine: Engine; routePrefix: string }> = {
  prefect: { variable: "PREFECT_GRAPHQL_URL", engine: "prefect", routePrefix: "/prefect" },
  conductor: { variable: "CONDUCTOR_URL", engine: "conductor", routePrefix: "/conductor" },
  schellar: { variable: "SCHELLAR_URL", engine: "conductor", routePrefix: "/conductor" },
  argo: { variable: "ARGO_URL", engine: "argo", routePrefix: "/argo" },
  flowapi: { variable: "FLOWAPI_URL", engine: "flowapi", routePrefix: "/flowapi" },
};

/** An upstream's base URL, or BAD_CONFIGURATION naming the variable to set. */
export function requireUpstream(config: Config, name: UpstreamName): string {
  const url = config.upstreams[name];
  if (!url) {
    const { variable } = UPSTREAMS[name];
    throw new GatewayError("BAD_CONFIGURATION", `${variable} is not set`, { variables: [variable] });
  }
  return url;
}

/** One call to an upstream, as a handler builds it (path and query already rebuilt from checked values). */
export interface UpstreamRequest {
  path: string;
  method: string;
  /** The client's headers (only the engine's allow-list passes) or the handler's own. */
  headers: Headers;
  body?: BodyInit | null;
  /** Bound on the wait for the answer's head; the configured UPSTREAM_TIMEOUT_MS unless a route waits longer. */
  timeoutMs?: number;
}

/**
 * One engine's upstream for one request. Every call goes through `forward` (timeout, allow-listed headers, identity
 * headers, errors in the envelope) and draws on the request's subrequest budget.
 */
export class UpstreamClient {
  constructor(
    readonly engine: Engine,
    /** The upstream's base URL: part of any cache key, so two upstreams never share an answer. */
    readonly base: string,
    readonly routePrefix: string,
    private readonly identity: Record<string, string>,
    private readonly timeoutMs: number,
    readonly budget: SubrequestBudget,
  ) {}

  send(req: UpstreamRequest): Promise<Response> {
    if (!this.budget.take()) throw new GatewayError("LIMIT_EXCEEDED", "this request needs more upstream calls than one request may make");
    return forward({
      engine: this.engine,
      upstream: this.base,
      path: req.path,
      routePrefix: this.routePrefix,
      method: req.method,
      headers: req.headers,
      identity: this.identity,
      body: req.body,
      timeoutMs: req.timeoutMs ?? this.timeoutMs,
    });
  }
}

// The step that sets `services` declares it on the context: the context is read by this module, so it does not
// import this module back (a cycle).
declare module "./context" {
  interface AppVariables {
    /** What handlers use, built once after authentication by `requestServices`. */
    services: Services;
  }
}

export interface Services {
  /** An upstream's base URL, or BAD_CONFIGURATION naming its variable. */
  requireUpstream(name: UpstreamName): string;
  /**
   * The client for an upstream (made on first use, so an unset URL is refused where the request first needs it).
   * `anonymous`: without the principal's headers (the UIs' own files, which belong to no one).
   */
  upstream(name: UpstreamName, options?: { anonymous?: boolean }): UpstreamClient;
  /** A read-through list (src/cache/readThrough.ts), read with this request's configuration and KV. */
  cached<T>(list: ReadThroughList<T>): Promise<T[]>;
  /** The request's one subrequest budget, which every client draws on. */
  readonly budget: SubrequestBudget;
}

/** The request's services, from what the pipeline has established so far (call after authentication). */
export function buildServices(c: AppContext): Services {
  const config = c.get("config");
  const requestId = c.get("requestId");
  const identity = principalHeaders(c.get("principal"), requestId);
  const anonymous = principalHeaders(null, requestId);
  const kv = c.env.KEY_CACHE;
  const budget = new SubrequestBudget(config.subrequestBudget);
  const clients = new Map<string, UpstreamClient>();
  const deps = { config, kv, waitUntil: (p: Promise<unknown>) => waitUntil(c, p) };
  return {
    budget,
    requireUpstream: (name) => requireUpstream(config, name),
    upstream(name, options = {}) {
      const key = options.anonymous ? `${name}:anonymous` : name;
      let client = clients.get(key);
      if (!client) {
        const { engine, routePrefix } = UPSTREAMS[name];
        client = new UpstreamClient(engine, requireUpstream(config, name), routePrefix, options.anonymous ? anonymous : identity, config.upstreamTimeoutMs, budget);
        clients.set(key, client);
      }
      return client;
    },
    cached: (list) => list.read(deps),
  };
}

/** The step after authentication that builds the request's services (`c.get("services")`). */
export const requestServices: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("services", buildServices(c));
  await next();
};
