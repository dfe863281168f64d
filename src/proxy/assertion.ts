/**
 * The gateway's signed assertion of the identity it decided, sent to an engine beside the plain `x-flowgate-*`
 * headers (docs/security.md, "Engines trust only the gateway"): a JWT signed with the first key of
 * UPSTREAM_ASSERTION_KEYS, its audience the upstream it goes to, valid for UPSTREAM_ASSERTION_TTL_S. An engine (or
 * the verifier in front of it, examples/assertion-verifier) checks it against `/.well-known/jwks.json`, so a request
 * that did not come through the gateway is refused whatever identity headers it carries.
 *
 * Two modes (UPSTREAM_ASSERTION_MODE):
 * - `reuse` (default): one assertion per principal, engine and isolate serves every call for
 *   UPSTREAM_ASSERTION_REUSE_S; a repeated request costs a cache look-up instead of a signature. A captured assertion
 *   can be replayed to the same engine, as the same principal, until it expires.
 * - `per-request`: every upstream call gets its own, with a random `jti`, the request id (`rid`), and the method and
 *   path it was signed for (`htm`, `htu`), so a verifier can refuse a repeated `jti` and a request it was not signed for.
 */
import { SignJWT, importJWK } from "jose";
import { LruCache } from "../cache/lru";
import type { UpstreamAssertionConfig } from "../config";
import { UPSTREAM_ASSERTION_CACHE_MAX_ENTRIES, UPSTREAM_ASSERTION_REUSE_S, UPSTREAM_ASSERTION_TTL_S } from "../constants";
import { GatewayError } from "../errors";
import type { Principal } from "../identity/principal";
import { carriedExactly, carriedNames } from "./headers";

/** The header the assertion travels in. Never taken from a client (src/proxy/headers.ts CLIENT_IDENTITY_HEADERS). */
export const ASSERTION_HEADER = "x-flowgate-assertion";

/** The assertion's `typ` (RFC 8725 explicit typing): a verifier refuses any other JWT signed by the same keys. */
export const ASSERTION_TYPE = "flowgate-assertion+jwt";

/** What an assertion says, besides the registered claims: the principal as the gateway decided it. */
export interface AssertionClaims {
  sub: string;
  kind: Principal["kind"];
  tenant?: string;
  email?: string;
  roles: string[];
  groups: string[];
  key_id?: string;
}

/** Signs one call's assertion, given the upstream URL it goes to and its method; a string when one is at hand. */
export type Asserter = (url: string, method: string) => string | Promise<string>;

const signingKeys = new WeakMap<UpstreamAssertionConfig["signing"], Promise<CryptoKey>>();

/** The signing key, imported once per isolate and key. A key the runtime refuses is a deployment error. */
function signingKey(signing: UpstreamAssertionConfig["signing"]): Promise<CryptoKey> {
  let key = signingKeys.get(signing);
  if (!key) {
    key = importJWK(signing.privateJwk, signing.alg).then(
      (k) => k as CryptoKey,
      () => {
        // jose's message may describe the key material: only the variable is named.
        throw new GatewayError("BAD_CONFIGURATION", "UPSTREAM_ASSERTION_KEYS: the first key cannot be imported", {
          variables: ["UPSTREAM_ASSERTION_KEYS"],
        });
      },
    );
    signingKeys.set(signing, key);
  }
  return key;
}

/** The principal's claims: the same values as its `x-flowgate-*` headers (src/proxy/headers.ts principalHeaders). */
export function assertionClaims(p: Principal): AssertionClaims {
  const claims: AssertionClaims = { sub: p.subject, kind: p.kind, roles: carriedNames(p.roles), groups: carriedNames(p.groups) };
  if (p.tenant) claims.tenant = p.tenant;
  if (p.email && carriedExactly(p.email)) claims.email = p.email;
  if (p.keyId) claims.key_id = p.keyId;
  return claims;
}

async function sign(
  setup: UpstreamAssertionConfig,
  claims: AssertionClaims,
  audience: string,
  extra: Record<string, string>,
  nowS: number,
): Promise<string> {
  const key = await signingKey(setup.signing);
  return new SignJWT({ ...claims, ...extra })
    .setProtectedHeader({ alg: setup.signing.alg, kid: setup.signing.kid, typ: ASSERTION_TYPE })
    .setIssuer(setup.issuer)
    .setAudience(audience)
    .setIssuedAt(nowS)
    .setNotBefore(nowS)
    .setExpirationTime(nowS + UPSTREAM_ASSERTION_TTL_S)
    .setJti(extra.jti ?? crypto.randomUUID())
    .sign(key);
}

/** Reused assertions, by issuer, key, audience and claims; each kept for the reuse window only. */
const reused = new LruCache<string>(UPSTREAM_ASSERTION_CACHE_MAX_ENTRIES);

/**
 * The asserter of one principal's calls to one upstream in one request. In `reuse` mode a cached assertion is
 * returned as it is (no promise); in `per-request` mode each call is signed with its own `jti`, method and path.
 */
export function asserterFor(setup: UpstreamAssertionConfig, principal: Principal, audience: string, requestId: string): Asserter {
  const claims = assertionClaims(principal);
  if (setup.mode === "per-request") {
    return (url, method) => {
      const target = new URL(url);
      // The jti is the gateway's own, never the request id: a client may choose its request id, and one request
      // may call the same engine several times (a verifier would refuse the second as a replay).
      return sign(
        setup,
        claims,
        audience,
        { jti: crypto.randomUUID(), rid: requestId, htm: method, htu: `${target.pathname}${target.search}` },
        nowS(),
      );
    };
  }
  // Every claim is part of the key: a principal whose roles change between requests gets a new assertion.
  const cacheKey = `${setup.issuer}\n${setup.signing.kid}\n${audience}\n${JSON.stringify(claims)}`;
  // The signature under way for this request's calls: a fan-out started on a cold cache (several calls before the
  // first is signed) waits for that one rather than signing each call. Per request (this asserter is), so no
  // request waits on a promise another request's I/O context carries.
  let signing: Promise<string> | null = null;
  return () => {
    const hit = reused.get(cacheKey);
    if (hit !== undefined) return hit;
    signing ??= sign(setup, claims, audience, {}, nowS()).then(
      (token) => {
        // From now on the cache answers (and, past the reuse window, a later call signs anew).
        reused.set(cacheKey, token, UPSTREAM_ASSERTION_REUSE_S * 1000);
        signing = null;
        return token;
      },
      (err: unknown) => {
        signing = null;
        throw err;
      },
    );
    return signing;
  };
}

const nowS = () => Math.floor(Date.now() / 1000);
