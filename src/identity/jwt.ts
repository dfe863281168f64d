/**
 * JWT verification with jose. Keys come from a JWKS URL (cached at module scope, refetched on an unknown `kid`
 * with a cooldown), from static public keys (PEM, JWK or JWKS), or from an HS256 secret (opt-in).
 *
 * Never `none`; never an HMAC algorithm with a public key (a secret is only ever used for HS256, and public keys
 * only for the asymmetric algorithm they were imported for); `exp` is required.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  importSPKI,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from "jose";
import { LruCache } from "../cache/lru";
import type { Config } from "../config";
import { JWKS_COOLDOWN_MS, JWKS_FETCH_TIMEOUT_MS } from "../constants";
import { unauthenticated } from "../errors";
import { isTenantName, type Principal } from "./principal";
import { parseScopePattern, type ScopePattern } from "../formats/scopes";

type VerifyKey = CryptoKey | Uint8Array;
interface StaticKey {
  alg: string;
  kid?: string;
  key: VerifyKey;
}

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/**
 * A JWKS URL's keys: jose's remote set (refetched when stale, or on an unknown `kid` after a cooldown), plus the
 * last key set fetched successfully. When the URL cannot be reached, tokens signed by keys already fetched keep
 * verifying against that last set; a token naming an unknown key is still refused.
 */
interface RemoteKeys {
  set: RemoteJWKSet;
  lastGood: JWTVerifyGetKey | null;
  capturedAt: number;
}

/** How often a verified token refreshes the fallback copy (`jwks()` clones the whole set). */
const LAST_GOOD_REFRESH_MS = 60_000;

const remoteSets = new Map<string, RemoteKeys>();
const staticSets = new Map<string, Promise<StaticKey[]>>();

function remoteKeys(url: string, cacheMaxAgeMs: number): RemoteKeys {
  const memoKey = `${cacheMaxAgeMs}\n${url}`;
  let entry = remoteSets.get(memoKey);
  if (!entry) {
    entry = {
      set: createRemoteJWKSet(new URL(url), {
        cooldownDuration: Math.min(JWKS_COOLDOWN_MS, cacheMaxAgeMs),
        cacheMaxAge: cacheMaxAgeMs,
        timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
      }),
      lastGood: null,
      capturedAt: 0,
    };
    remoteSets.set(memoKey, entry);
  }
  return entry;
}

/** Errors that mean "the JWKS could not be fetched", as opposed to "this token is not good". */
function isFetchFailure(err: unknown): boolean {
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return true;
  if (!(err instanceof joseErrors.JOSEError)) return true; // network errors surface as plain errors
  return err.code === "ERR_JOSE_GENERIC";
}

async function verifyWithJwks(
  token: string,
  url: string,
  cacheMaxAgeMs: number,
  options: Parameters<typeof jwtVerify>[2],
): Promise<JWTPayload> {
  const entry = remoteKeys(url, cacheMaxAgeMs);
  try {
    const { payload } = await jwtVerify(token, entry.set, options);
    const now = Date.now();
    if (!entry.lastGood || now - entry.capturedAt > LAST_GOOD_REFRESH_MS) {
      const jwks = entry.set.jwks();
      if (jwks) {
        entry.lastGood = createLocalJWKSet(jwks);
        entry.capturedAt = now;
      }
    }
    return payload;
  } catch (err) {
    if (entry.lastGood && isFetchFailure(err)) return (await jwtVerify(token, entry.lastGood, options)).payload;
    throw err;
  }
}

function decodeMaybeBase64Pem(text: string): string {
  if (text.includes("-----BEGIN")) return text;
  try {
    const decoded = atob(text.replace(/\s+/g, ""));
    if (decoded.includes("-----BEGIN")) return decoded;
  } catch {
    // not base64: fall through and fail below
  }
  return text;
}

