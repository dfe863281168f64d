/**
 * OpenID Connect relying party: the authorization code flow with PKCE (S256), `state` and `nonce`, against any
 * provider that publishes a discovery document, through oauth4webapi (by the author of jose and node-oidc-provider).
 * This module holds flowgate's choices around it: which endpoints a provider may send the gateway to, how long its
 * answers may be, which signing algorithms count, and how each failure reads to the person signing in.
 *
 * What an ID token must show before its claims become a principal (OpenID Connect Core 3.1.3.7), and who checks it:
 * - signed by a key from the provider's `jwks_uri` (oauth4webapi's `validateApplicationLevelSignature`, which never
 *   takes an HMAC algorithm), with an algorithm from ID_TOKEN_ALGORITHMS that the provider advertises (the
 *   algorithms are narrowed here, before the library compares the token's `alg` with them);
 * - `iss` exactly OIDC_ISSUER: the discovery document must name that very issuer (checked here, byte for byte),
 *   and the library compares the token's `iss` with the document's;
 * - `aud` containing OIDC_CLIENT_ID; `azp` present when there are several audiences and then equal to the client
 *   id (the library); `azp` equal to the client id whenever present (here: the library checks it only beside
 *   several audiences);
 * - `nonce` equal to the one this browser's sign-in sent; `exp` (with JWT_CLOCK_TOLERANCE_S), `iat`, `sub` present
 *   (the library).
 * The provider's `iss` on the redirect back (RFC 9207, where it advertises it) must be OIDC_ISSUER too (the library).
 */
import * as oauth from "oauth4webapi";
import { isLoopbackHost, type OidcConfig } from "../config";
import { OIDC_DISCOVERY_TTL_MS, OIDC_FETCH_TIMEOUT_MS, OIDC_MAX_ANSWER_BYTES } from "../constants";
import { GatewayError, unauthenticated } from "../errors";
import { readStreamLimited, utf8 } from "../proxy/body";
import { requireAnswerDepth } from "../proxy/json";
import type { SignInTransaction } from "./session";

/** Algorithms an ID token may be signed with: asymmetric only (never `none`, never HMAC with a public value). */
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** The provider as the gateway's client knows it: its metadata (which also keys the library's JWKS cache), and how to reach it. */
export interface Provider {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  http: oauth.HttpRequestOptions<"GET" | "POST", URLSearchParams>;
}

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

/**
 * Every call to the provider (discovery, token endpoint, keys): given up after OIDC_FETCH_TIMEOUT_MS, its answer
 * read to at most OIDC_MAX_ANSWER_BYTES and refused when its JSON nests deeper than the gateway parses, before
 * the library reads it.
 */
async function providerFetch(url: string, init: oauth.CustomFetchOptions<string, unknown>): Promise<Response> {
  const res = await fetch(url, init as RequestInit);
  const tooLarge = () => new GatewayError("BAD_GATEWAY", "the identity provider's answer is too large");
  const bytes = res.body ? await readStreamLimited(res.body, OIDC_MAX_ANSWER_BYTES, tooLarge) : new Uint8Array();
  let text: string;
  try {
    text = utf8(bytes);
  } catch {
    throw new GatewayError("BAD_GATEWAY", "the identity provider's answer is not UTF-8");
  }
  requireAnswerDepth(text);
  return new Response(text, { status: res.status, headers: res.headers });
}

function httpOptions(insecure: boolean): Provider["http"] {
  return {
    signal: () => AbortSignal.timeout(OIDC_FETCH_TIMEOUT_MS),
    [oauth.customFetch]: providerFetch,
    // http only ever reaches a loopback host: every endpoint is checked by endpointOk first.
    [oauth.allowInsecureRequests]: insecure,
  };
}

const providers = new Map<string, { provider: Provider; at: number }>();

/**
 * The provider of `oidc` from its discovery document, cached per isolate for OIDC_DISCOVERY_TTL_MS (the same
 * object is kept, so the library's cache of its signing keys lives as long).
 */
