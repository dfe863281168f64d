/**
 * `/flowapi/*` -> FLOWAPI_URL: FlowKit's FlowAPI behind FlowAuth tokens, checked at the edge.
 *
 * A FlowAuth token (RS256, FLOWAPI_PUBLIC_KEY; `aud` = FLOWAPI_IDENTIFIER) is verified here and refused early (401)
 * when FlowAPI would refuse it, or when it has been revoked (`POST /admin/tokens/revoke`, which FlowKit itself
 * lacks). Each endpoint's permission is decided from the token's roles (src/engines/flowapi/policy.ts); FlowAPI
 * still receives the token and checks it again. `Location` answers (202/303) are rewritten to stay under /flowapi,
 * so FlowClient follows them through the gateway.
 */
import { Hono } from "hono";
import { errors as joseErrors, importSPKI, jwtVerify, type CryptoKey as JoseKey } from "jose";
import { LruCache } from "../../cache/lru";
import { KV } from "../../cache/kv";
import { waitUntil, type AppContext, type AppEnv } from "../../context";
import { GatewayError, badRequest, forbidden, notFound, unauthenticated } from "../../errors";
import { chargeRateLimit } from "../../ratelimit/enforce";
import { extractCredential } from "../../identity/credentials";
import { describeJwtError } from "../../identity/jwt";
import { isTokenRevoked } from "../../identity/revocation";
import { readBodyLimited, utf8 } from "../../proxy/body";
import { parseClientJson } from "../../proxy/json";
import { forward } from "../../proxy/forward";
import { principalHeaders } from "../../proxy/headers";
import { orThrow } from "../../verdict";
import { AVAILABLE_DATES_SCOPE, geographyScope, isWord, mayAct, queryScopes, roleClaims, type RoleClaims } from "./policy";

const QUERY_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** How long the scopes of a run query are remembered for its polls and results. */
const QUERY_SCOPES_TTL_S = 30 * 86_400;
const queryScopeMemory = new LruCache<string[]>(10_000);

const keys = new Map<string, Promise<JoseKey>>();

/** FlowAuth's public key: PEM, or base64 of the PEM (as FlowKit accepts it). */
function publicKey(text: string): Promise<JoseKey> {
  let k = keys.get(text);
  if (!k) {
    const pem = text.includes("-----BEGIN") ? text : atob(text.replace(/\s+/g, ""));
    k = importSPKI(pem.replace(/\\n/g, "\n"), "RS256") as Promise<JoseKey>;
    keys.set(text, k);
    k.catch(() => keys.delete(text));
  }
  return k;
}

interface FlowAuthToken {
  subject: string;
  jti?: string;
  roles: RoleClaims;
}