/** Parses JWT_PUBLIC_KEYS: PEM blocks (or base64 of them), a JWK, an array of JWKs, or a JWKS. */
export async function importStaticKeys(text: string, algorithms: string[]): Promise<StaticKey[]> {
  const allowed = algorithms.filter((a) => ASYMMETRIC.includes(a));
  const out: StaticKey[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const parsed = JSON.parse(trimmed) as JWK | JWK[] | { keys: JWK[] };
    const jwks: JWK[] = Array.isArray(parsed) ? parsed : "keys" in parsed ? parsed.keys : [parsed];
    for (const jwk of jwks) {
      if (jwk.kty === "oct" || "d" in jwk) throw new Error("JWT_PUBLIC_KEYS holds a secret or private key");
      const algs = jwk.alg ? [jwk.alg].filter((a) => allowed.includes(a)) : allowed;
      for (const alg of algs) {
        try {
          out.push({ alg, kid: jwk.kid, key: (await importJWK(jwk, alg)) as CryptoKey });
        } catch {
          // this key does not fit this algorithm
        }
      }
    }
  } else {
    const pem = decodeMaybeBase64Pem(trimmed);
    const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    if (blocks.length === 0) throw new Error("JWT_PUBLIC_KEYS holds no PEM public key");
    for (const block of blocks) {
      for (const alg of allowed) {
        try {
          out.push({ alg, key: await importSPKI(block, alg) });
        } catch {
          // an RSA key does not import for ES256, and so on
        }
      }
    }
  }
  if (out.length === 0) throw new Error("JWT_PUBLIC_KEYS holds no key usable with JWT_ALGORITHMS");
  return out;
}

function staticKeys(config: Config): Promise<StaticKey[]> | null {
  const text = config.jwt.publicKeys;
  if (!text) return null;
  const memoKey = `${config.jwt.algorithms.join(",")}\n${text}`;
  let p = staticSets.get(memoKey);
  if (!p) {
    p = importStaticKeys(text, config.jwt.algorithms);
    staticSets.set(memoKey, p);
  }
  return p;
}

/** Reads a claim by exact name first, then as a dotted path (`realm_access.roles`). */
export function readClaim(payload: Record<string, unknown>, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(payload, path)) return payload[path];
  let cur: unknown = payload;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A claim holding names: an array of strings, or one string of names separated by spaces or commas. */
export function nameList(value: unknown): string[] {
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string" && v.length > 0);
  return [];
}

export function describeJwtError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "token expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim check failed (${err.claim})`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "token signed by an unknown key";
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JOSEError) return "token could not be verified";
  return "token could not be verified";
}

/**
 * Tokens already verified, by the token's text: a client sends the same token on every request until it expires,
 * and the signature check (RSA in the runtime, jose's parsing and claim checks in JavaScript) was most of what a
 * JWT request cost. An entry lives until the token's `exp`, at most MEMORY_CACHE_TTL_S and, with a JWKS URL, at
 * most the JWKS cache's age (so a key removed from the JWKS or JWT_PUBLIC_KEYS stops verifying its tokens within
 * those bounds, as a cached API key record does);
 * revocation is not cached here: the caller checks it on every request. One cache per JWT configuration (the
 * config object is built once per environment), bounded in entries and in characters of the tokens it holds.
 */
const VERIFIED_ENTRIES = 2_000;
const VERIFIED_CHARS = 4_000_000;
const verified = new WeakMap<Config["jwt"], LruCache<JWTPayload>>();

function verifiedTokens(jwt: Config["jwt"]): LruCache<JWTPayload> {
  let cache = verified.get(jwt);
  if (!cache) {
    // The clock is read at each call (not captured), so tests that move time see entries expire.
    cache = new LruCache<JWTPayload>(
      VERIFIED_ENTRIES,
      () => Date.now(),
      VERIFIED_CHARS,
      (token) => token.length,
    );
    verified.set(jwt, cache);
  }
  return cache;
}

/** Verifies `token` and returns its payload; any failure is a 401 that says why without echoing the token. */
export async function verifyJwtPayload(token: string, config: Config): Promise<JWTPayload> {
  const cache = config.memoryCacheTtlS > 0 ? verifiedTokens(config.jwt) : null;
  const known = cache?.get(token);
  // `exp` is checked again on a hit: the entry's own expiry is only as fine as the clock it was set with.
  if (known !== undefined && typeof known.exp === "number" && known.exp * 1000 > Date.now()) return known;
  const payload = await verifySignatureAndClaims(token, config);
  // jose checks that `iat` is a number; a token issued in the future (beyond the leeway) is refused here.
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + config.jwt.clockToleranceS) {
    throw unauthenticated("token claim check failed (iat)");
  }
  // `exp` is required by the verification above; only tokens that already started to be valid (`nbf`) get here.
  if (cache && typeof payload.exp === "number") {
    // With a JWKS URL, a token is trusted no longer than the keys it was checked with are (JWT_JWKS_CACHE_TTL_S).
    const keysMs = config.jwt.jwksUrl ? config.jwt.jwksCacheMaxAgeMs : Infinity;
    cache.set(token, payload, Math.min(payload.exp * 1000 - Date.now(), config.memoryCacheTtlS * 1000, keysMs));
  }
  return payload;
}

