/**
 * What handlers use, built once per request by the `requestServices` step after authentication (like Unkey's init
 * middleware): each engine's upstream client, with the principal's identity headers and their signed assertion, the
 * timeout and the request's one subrequest budget fixed when it is made; `requireUpstream`, the one "X_URL is not set" refusal; and the
 * read-through lists. Nothing below a handler reads the Hono context: what it needs is given to it here.
 */
import type { MiddlewareHandler } from "hono";
import type { ReadThroughList } from "./cache/readThrough";
import type { Config } from "./config";
import { waitUntil, type AppContext, type AppEnv } from "./context";
import { GatewayError } from "./errors";
import { SubrequestBudget } from "./proxy/budget";
import { asserterFor, type Asserter } from "./proxy/assertion";
import { forward } from "./proxy/forward";
import { principalHeaders } from "./proxy/headers";

/** The upstreams the engines' configuration pieces add to `Config` (`config.upstreams.<name>`). */
export type UpstreamName = keyof Config["upstreams"];

/**
 * One upstream as the engine that calls it declares it (its Engine entry's `upstreams`, src/engine.ts): what the
 * shared code needs to call it without knowing the engine.
 */
export interface UpstreamDeclaration {
  /** The variable that sets its URL, named in the refusal when it is unset. */
  variable: string;
  /** The gateway prefix its `Location` answers are kept under: `/conductor`. */
  routePrefix: `/${string}`;
  /**
   * The client headers it receives (its engine's allow-list; src/proxy/headers.ts says what never passes). Written
   * in the engine's folder with why each one passes, so adding a header is reviewed where the engine is.
   */
  forwardedHeaders: readonly string[];
}

/** Every engine's upstreams, by name: put together by the composition root (src/app.ts) from the registry. */
export type UpstreamTable = Readonly<Partial<Record<UpstreamName, UpstreamDeclaration>>>;

/**
 * The registry's upstreams in one table. Two entries declaring one name would make which allow-list applies depend
 * on their order, so that is refused when the app is built.
 */
export function upstreamTable(engines: readonly { name: string; upstreams?: UpstreamTable }[]): UpstreamTable {
  const table: Partial<Record<UpstreamName, UpstreamDeclaration>> = {};
  for (const e of engines) {
    for (const [name, declared] of Object.entries(e.upstreams ?? {}) as [UpstreamName, UpstreamDeclaration][]) {
      if (table[name]) throw new Error(`upstream ${name} is declared twice (again by ${e.name})`);
      table[name] = declared;
    }
  }
  return table;
}

/** An upstream's declaration; one no registered engine declares is a programming error, not a request's. */
function declarationOf(upstreams: UpstreamTable, name: UpstreamName): UpstreamDeclaration {
  const declared = upstreams[name];
  if (!declared) throw new Error(`no registered engine declares the upstream ${name}`);
  return declared;
}

/**
 * The upstream's client certificate, when the deployment binds one: a Workers `mtls_certificates` binding named
 * after the upstream (`CONDUCTOR_MTLS`, `PREFECT_MTLS`, `SCHELLAR_MTLS`, `ARGO_MTLS`, `FLOWAPI_MTLS`; wrangler.toml,
 * docs/security.md). Anything else under that name is a deployment error, not a silent plain connection.
 */
export function mtlsBinding(env: Record<string, unknown>, name: UpstreamName): Fetcher | undefined {
  const variable = `${name.toUpperCase()}_MTLS`;
  const bound = env[variable];
  if (bound === undefined || bound === null) return undefined;
  if (typeof (bound as Fetcher).fetch !== "function") {
    throw new GatewayError("BAD_CONFIGURATION", `${variable} must be an mtls_certificates binding`, { variables: [variable] });
  }
  return bound as Fetcher;
}

/** An upstream's base URL, or BAD_CONFIGURATION naming the variable to set. */
export function requireUpstream(config: Config, upstreams: UpstreamTable, name: UpstreamName): string {
  const url = config.upstreams[name];
  if (!url) {
    const { variable } = declarationOf(upstreams, name);
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
    /** The client headers this upstream receives (its engine's allow-list). */
    readonly forwardedHeaders: readonly string[],
    /** The upstream's base URL: part of any cache key, so two upstreams never share an answer. */
    readonly base: string,
    readonly routePrefix: string,
    private readonly identity: Record<string, string>,
    private readonly timeoutMs: number,
    readonly budget: SubrequestBudget,
    /** Signs the assertion of `identity` for each call; null without a principal or without UPSTREAM_ASSERTION_KEYS. */
    private readonly assertion: Asserter | null = null,
    /** The upstream's `mtls_certificates` binding (`<NAME>_MTLS`), through which every call goes when bound. */
    private readonly via?: Fetcher,
  ) {}

  send(req: UpstreamRequest): Promise<Response> {
    if (!this.budget.take()) throw new GatewayError("LIMIT_EXCEEDED", "this request needs more upstream calls than one request may make");
    return forward({
      forwardedHeaders: this.forwardedHeaders,
      upstream: this.base,
      path: req.path,
      routePrefix: this.routePrefix,
      method: req.method,
      headers: req.headers,
      identity: this.identity,
      assertion: this.assertion ?? undefined,
      body: req.body,
      timeoutMs: req.timeoutMs ?? this.timeoutMs,
      via: this.via,
    });
  }
}

// The step that sets `services` declares it on the context: the context is read by this module, so it does not
// import this module back (a cycle).
declare module "./context" {
  interface AppVariables {
    /** The registry's upstreams, set first thing by the pipeline's front door (src/pipeline.ts `frontDoor`, from the composition root's table). */
    upstreams: UpstreamTable;
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
  const upstreams = c.get("upstreams");
  const requestId = c.get("requestId");
  // Identity headers are built when the first client needs them: most requests call one upstream, and the
  // anonymous set only the UIs' files use.
  const principal = c.get("principal");
  const headersFor = (anonymous: boolean) => principalHeaders(anonymous ? null : principal, requestId);
  const kv = c.env.KEY_CACHE;
  const budget = new SubrequestBudget(config.subrequestBudget);
  const clients = new Map<string, UpstreamClient>();
  const deps = { config, kv, waitUntil: (p: Promise<unknown>) => waitUntil(c, p) };
  return {
    budget,
    requireUpstream: (name) => requireUpstream(config, upstreams, name),
    upstream(name, options = {}) {
      const key = options.anonymous ? `${name}:anonymous` : name;
      let client = clients.get(key);
      if (!client) {
        const { forwardedHeaders, routePrefix } = declarationOf(upstreams, name);
        // The assertion's audience is the upstream's name: one sent to Conductor is refused by Schellar's verifier.
        const assertion =
          config.upstreamAssertion && principal && !options.anonymous
            ? asserterFor(config.upstreamAssertion, principal, name, requestId)
            : null;
        client = new UpstreamClient(
          forwardedHeaders,
          requireUpstream(config, upstreams, name),
          routePrefix,
          headersFor(options.anonymous === true),
          config.upstreamTimeoutMs,
          budget,
          assertion,
          mtlsBinding(c.env, name),
        );
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
