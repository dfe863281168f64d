/**
 * OpenID Connect relying party: authorization code flow with PKCE (S256), `state` and `nonce`, against any provider
 * that publishes a discovery document. I/O (discovery, JWKS, token endpoint) is confined to `discover`,
 * `exchangeCode` and the JWKS getter; the checks are in `verifyIdToken`.
 *
 * What an ID token must show before its claims become a principal (OpenID Connect Core 3.1.3.7):
 * signed by a key from the provider's JWKS with an asymmetric algorithm; `iss` exactly OIDC_ISSUER (which is also
 * the discovery document's `issuer`); `aud` containing OIDC_CLIENT_ID; `azp` equal to it when present, and present
 * when there are several audiences; `nonce` equal to the one this browser's sign-in sent; `exp`, `iat`, `sub`.
 */
import { base64url, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { isLoopbackHost, type OidcConfig } from "../config";
import { JWKS_CACHE_MAX_AGE_MS, JWKS_COOLDOWN_MS, JWKS_FETCH_TIMEOUT_MS, OIDC_DISCOVERY_TTL_MS, OIDC_FETCH_TIMEOUT_MS } from "../constants";
import { GatewayError, unauthenticated } from "../errors";
import { requireAnswerDepth } from "../proxy/json";
import { constantTimeEqual } from "../formats/apiKey";
import type { SignInTransaction } from "./session";

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
}

/** Algorithms an ID token may be signed with: asymmetric only (never `none`, never HMAC with a public value). */
export const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const providerDown = (what: string) => new GatewayError("BAD_GATEWAY", `the identity provider could not be reached (${what})`);

/** Endpoints a provider may send the gateway to: https, or http on a loopback host (a local provider). */
function endpointOk(raw: unknown): raw is string {
  if (typeof raw !== "string") return false;
  try {
    const u = new URL(raw);
    return u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(u.hostname));
  } catch {
    return false;
  }
}

const discoveries = new Map<string, { doc: Discovery; at: number }>();

/** The provider's discovery document (cached per isolate for OIDC_DISCOVERY_TTL_MS). */
export async function discover(issuer: string, now = Date.now()): Promise<Discovery> {
  const cached = discoveries.get(issuer);
  if (cached && now - cached.at < OIDC_DISCOVERY_TTL_MS) return cached.doc;
  let body: unknown;
  try {
    const res = await fetch(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(OIDC_FETCH_TIMEOUT_MS),
    });
    if (!res.ok) throw providerDown(`discovery answered ${res.status}`);
    const text = await res.text();
    requireAnswerDepth(text);
    body = JSON.parse(text);
  } catch (err) {
    throw err instanceof GatewayError ? err : providerDown("discovery");
  }
  const d = body as Partial<Discovery> | null;
  // The document must name the very issuer it was fetched for, or another provider could stand in for it.
  if (!d || typeof d !== "object" || d.issuer !== issuer)
    throw new GatewayError("BAD_GATEWAY", "the identity provider's discovery document names another issuer");
  if (!endpointOk(d.authorization_endpoint) || !endpointOk(d.token_endpoint) || !endpointOk(d.jwks_uri)) {
    throw new GatewayError("BAD_GATEWAY", "the identity provider's discovery document lacks usable endpoints");
  }
  const doc: Discovery = {
    issuer: d.issuer,
    authorization_endpoint: d.authorization_endpoint,
    token_endpoint: d.token_endpoint,
    jwks_uri: d.jwks_uri,
    end_session_endpoint: endpointOk(d.end_session_endpoint) ? d.end_session_endpoint : undefined,
  };
  discoveries.set(issuer, { doc, at: now });
  return doc;
}

const jwksSets = new Map<string, JWTVerifyGetKey>();