async function verifySignatureAndClaims(token: string, config: Config): Promise<JWTPayload> {
  const jwt = config.jwt;
  let alg: string | undefined;
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    alg = header.alg;
    kid = header.kid;
  } catch {
    throw unauthenticated("malformed token");
  }
  if (!alg || !jwt.algorithms.includes(alg)) throw unauthenticated("token algorithm not allowed");

  const options = {
    algorithms: [alg],
    issuer: jwt.issuers.length ? jwt.issuers : undefined,
    audience: jwt.audiences.length ? jwt.audiences : undefined,
    clockTolerance: jwt.clockToleranceS,
    requiredClaims: ["exp"],
  };

  const candidates: VerifyKey[] = [];
  if (alg === "HS256") {
    if (!jwt.hs256Secret) throw unauthenticated("token algorithm not allowed");
    candidates.push(new TextEncoder().encode(jwt.hs256Secret));
  } else {
    const statics = staticKeys(config);
    if (statics) {
      let keys: StaticKey[];
      try {
        keys = await statics;
      } catch {
        throw unauthenticated("token could not be verified");
      }
      for (const k of keys) if (k.alg === alg && (!kid || !k.kid || k.kid === kid)) candidates.push(k.key);
    }
  }

  let lastError: unknown = null;
  for (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (err) {
      lastError = err;
      // Claim failures (expired, wrong audience) are the same for every key: stop at the first.
      if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break;
    }
  }
  // Claim failures (expired, wrong audience) are final; only a key that did not fit sends us on to the JWKS.
  const claimFailure = lastError !== null && !(lastError instanceof joseErrors.JWSSignatureVerificationFailed);
  if (alg !== "HS256" && jwt.jwksUrl && !claimFailure) {
    try {
      return await verifyWithJwks(token, jwt.jwksUrl, jwt.jwksCacheMaxAgeMs, options);
    } catch (err) {
      lastError = err;
    }
  }
  throw unauthenticated(lastError ? describeJwtError(lastError) : "token signed by an unknown key");
}

/** Maps a verified payload to a Principal, per the JWT_CLAIM_* names. */
export function principalFromClaims(payload: JWTPayload, config: Config): Principal {
  const claims = config.jwt.claims;
  const p = payload as Record<string, unknown>;
  const subject = readClaim(p, claims.subject);
  if (typeof subject !== "string" || subject === "") throw unauthenticated("token has no subject");
  const email = readClaim(p, claims.email);
  const tenant = readClaim(p, claims.tenant);
  if (tenant !== undefined && !isTenantName(tenant)) throw unauthenticated("token tenant claim is not a tenant name");
  const scopes: ScopePattern[] = [];
  for (const raw of nameList(readClaim(p, claims.scopes))) {
    const s = parseScopePattern(raw);
    if (s) scopes.push(s);
  }
  // A worker token names the tenants it polls for: "*" or tenant names; anything else is not a worker token.
  const served = readClaim(p, claims.servesTenants);
  let servesTenants: string[] | undefined;
  if (served !== undefined) {
    const list = nameList(served);
    if (list.length === 0 || !list.every((t) => t === "*" || isTenantName(t)))
      throw unauthenticated("token serves-tenants claim is not a list of tenant names");
    servesTenants = list;
  }
  return {
    kind: "jwt",
    subject,
    email: typeof email === "string" ? email : undefined,
    tenant: tenant as string | undefined,
    roles: nameList(readClaim(p, claims.roles)),
    groups: nameList(readClaim(p, claims.groups)),
    scopes,
    tokenId: typeof payload.jti === "string" ? payload.jti : undefined,
    servesTenants,
  };
}
