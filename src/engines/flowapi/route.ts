/**
 * `/flowapi/*` -> FLOWAPI_URL: FlowKit's FlowAPI behind FlowAuth tokens, checked at the edge.
 *
 * A FlowAuth token (RS256, FLOWAPI_PUBLIC_KEY; `aud` = FLOWAPI_IDENTIFIER) is verified by the pipeline's one
 * front door (src/identity/flowauth.ts, through `authenticated`) and refused early (401) when FlowAPI would refuse
 * it, or when it has been revoked. Each endpoint's permission is decided from the token's roles
 * (src/engines/flowapi/policy.ts); FlowAPI still receives the token and checks it again. `Location` answers
 * (202/303) are rewritten to stay under /flowapi, so FlowClient follows them through the gateway.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { LruCache } from "../../cache/lru";
import { KV } from "../../cache/kv";
import { waitUntil, type AppContext, type AppEnv } from "../../context";
import { GatewayError, badRequest, forbidden, notFound, unauthenticated } from "../../errors";
import { authenticated } from "../../pipeline";
import { rateLimited } from "../../ratelimit/enforce";
import { readBodyLimited, utf8 } from "../../proxy/body";
import { parseClientJson } from "../../proxy/json";
import { requestServices } from "../../services";
import { orThrow } from "../../verdict";
import { AVAILABLE_DATES_SCOPE, geographyScope, isWord, mayAct, queryScopes, runBody, type RoleClaims } from "./policy";

const QUERY_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** How long the scopes of a run query are remembered for its polls and results. */
const QUERY_SCOPES_TTL_S = 30 * 86_400;
const queryScopeMemory = new LruCache<string[]>(10_000);

/**
 * The token's roles, once the pipeline's `authenticated` step has verified it (src/identity/flowauth.ts): every
 * route here needs a FlowAuth token, and nothing under /flowapi answers anonymously.
 */
function flowAuthRolesOf(c: AppContext): RoleClaims {
  const p = c.get("principal");
  if (!p) throw unauthenticated("a FlowAuth token is required");
  // Only `/admin/explain` asking about a key by id can bring another kind of principal here.
  if (!p.flowAuthRoles) throw unauthenticated("FlowAPI takes FlowAuth tokens, not API keys");
  return p.flowAuthRoles;
}

/** FlowAuth tokens, and nothing else (no API key, no session cookie); then the rate limit, one unit a request. */
const flowAuth: MiddlewareHandler<AppEnv> = every(
  authenticated({ flowAuth: true }, { browserSession: false }),
  async (c, next) => {
    flowAuthRolesOf(c);
    await next();
  },
  rateLimited("flowapi"),
  requestServices,
);

function requireGrant(roles: RoleClaims, action: string, scopes: readonly string[]): void {
  if (!mayAct(roles, action, scopes)) {
    throw forbidden(
      scopes.length > 0 ? `no role of this token grants ${action} with ${scopes.join(", ")}` : `no role of this token grants ${action}`,
    );
  }
}

/**
 * Sends the gateway's own request: `path` as the route built it, no query string (no FlowAPI endpoint reads one, so
 * none is forwarded), and a body only when the gateway encoded it, declared as `application/json` (UTF-8, which is
 * what Quart decodes without a charset). FlowAPI verifies the token itself as well: its allow-list passes
 * `authorization`.
 */
function send(c: AppContext, path: string, body?: string): Promise<Response> {
  const headers = new Headers(c.req.raw.headers);
  headers.delete("content-type");
  if (body !== undefined) headers.set("content-type", "application/json");
  return c
    .get("services")
    .upstream("flowapi")
    .send({ path, method: c.req.method, headers, body: body === undefined ? undefined : new TextEncoder().encode(body) });
}

/** `application/json`, with no charset or UTF-8's: the body is read as UTF-8 JSON, and nothing else is claimed. */
function requireJsonType(c: AppContext): void {
  const type = c.req.header("content-type") ?? "";
  const [media, ...params] = type.split(";").map((p) => p.trim().toLowerCase());
  const charsetOk = params.every((p) => p === "" || p === "charset=utf-8" || p === 'charset="utf-8"');
  if (media !== "application/json" || !charsetOk)
    throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", "a FlowAPI query is sent as application/json (UTF-8)");
}

async function rememberedScopes(kv: KVNamespace, queryId: string): Promise<string[] | null> {
  const m = queryScopeMemory.get(queryId);
  if (m) return m;
  const v = await kv.get<unknown>(KV.flowapiQuery(queryId), "json").catch(() => null);
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) return null;
  queryScopeMemory.set(queryId, v, 3_600_000);
  return v;
}

export function flowapiRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.use("*", flowAuth);

  r.post("/api/0/run", async (c) => {
    const roles = flowAuthRolesOf(c);
    requireJsonType(c);
    const text = utf8(await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes));
    const body = orThrow(runBody(text, parseClientJson(text)));
    const needed = orThrow(queryScopes(body.spec));
    requireGrant(roles, "run", needed);
    const res = await send(c, "/api/0/run", body.encoded);
    // Remember what the query needs, so its polls and results are checked against the same scopes.
    const id = /\/api\/0\/poll\/([A-Za-z0-9_-]{1,128})$/.exec(res.headers.get("location") ?? "")?.[1];
    if (id) {
      queryScopeMemory.set(id, needed, 3_600_000);
      waitUntil(c, c.env.KEY_CACHE.put(KV.flowapiQuery(id), JSON.stringify(needed), { expirationTtl: QUERY_SCOPES_TTL_S }));
    }
    return res;
  });

  for (const [verb, action] of [
    ["poll", "run"],
    ["get", "get_result"],
  ] as const) {
    r.get(`/api/0/${verb}/:queryId`, async (c) => {
      const roles = flowAuthRolesOf(c);
      const id = c.req.param("queryId");
      if (!QUERY_ID.test(id)) throw badRequest("not a query id");
      // Scopes of queries run through the gateway are checked here; FlowAPI checks any other itself.
      requireGrant(roles, action, (await rememberedScopes(c.env.KEY_CACHE, id)) ?? []);
      return send(c, `/api/0/${verb}/${encodeURIComponent(id)}`);
    });
  }

  r.get("/api/0/geography/:unit", async (c) => {
    const roles = flowAuthRolesOf(c);
    const unit = c.req.param("unit");
    if (!isWord(unit)) throw badRequest("not an aggregation unit");
    requireGrant(roles, "get_result", [geographyScope(unit)]);
    return send(c, `/api/0/geography/${encodeURIComponent(unit)}`);
  });

  r.get("/api/0/available_dates", async (c) => {
    const roles = flowAuthRolesOf(c);
    requireGrant(roles, "get_result", [AVAILABLE_DATES_SCOPE]);
    return send(c, "/api/0/available_dates");
  });

  r.get("/api/0/spec/:file", async (c) => {
    const file = c.req.param("file");
    if (!["openapi.json", "redoc", "openapi-redoc.json"].includes(file)) throw notFound("no such FlowAPI route on this gateway");
    return send(c, `/api/0/spec/${file}`);
  });

  // Unknown paths answer only a valid FlowAuth token: nothing under /flowapi answers anonymously.
  r.all("*", async (c) => {
    throw notFound("no such FlowAPI route on this gateway");
  });
  return r;
}
