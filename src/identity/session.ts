/**
 * The gateway's browser session: an encrypted cookie (JWE, `dir` + A256GCM) that carries the principal a sign-in
 * established, so no server-side session store is read on the hot path. Pure apart from WebCrypto.
 *
 * - Sealed with the first of SESSION_SECRETS, opened with any of them (the `kid` names which): rotation is
 *   "prepend a new secret, drop the old one after SESSION_MAX_TTL_S".
 * - Two deadlines: `exp` (idle, slides forward on use) and `max` (absolute, from sign-in). Past either, the cookie
 *   is refused as if absent-and-bad (401), never renewed.
 * - Revocation: a session is a token whose id is `session:<sid>` and whose issue time is the sign-in, so
 *   `POST /admin/tokens/revoke {subject}` ends it through the same check as a JWT (src/identity/revocation.ts),
 *   and sign-out revokes its own id so a copied cookie dies with it.
 * - The same sealing carries the short-lived sign-in transaction (state, nonce, PKCE verifier, return path); a
 *   `pur` claim keeps one from ever being taken for the other.
 */
import { generateCookie } from "hono/cookie";
import { parse } from "hono/utils/cookie";
import { EncryptJWT, jwtDecrypt, base64url, errors as joseErrors } from "jose";
import { isLoopbackHost, type SessionConfig } from "../config";
import { LOGIN_TRANSACTION_TTL_S } from "../constants";
import { unauthenticated } from "../errors";

export type SessionSource = "oidc" | "key";

/** What a session cookie holds. Times are epoch seconds. */
export interface SessionClaims {
  pur: "session";
  sid: string;
  src: SessionSource;
  sub: string;
  email?: string;
  tenant?: string;
  roles: string[];
  groups: string[];
  scopes: string[];
  /** Key sessions: the key's SHA-256, re-resolved on every request so revoking the key ends the session. */
  keyHash?: string;
  /** Sign-in time: the "issued at" that subject revocations compare with. */
  auth: number;
  /** Idle deadline. */
  exp: number;
  /** Absolute deadline. */
  max: number;
  /** Same-origin proof for forms that cannot send a JSON body (`X-CSRF-Token` header or `csrf_token` field). */
  csrf: string;
}

/** The sign-in in flight, between `/auth/login` and the provider's redirect back. */
export interface SignInTransaction {
  pur: "signin";
  state: string;
  nonce: string;
  verifier: string;
  /** Same-origin relative path to land on afterwards. */
  ret: string;
  exp: number;
}

export interface CookieNames {
  session: string;
  signin: string;
  secure: boolean;
}

/**
 * Cookie names for a request's origin. Over https: `__Host-` names, which browsers accept only when Secure, with
 * Path=/ and no Domain, so no sibling subdomain or path can plant or shadow them. Over plain http on a loopback
 * host (local development): unprefixed, not Secure. Over plain http anywhere else: none (sessions refused).
 */
export function cookieNamesFor(url: URL): CookieNames | null {
  if (url.protocol === "https:") return { session: "__Host-flowgate-session", signin: "__Host-flowgate-signin", secure: true };
  if (url.protocol === "http:" && isLoopbackHost(url.hostname))
    return { session: "flowgate-session", signin: "flowgate-signin", secure: false };
  return null;
}

/**
 * Cookie `name` of a Cookie header: its value as Hono's parser reads it (the first of that name, URI-decoded; an
 * empty value is none), and whether the header carries that name more than once. Browsers send one cookie per
 * (name, domain, path); a second one means another path or domain set one too, and the caller refuses rather than
 * guesses (Hono's parser keeps the first, which depends on path length and age, not on who set it).
 */
export function cookieOf(header: string | null, name: string): { value: string | undefined; repeated: boolean } {
  if (!header) return { value: undefined, repeated: false };
  const value = parse(header, name)[name] || undefined;
  const repeated = value !== undefined && header.split(";").filter((part) => part.trim().startsWith(`${name}=`)).length > 1;
  return { value, repeated };
}

/** A gateway cookie: host-only, `Path=/`, HttpOnly, SameSite=Lax (docs/browser-sign-in.md), Secure over https. */
export const setCookie = (name: string, value: string, maxAgeS: number, secure: boolean): string =>
  generateCookie(name, value, { path: "/", httpOnly: true, sameSite: "Lax", secure, maxAge: Math.max(0, Math.floor(maxAgeS)) });

export const clearCookie = (name: string, secure: boolean): string => setCookie(name, "", 0, secure);

export const randomToken = (bytes = 32): string => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));

interface SealingKey {
  kid: string;
  key: Uint8Array;
}

const keyMemo = new WeakMap<readonly string[], Promise<SealingKey[]>>();

async function derive(secret: string): Promise<SealingKey> {
  const enc = new TextEncoder();
  const key = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(`flowgate-session-key\u0000${secret}`)));
  const kidBytes = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(`flowgate-session-kid\u0000${secret}`)));
  return { kid: base64url.encode(kidBytes.slice(0, 9)), key };
}