/** The provider's signing keys (jose's remote set: cached, refetched on an unknown `kid` after a cooldown). */
export function providerKeys(jwksUri: string): JWTVerifyGetKey {
  let set = jwksSets.get(jwksUri);
  if (!set) {
    set = createRemoteJWKSet(new URL(jwksUri), {
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
    });
    jwksSets.set(jwksUri, set);
  }
  return set;
}

export async function codeChallenge(verifier: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** Where the browser goes to sign in. */
export async function authorizationUrl(d: Discovery, oidc: OidcConfig, t: SignInTransaction): Promise<string> {
  const u = new URL(d.authorization_endpoint);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", oidc.clientId);
  u.searchParams.set("redirect_uri", oidc.redirectUri);
  u.searchParams.set("scope", oidc.scopes.join(" "));
  u.searchParams.set("state", t.state);
  u.searchParams.set("nonce", t.nonce);
  u.searchParams.set("code_challenge", await codeChallenge(t.verifier));
  u.searchParams.set("code_challenge_method", "S256");
  return u.toString();
}

/** Redeems the authorization code at the token endpoint; answers the raw ID token. */
export async function exchangeCode(d: Discovery, oidc: OidcConfig, code: string, verifier: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: oidc.redirectUri, code_verifier: verifier });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (oidc.clientSecret) {
    // client_secret_basic (RFC 6749 2.3.1: each part form-encoded before base64).
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
    headers.authorization = `Basic ${btoa(`${enc(oidc.clientId)}:${enc(oidc.clientSecret)}`)}`;
  } else {
    form.set("client_id", oidc.clientId);
  }
  let res: Response;
  try {
    res = await fetch(d.token_endpoint, {
      method: "POST",
      headers,
      body: form.toString(),
      signal: AbortSignal.timeout(OIDC_FETCH_TIMEOUT_MS),
    });
  } catch {
    throw providerDown("token endpoint");
  }
  const text = await res.text().catch(() => "");
  requireAnswerDepth(text);
  let body: { id_token?: unknown } | null = null;
  try {
    body = JSON.parse(text) as { id_token?: unknown } | null;
  } catch {
    // not JSON: handled below
  }
  if (res.status === 400 || res.status === 401) {
    // invalid_grant: a code used twice, issued to another client, or a PKCE verifier that does not match.
    throw unauthenticated("the identity provider refused the sign-in; start again");
  }
  if (!res.ok || !body) throw providerDown(`token endpoint answered ${res.status}`);
  if (typeof body.id_token !== "string") throw new GatewayError("BAD_GATEWAY", "the identity provider answered without an ID token");
  return body.id_token;
}

export interface IdTokenExpectations {
  issuer: string;
  clientId: string;
  nonce: string;
  clockToleranceS: number;
  keys: JWTVerifyGetKey;
}

/** The ID token's claims once every check above holds; otherwise a 401 saying which, never echoing the token. */
export async function verifyIdToken(idToken: string, e: IdTokenExpectations): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    payload = (
      await jwtVerify(idToken, e.keys, {
        issuer: e.issuer,
        audience: e.clientId,
        algorithms: ID_TOKEN_ALGORITHMS,
        clockTolerance: e.clockToleranceS,
        requiredClaims: ["exp", "iat", "sub"],
      })
    ).payload;
  } catch (err) {
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw unauthenticated(`ID token claim check failed (${err.claim})`);
    if (err instanceof joseErrors.JWTExpired) throw unauthenticated("ID token expired");
    throw unauthenticated("ID token could not be verified");
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const azp = (payload as { azp?: unknown }).azp;
  if (azp !== undefined && azp !== e.clientId) throw unauthenticated("ID token claim check failed (azp)");
  if (audiences.length > 1 && azp === undefined) throw unauthenticated("ID token claim check failed (azp)");
  const nonce = (payload as { nonce?: unknown }).nonce;
  if (typeof nonce !== "string" || !constantTimeEqual(nonce, e.nonce)) throw unauthenticated("ID token claim check failed (nonce)");
  return payload;
}
