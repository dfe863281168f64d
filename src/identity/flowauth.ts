/**
 * FlowAuth tokens: FlowKit's credentials for FlowAPI, taken on `/flowapi` only (the routes ask for them with the
 * `flowAuth` credential source, src/identity/credentials.ts). RS256 against FLOWAPI_PUBLIC_KEY, `aud` =
 * FLOWAPI_IDENTIFIER, `exp` and `sub` required, and refused when revoked (`POST /admin/tokens/revoke`, which
 * FlowKit itself lacks). FlowAPI still receives the token and checks it again.
 */
import { errors as joseErrors, importSPKI, jwtVerify, type CryptoKey as JoseKey, type JWTPayload } from "jose";
import type { Config } from "../config";
import { GatewayError, unauthenticated } from "../errors";
import { isObj } from "../jsonValue";
import { describeJwtError } from "./jwt";
import type { FlowAuthRoles, Principal } from "./principal";
import { isTokenRevoked } from "./revocation";

/** Imported public keys by their configured text (imported once per isolate; a failed import is tried again). */
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

/** FLOWAPI_IDENTIFIER and FLOWAPI_PUBLIC_KEY, or BAD_CONFIGURATION naming the missing ones (before any credential is read). */
export function requireFlowAuthConfig(config: Config): { identifier: string; publicKey: string } {
  const { identifier, publicKey: keyText } = config.flowapi;
  if (!identifier || !keyText) {
    const missing = ["FLOWAPI_IDENTIFIER", "FLOWAPI_PUBLIC_KEY"].filter((v) => !(v === "FLOWAPI_IDENTIFIER" ? identifier : keyText));
    throw new GatewayError("BAD_CONFIGURATION", "FlowAuth verification is not configured", { variables: missing });
  }
  return { identifier, publicKey: keyText };
}

/** `user_claims` read from a verified token, or null when it is not a map of role -> scope list. */
export function roleClaims(userClaims: unknown): FlowAuthRoles | null {
  if (!isObj(userClaims)) return null;
  const out: FlowAuthRoles = {};
  for (const [role, scopes] of Object.entries(userClaims)) {
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string")) return null;
    out[role] = scopes as string[];
  }
  return out;
}

/** A FlowAuth token as a principal (kind `jwt`, its roles the names of `user_claims`); any failure is a 401 saying why. */
export async function authenticateFlowAuth(token: string, config: Config, kv: KVNamespace): Promise<Principal> {
  const { identifier, publicKey: keyText } = requireFlowAuthConfig(config);
  let key: JoseKey;
  try {
    key = await publicKey(keyText);
  } catch {
    throw new GatewayError("BAD_CONFIGURATION", "FLOWAPI_PUBLIC_KEY is not an RSA public key", { variables: ["FLOWAPI_PUBLIC_KEY"] });
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["RS256"],
      audience: identifier,
      clockTolerance: config.jwt.clockToleranceS,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (e) {
    throw unauthenticated(e instanceof joseErrors.JOSEError ? describeJwtError(e) : "token could not be verified");
  }
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + config.jwt.clockToleranceS)
    throw unauthenticated("token claim check failed (iat)");
  const roles = roleClaims((payload as { user_claims?: unknown }).user_claims);
  if (!roles || typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated("token carries no user_claims");
  const jti = typeof payload.jti === "string" ? payload.jti : undefined;
  if (
    await isTokenRevoked(
      kv,
      { subject: payload.sub, jti, iat: typeof payload.iat === "number" ? payload.iat : undefined },
      config.memoryCacheTtlS,
    )
  ) {
    throw unauthenticated("token revoked");
  }
  return { kind: "jwt", subject: payload.sub, roles: Object.keys(roles), groups: [], scopes: [], tokenId: jti, flowAuthRoles: roles };
}
