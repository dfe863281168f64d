/**
 * Finds the credential a request carries. Pure: headers in, credential out, no I/O.
 */
import { MAX_CREDENTIAL_LENGTH } from "../constants";
import { unauthenticated } from "../errors";
import { cookieOf } from "./session";

export type Credential = (
  | { kind: "api_key"; value: string }
  | { kind: "jwt"; value: string }
  | { kind: "gateway_token"; value: string }
  | { kind: "session"; value: string }
  /** A FlowAuth token (FlowAPI's routes only, src/identity/flowauth.ts). */
  | { kind: "flowauth"; value: string }
) & {
  /** Carried by a cookie (the session, or the Argo UI's `authorization` cookie): changes need a same-origin proof. */
  viaCookie?: boolean;
};

/**
 * What the Prefect 1.x UI sends as `X-Prefect-User-ID` when it has no user: its Apollo client sets the header from
 * its user store on every request (src/vue-apollo.js), whose id is `null` against Prefect Server, and the browser
 * writes that as the text `null`. It names no credential: taken as one, it would stand before the session cookie
 * of the UI served behind sign-in and refuse every call. No key is either word.
 */
const NO_PREFECT_USER = new Set(["null", "undefined"]);

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PRINTABLE = /^[\x21-\x7e]+$/;

export interface CredentialSources {
  /** Also read the token from an `authorization` cookie (the Argo UI). */
  cookieName?: string;
  /** Also read `X-Authorization: <token>`, the Conductor SDKs' header (Conductor and worker routes only). */
  gatewayToken?: boolean;
  /**
   * The gateway's session cookie name for this request's origin (src/identity/session.ts `cookieNamesFor`). It is
   * the credential only when the request carries no other: a script's key or token beside a browser's cookie wins.
   */
  sessionCookie?: string;
  /**
   * The route takes FlowAuth tokens and nothing else (FlowAPI's): a bearer JWT is a FlowAuth token, an API key is
   * refused. No other route sets it, so FlowAuth tokens are accepted on /flowapi only.
   */
  flowAuth?: boolean;
}

/**
 * The credential cookie's value (the Argo UI's `authorization=Bearer <token>`), or undefined when absent. Two
 * cookies of that name are refused: a sibling subdomain can set one for the parent domain beside the page's own,
 * the browser sends both, and which it lists first depends on path length and age, not on who set it.
 */
function fromCookie(header: string | null, name: string): string | undefined {
  const { value, repeated } = cookieOf(header, name);
  if (repeated) throw unauthenticated(`more than one ${name} cookie; clear the site's cookies and sign in again`);
  return value?.replace(/^Bearer\s+/i, "");
}

function sessionFromCookie(header: string | null, name: string): Credential | null {
  const { value, repeated } = cookieOf(header, name);
  if (value === undefined) return null;
  // Two session cookies means one was set for another path or domain: refused, never guessed between.
  if (repeated) throw unauthenticated("more than one session cookie; sign in again");
  return { kind: "session", value, viaCookie: true };
}

/** A bearer value as a credential of the route's kind. */
function credentialOf(value: string, sources: CredentialSources, viaCookie: boolean): Credential {
  if (value.length > MAX_CREDENTIAL_LENGTH || !PRINTABLE.test(value)) throw unauthenticated("malformed credential");
  const carried = viaCookie ? { viaCookie: true } : {};
  if (sources.flowAuth) {
    if (!JWT_SHAPE.test(value)) throw unauthenticated("FlowAPI takes FlowAuth tokens, not API keys");
    return { kind: "flowauth", value, ...carried };
  }
  return JWT_SHAPE.test(value) ? { kind: "jwt", value, ...carried } : { kind: "api_key", value, ...carried };
}

/**
 * The one credential of a request, or null when it carries none, in this order:
 * 1. What a client put in headers (Authorization, X-Api-Key, X-Prefect-User-Id, X-Authorization): set by a script
 *    or the page's own code, never by another site. Several different ones are refused rather than guessed
 *    between; any cookie beside them is not read.
 * 2. The gateway's session cookie (`__Host-` over https: no sibling subdomain or path can set it). A signed-in
 *    browser is its session, whatever other cookie it carries.
 * 3. Only where neither exists, the route's credential cookie (the Argo UI's `authorization`): a cookie any sibling
 *    subdomain can plant, so it never stands beside a session, and two of them are refused.
 */
export function extractCredential(headers: Headers, sources: CredentialSources = {}): Credential | null {
  const found: string[] = [];
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthenticated("Authorization must use the Bearer scheme");
    found.push(m[1]!);
  }
  const apiKey = headers.get("x-api-key")?.trim();
  if (apiKey) found.push(apiKey);
  const prefectUser = headers.get("x-prefect-user-id")?.trim();
  if (prefectUser && !NO_PREFECT_USER.has(prefectUser)) found.push(prefectUser);
  const token = sources.gatewayToken ? headers.get("x-authorization")?.trim() : undefined;
  if (token) {
    // The SDKs send the token alone, with no scheme; a token beside another credential is not guessed between.
    if (found.length > 0) throw unauthenticated("conflicting credentials in one request");
    if (token.length > MAX_CREDENTIAL_LENGTH || !PRINTABLE.test(token)) throw unauthenticated("malformed credential");
    return { kind: "gateway_token", value: token };
  }
  if (found.length > 0) {
    const value = found[0]!;
    if (found.some((v) => v !== value)) throw unauthenticated("conflicting credentials in one request");
    return credentialOf(value, sources, false);
  }
  const cookie = headers.get("cookie");
  const session = sources.sessionCookie ? sessionFromCookie(cookie, sources.sessionCookie) : null;
  if (session) return session;
  const fromCredentialCookie = sources.cookieName ? fromCookie(cookie, sources.cookieName) : undefined;
  return fromCredentialCookie ? credentialOf(fromCredentialCookie, sources, true) : null;
}