async function verifyFlowAuth(c: AppContext): Promise<FlowAuthToken> {
  const config = c.get("config");
  const { identifier, publicKey: keyText } = config.flowapi;
  if (!identifier || !keyText) {
    throw new GatewayError("BAD_CONFIGURATION", "FlowAuth verification is not configured", { variables: ["FLOWAPI_IDENTIFIER", "FLOWAPI_PUBLIC_KEY"].filter((v) => !(v === "FLOWAPI_IDENTIFIER" ? identifier : keyText)) });
  }
  const credential = extractCredential(c.req.raw.headers);
  if (!credential) throw unauthenticated("a FlowAuth token is required");
  if (credential.kind !== "jwt") throw unauthenticated("FlowAPI takes FlowAuth tokens, not API keys");
  let key: JoseKey;
  try {
    key = await publicKey(keyText);
  } catch {
    throw new GatewayError("BAD_CONFIGURATION", "FLOWAPI_PUBLIC_KEY is not an RSA public key", { variables: ["FLOWAPI_PUBLIC_KEY"] });
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(credential.value, key, {
      algorithms: ["RS256"],
      audience: identifier,
      clockTolerance: config.jwt.clockToleranceS,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (e) {
    throw unauthenticated(e instanceof joseErrors.JOSEError ? describeJwtError(e) : "token could not be verified");
  }
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + config.jwt.clockToleranceS) throw unauthenticated("token claim check failed (iat)");
  const roles = roleClaims((payload as { user_claims?: unknown }).user_claims);
  if (!roles || typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated("token carries no user_claims");
  const token = { subject: payload.sub, jti: typeof payload.jti === "string" ? payload.jti : undefined, roles };
  if (await isTokenRevoked(c.env.KEY_CACHE, { ...token, iat: typeof payload.iat === "number" ? payload.iat : undefined }, config.memoryCacheTtlS)) {
    throw unauthenticated("token revoked");
  }
  c.set("principal", { kind: "jwt", subject: token.subject, roles: Object.keys(roles), groups: [], scopes: [], tokenId: token.jti });
  await chargeRateLimit(c, "flowapi", 1);
  return token;
}

function requireGrant(token: FlowAuthToken, action: string, scopes: readonly string[]): void {
  if (!mayAct(token.roles, action, scopes)) {
    throw forbidden(scopes.length > 0 ? `no role of this token grants ${action} with ${scopes.join(", ")}` : `no role of this token grants ${action}`);
  }
}

function send(c: AppContext, path: string, body?: Uint8Array): Promise<Response> {
  const config = c.get("config");
  if (!config.upstreams.flowapi) throw new GatewayError("BAD_CONFIGURATION", "FLOWAPI_URL is not set", { variables: ["FLOWAPI_URL"] });
  const search = new URL(c.req.url).search;
  return forward({
    engine: "flowapi",
    upstream: config.upstreams.flowapi,
    path: path + search,
    routePrefix: "/flowapi",
    method: c.req.method,
    headers: c.req.raw.headers,
    identity: principalHeaders(c.get("principal"), c.get("requestId")),
    body,
    // FlowAPI verifies the token itself as well: its allow-list passes `authorization`.
    timeoutMs: config.upstreamTimeoutMs,
  });
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

  r.post("/api/0/run", async (c) => {
    const token = await verifyFlowAuth(c);
    const bytes = await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes);
    const spec = parseClientJson(utf8(bytes));
    const needed = orThrow(queryScopes(spec));
    requireGrant(token, "run", needed);
    const res = await send(c, "/api/0/run", bytes);
    // Remember what the query needs, so its polls and results are checked against the same scopes.
    const id = /\/api\/0\/poll\/([A-Za-z0-9_-]{1,128})$/.exec(res.headers.get("location") ?? "")?.[1];
    if (id) {
      queryScopeMemory.set(id, needed, 3_600_000);
      waitUntil(c, c.env.KEY_CACHE.put(KV.flowapiQuery(id), JSON.stringify(needed), { expirationTtl: QUERY_SCOPES_TTL_S }));
    }
    return res;
  });

  for (const [verb, action] of [["poll", "run"], ["get", "get_result"]] as const) {
    r.get(`/api/0/${verb}/:queryId`, async (c) => {
      const token = await verifyFlowAuth(c);
      const id = c.req.param("queryId");
      if (!QUERY_ID.test(id)) throw badRequest("not a query id");
      // Scopes of queries run through the gateway are checked here; FlowAPI checks any other itself.
      requireGrant(token, action, (await rememberedScopes(c.env.KEY_CACHE, id)) ?? []);
      return send(c, `/api/0/${verb}/${encodeURIComponent(id)}`);
    });
  }

  r.get("/api/0/geography/:unit", async (c) => {
    const token = await verifyFlowAuth(c);
    const unit = c.req.param("unit");
    if (!isWord(unit)) throw badRequest("not an aggregation unit");
    requireGrant(token, "get_result", [geographyScope(unit)]);
    return send(c, `/api/0/geography/${encodeURIComponent(unit)}`);
  });

  r.get("/api/0/available_dates", async (c) => {
    const token = await verifyFlowAuth(c);
    requireGrant(token, "get_result", [AVAILABLE_DATES_SCOPE]);
    return send(c, "/api/0/available_dates");
  });

  r.get("/api/0/spec/:file", async (c) => {
    await verifyFlowAuth(c);
    const file = c.req.param("file");
    if (!["openapi.json", "redoc", "openapi-redoc.json"].includes(file)) throw notFound("no such FlowAPI route on this gateway");
    return send(c, `/api/0/spec/${file}`);
  });

  // Unknown paths answer only a valid FlowAuth token: nothing under /flowapi answers anonymously.
  r.all("*", async (c) => {
    await verifyFlowAuth(c);
    throw notFound("no such FlowAPI route on this gateway");
  });
  return r;
}