export async function discover(oidc: OidcConfig, clockToleranceS: number, now = Date.now()): Promise<Provider> {
  const memo = `${oidc.issuer}\u0000${oidc.clientId}\u0000${clockToleranceS}`;
  const cached = providers.get(memo);
  if (cached && now - cached.at < OIDC_DISCOVERY_TTL_MS) return cached.provider;
  const http = httpOptions(new URL(oidc.issuer).protocol === "http:");
  let doc: oauth.AuthorizationServer;
  try {
    const issuer = new URL(oidc.issuer);
    doc = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, http as oauth.DiscoveryRequestOptions));
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw err instanceof oauth.OperationProcessingError
      ? new GatewayError("BAD_GATEWAY", "the identity provider's discovery document is not usable")
      : providerDown("discovery");
  }
  // The document must name the very issuer it was fetched for, byte for byte, or another provider could stand in
  // for it (the library compares them as URLs, which folds a trailing slash).
  if (doc.issuer !== oidc.issuer) throw new GatewayError("BAD_GATEWAY", "the identity provider's discovery document names another issuer");
  const endpoints = [doc.authorization_endpoint, doc.token_endpoint, doc.jwks_uri];
  if (!endpoints.every(endpointOk))
    throw new GatewayError("BAD_GATEWAY", "the identity provider's discovery document lacks usable endpoints");
  const advertised = doc.id_token_signing_alg_values_supported ?? ["RS256"];
  const algorithms = advertised.filter((a) => ID_TOKEN_ALGORITHMS.includes(a));
  if (algorithms.length === 0) throw new GatewayError("BAD_GATEWAY", "the identity provider signs ID tokens with no asymmetric algorithm");
  const provider: Provider = {
    as: { ...doc, id_token_signing_alg_values_supported: algorithms },
    client: { client_id: oidc.clientId, [oauth.clockTolerance]: clockToleranceS },
    // client_secret_basic with a secret; a public client (PKCE alone) without.
    clientAuth: oidc.clientSecret ? oauth.ClientSecretBasic(oidc.clientSecret) : oauth.None(),
    http: httpOptions(new URL(oidc.issuer).protocol === "http:" || endpoints.some((e) => e?.startsWith("http:"))),
  };
  providers.set(memo, { provider, at: now });
  return provider;
}

/** Where the browser goes to sign in. */
export async function authorizationUrl(p: Provider, oidc: OidcConfig, t: SignInTransaction): Promise<string> {
  const u = new URL(p.as.authorization_endpoint!);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", oidc.clientId);
  u.searchParams.set("redirect_uri", oidc.redirectUri);
  u.searchParams.set("scope", oidc.scopes.join(" "));
  u.searchParams.set("state", t.state);
  u.searchParams.set("nonce", t.nonce);
  u.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(t.verifier));
  u.searchParams.set("code_challenge_method", "S256");
  return u.toString();
}

/**
 * Redeems the code of the provider's redirect back (`callback`, already matched with this browser's transaction)
 * with the PKCE verifier; answers the token endpoint's answer, for `idTokenClaims`.
 */
export async function redeemCode(p: Provider, oidc: OidcConfig, callback: URLSearchParams, t: SignInTransaction): Promise<Response> {
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(p.as, p.client, callback, t.state);
  } catch {
    // A redirect back naming another issuer (RFC 9207: a mix-up between providers), or not of the code flow.
    throw unauthenticated("the provider's answer is not this sign-in's; start again");
  }
  try {
    return await oauth.authorizationCodeGrantRequest(p.as, p.client, p.clientAuth, params, oidc.redirectUri, t.verifier, p.http);
  } catch (err) {
    throw err instanceof GatewayError ? err : providerDown("token endpoint");
  }
}

/** The ID token's claims once every check above holds; otherwise an error saying which, never echoing the token. */
export async function idTokenClaims(p: Provider, tokenAnswer: Response, nonce: string): Promise<oauth.IDToken> {
  if (tokenAnswer.status === 200) {
    const body = (await tokenAnswer
      .clone()
      .json()
      .catch(() => null)) as { id_token?: unknown } | null;
    if (typeof body?.id_token !== "string") throw new GatewayError("BAD_GATEWAY", "the identity provider answered without an ID token");
  }
  let claims: oauth.IDToken | undefined;
  try {
    const answer = await oauth.processAuthorizationCodeResponse(p.as, p.client, tokenAnswer, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    await oauth.validateApplicationLevelSignature(p.as, tokenAnswer, p.http as oauth.ValidateSignatureOptions);
    claims = oauth.getValidatedIdTokenClaims(answer);
  } catch (err) {
    throw tokenRefusal(err);
  }
  if (!claims) throw unauthenticated("ID token could not be verified");
  // The library checks `azp` only beside several audiences; flowgate takes no token authorized for another party.
  if (claims.azp !== undefined && claims.azp !== p.client.client_id) throw unauthenticated("ID token claim check failed (azp)");
  return claims;
}

/** A failed token exchange or ID token check, in words: which claim, never the token or the provider's text. */
function tokenRefusal(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.WWWAuthenticateChallengeError) {
    // invalid_grant: a code used twice, issued to another client, or a PKCE verifier that does not match.
    if (err.status === 400 || err.status === 401) return unauthenticated("the identity provider refused the sign-in; start again");
    return providerDown(`token endpoint answered ${err.status}`);
  }
  if (err instanceof oauth.OperationProcessingError) {
    if (err.code === oauth.RESPONSE_IS_NOT_CONFORM || err.code === oauth.RESPONSE_IS_NOT_JSON || err.code === oauth.PARSE_ERROR)
      return new GatewayError("BAD_GATEWAY", "the identity provider's token answer is not usable");
    const claim = (err.cause as { claim?: unknown } | undefined)?.claim;
    if (err.code === oauth.JWT_TIMESTAMP_CHECK && claim === "exp") return unauthenticated("ID token expired");
    if (typeof claim === "string" && /^[a-z_]{1,20}$/.test(claim)) return unauthenticated(`ID token claim check failed (${claim})`);
  }
  return unauthenticated("ID token could not be verified");
}