function sealingKeys(secrets: readonly string[]): Promise<SealingKey[]> {
  let p = keyMemo.get(secrets);
  if (!p) {
    p = Promise.all(secrets.map(derive));
    keyMemo.set(secrets, p);
  }
  return p;
}

async function seal(payload: Record<string, unknown>, secrets: readonly string[]): Promise<string> {
  const [first] = await sealingKeys(secrets);
  if (!first) throw new Error("no session secret");
  return new EncryptJWT(payload).setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: first.kid }).encrypt(first.key);
}

/** The payload of a cookie sealed with one of `secrets`, or null when it is not one (tampered, foreign, expired). */
async function open(value: string, secrets: readonly string[], now: number): Promise<Record<string, unknown> | null> {
  if (value.length > 8_192 || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){4}$/.test(value)) return null;
  const keys = await sealingKeys(secrets);
  try {
    const { payload } = await jwtDecrypt(
      value,
      (header) => {
        const k = keys.find((x) => x.kid === header.kid);
        if (!k) throw new joseErrors.JWKSNoMatchingKey();
        return k.key;
      },
      {
        keyManagementAlgorithms: ["dir"],
        contentEncryptionAlgorithms: ["A256GCM"],
        currentDate: new Date(now * 1000),
        requiredClaims: ["exp"],
      },
    );
    return payload as Record<string, unknown>;
  } catch {
    return null;
  }
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
const optionalString = (v: unknown) => v === undefined || typeof v === "string";

function asSession(p: Record<string, unknown>): SessionClaims | null {
  const ok =
    p.pur === "session" &&
    typeof p.sid === "string" &&
    (p.src === "oidc" || p.src === "key") &&
    typeof p.sub === "string" &&
    p.sub !== "" &&
    optionalString(p.email) &&
    optionalString(p.tenant) &&
    strings(p.roles) &&
    strings(p.groups) &&
    strings(p.scopes) &&
    optionalString(p.keyHash) &&
    (p.src !== "key" || typeof p.keyHash === "string") &&
    typeof p.auth === "number" &&
    typeof p.exp === "number" &&
    typeof p.max === "number" &&
    typeof p.csrf === "string";
  return ok ? (p as unknown as SessionClaims) : null;
}

export type NewSession = Omit<SessionClaims, "pur" | "sid" | "auth" | "exp" | "max" | "csrf">;

/** A fresh session (new id, new CSRF token: nothing carried over from any cookie the browser had before). */
export function newSession(grants: NewSession, config: SessionConfig, now: number): SessionClaims {
  const auth = Math.floor(now);
  const max = auth + config.maxTtlS;
  return { ...grants, pur: "session", sid: randomToken(16), auth, exp: Math.min(auth + config.idleTtlS, max), max, csrf: randomToken(24) };
}

export const sealSession = (s: SessionClaims, config: SessionConfig): Promise<string> => seal({ ...s }, config.secrets);

/** The session a cookie value holds, or a 401 when it is not a live session of this gateway. */
export async function openSession(value: string, config: SessionConfig, now: number): Promise<SessionClaims> {
  const payload = await open(value, config.secrets, now);
  const s = payload && asSession(payload);
  if (!s) throw unauthenticated("session cookie is not valid; sign in again");
  if (now >= s.max || s.exp > s.max) throw unauthenticated("session ended; sign in again");
  return s;
}

/**
 * Sliding renewal: past half its idle time, a session in use is re-sealed with a new idle deadline (never beyond
 * `max`). Pure: returns the renewed claims, or null when the cookie is fresh enough to keep.
 */
export function renewal(s: SessionClaims, config: SessionConfig, now: number): SessionClaims | null {
  const t = Math.floor(now);
  if (s.exp - t > config.idleTtlS / 2) return null;
  const exp = Math.min(t + config.idleTtlS, s.max);
  return exp > s.exp ? { ...s, exp } : null;
}

/** The revocation facts of a session: its own id, its subject, and its sign-in as issue time. */
export const sessionRevocationFacts = (s: SessionClaims) => ({ jti: `session:${s.sid}`, subject: s.sub, iat: s.auth });

export function newSignIn(ret: string, now: number): SignInTransaction {
  return {
    pur: "signin",
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(48),
    ret,
    exp: Math.floor(now) + LOGIN_TRANSACTION_TTL_S,
  };
}

export const sealSignIn = (t: SignInTransaction, config: SessionConfig): Promise<string> => seal({ ...t }, config.secrets);

export async function openSignIn(value: string, config: SessionConfig, now: number): Promise<SignInTransaction | null> {
  const p = await open(value, config.secrets, now);
  if (!p || p.pur !== "signin") return null;
  const ok = typeof p.state === "string" && typeof p.nonce === "string" && typeof p.verifier === "string" && typeof p.ret === "string";
  return ok ? (p as unknown as SignInTransaction) : null;
}
