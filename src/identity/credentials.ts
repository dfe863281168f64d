/**
 * Finds the credential a request carries. Pure: headers in, credential out, no I/O.
 */
import { MAX_CREDENTIAL_LENGTH } from "../constants";
import { unauthenticated } from "../errors";
import { cookieValues } from "./session";

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

function fromCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      let v = part.slice(eq + 1).trim();
      try {
        v = decodeURIComponent(v);
      } catch {
        throw unauthenticated("malformed credential cookie");
      }
      return v.replace(/^Bearer\s+/i, "");
    }
  }
  return undefined;
}

function sessionFromCookie(header: string | null, name: string): Credential | null {
  const values = cookieValues(header, name).filter((v) => v !== "");
  if (values.length === 0) return null;
  // Two session cookies means one was set for another path or domain: refused, never guessed between.
  if (values.length > 1) throw unauthenticated("more than one session cookie; sign in again");
  return { kind: "session", value: values[0]!, viaCookie: true };
}

/**
 * The one credential of a request, or null when it carries none.
 * Several different credentials in one request are refused rather than guessed between.
 */
export function extractCredential(headers: Headers, sources: CredentialSources = {}): Credential | null {
  const found: string[] = [];
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthenticated("Authorization must use the Bearer scheme");
    found.push(m[1]!);
  }
  for (const name of ["x-api-key", "x-prefect-user-id"]) {
    const v = headers.get(name);
    if (v !== null && v.trim() !== "") found.push(v.trim());
  }
  const fromHeaders = found.length;
  if (sources.cookieName) {
    const v = fromCookie(headers.get("cookie"), sources.cookieName);
    if (v) found.push(v);
  }
  const token = sources.gatewayToken ? headers.get("x-authorization")?.trim() : undefined;
  if (token) {
    // The SDKs send the token alone, with no scheme; a token beside another credential is not guessed between.
    if (found.length > 0) throw unauthenticated("conflicting credentials in one request");
    if (token.length > MAX_CREDENTIAL_LENGTH || !PRINTABLE.test(token)) throw unauthenticated("malformed credential");
    return { kind: "gateway_token", value: token };
  }
  if (found.length === 0) return sources.sessionCookie ? sessionFromCookie(headers.get("cookie"), sources.sessionCookie) : null;
  const value = found[0]!;
  if (found.some((v) => v !== value)) throw unauthenticated("conflicting credentials in one request");
  if (value.length > MAX_CREDENTIAL_LENGTH || !PRINTABLE.test(value)) throw unauthenticated("malformed credential");
  const viaCookie = fromHeaders === 0 ? { viaCookie: true } : {};
  if (sources.flowAuth) {
    if (!JWT_SHAPE.test(value)) throw unauthenticated("FlowAPI takes FlowAuth tokens, not API keys");
    return { kind: "flowauth", value, ...viaCookie };
  }
  return JWT_SHAPE.test(value) ? { kind: "jwt", value, ...viaCookie } : { kind: "api_key", value, ...viaCookie };
}
