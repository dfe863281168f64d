/**
 * Finds the credential a request carries. Pure: headers in, credential out, no I/O.
 */
import { MAX_CREDENTIAL_LENGTH } from "../constants";
import { unauthenticated } from "../errors";

export type Credential = { kind: "api_key"; value: string } | { kind: "jwt"; value: string } | { kind: "gateway_token"; value: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PRINTABLE = /^[\x21-\x7e]+$/;

export interface CredentialSources {
  /** Also read the token from an `authorization` cookie (the Argo UI). */
  cookieName?: string;
  /** Also read `X-Authorization: <token>`, the Conductor SDKs' header (Conductor and worker routes only). */
  gatewayToken?: boolean;
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
  if (found.length === 0) return null;
  const value = found[0]!;
  if (found.some((v) => v !== value)) throw unauthenticated("conflicting credentials in one request");
  if (value.length > MAX_CREDENTIAL_LENGTH || !PRINTABLE.test(value)) throw unauthenticated("malformed credential");
  return JWT_SHAPE.test(value) ? { kind: "jwt", value } : { kind: "api_key", value };
}
