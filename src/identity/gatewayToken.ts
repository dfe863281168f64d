/**
 * Gateway-signed tokens for the Conductor SDKs' own login (`POST /conductor/api/token {"keyId","keySecret"}`).
 *
 * The SDKs trade a key id and secret for a token and send it as `X-Authorization: <token>` (no scheme). The token
 * only names a flowgate key by id: it grants nothing by itself. Every request carrying one reads the key's current
 * record (src/identity/keyLookup.ts `lookupKeyById`), so revoking or expiring the key stops its tokens at once and
 * a change of the key's grants applies at once.
 *
 * HS256 with GATEWAY_TOKEN_SECRET, a comma list: the first secret signs, every one verifies. Rotation: put the new
 * secret first, keep the old one after it for CONDUCTOR_TOKEN_TTL_S (until the tokens it signed have expired; the
 * SDKs replace theirs every 36 minutes anyway), then drop it. A token no listed secret verifies is answered
 * `INVALID_TOKEN`, on which the SDKs fetch a new one: dropping a secret early costs one retry, not an outage.
 */
import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { CONDUCTOR_TOKEN_TTL_S } from "../constants";
import { GatewayError, tokenRefused } from "../errors";

/** Names these tokens apart from any JWT an identity provider issues, even one signed with the same secret. */
const ISSUER = "flowgate";
const AUDIENCE = "flowgate:conductor-sdk";
/** Slack for clocks of isolates on different machines. */
const CLOCK_TOLERANCE_S = 5;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Key ids: flowgate's own (12 characters) and imported keys' row ids; never anything that is not plain. */
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

const encoder = new TextEncoder();

/** The secrets, or 500 BAD_CONFIGURATION naming GATEWAY_TOKEN_SECRET when there are none. */
export function requireTokenSecrets(secrets: readonly string[]): readonly string[] {
  if (secrets.length === 0) {
    throw new GatewayError(
      "BAD_CONFIGURATION",
      "GATEWAY_TOKEN_SECRET is not set: this gateway issues no Conductor SDK tokens (set it with `wrangler secret put GATEWAY_TOKEN_SECRET`, or send the key as Authorization: Bearer)",
      { variables: ["GATEWAY_TOKEN_SECRET"] },
    );
  }
  return secrets;
}

/** A token naming the key `keyId`, signed with the first secret. */
export async function issueGatewayToken(
  keyId: string,
  secrets: readonly string[],
  now = Date.now(),
): Promise<{ token: string; expiresAt: number }> {
  const [signing] = requireTokenSecrets(secrets);
  const iat = Math.floor(now / 1000);
  const exp = iat + CONDUCTOR_TOKEN_TTL_S;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(keyId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(encoder.encode(signing));
  return { token, expiresAt: exp * 1000 };
}

/**
 * The key id a token names. Refusals carry the code the SDKs act on: `EXPIRED_TOKEN` for a genuine token past its
 * time, `INVALID_TOKEN` for anything else (not a token, another signer, a dropped secret).
 */
export async function verifyGatewayToken(token: string, secrets: readonly string[], now = Date.now()): Promise<string> {
  if (!JWT_SHAPE.test(token)) throw tokenRefused("INVALID_TOKEN", "X-Authorization: not a token issued by this gateway");
  for (const secret of secrets) {
    try {
      const { payload } = await jwtVerify(token, encoder.encode(secret), {
        algorithms: ["HS256"],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ["exp", "iat", "sub"],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(now),
      });
      if (typeof payload.sub !== "string" || !KEY_ID.test(payload.sub)) break;
      return payload.sub;
    } catch (err) {
      // A signature of another secret: try the next one. Anything else was decided with the right secret.
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
      if (err instanceof joseErrors.JWTExpired) throw tokenRefused("EXPIRED_TOKEN", "token expired: fetch a new one from /api/token");
      break;
    }
  }
  throw tokenRefused("INVALID_TOKEN", "X-Authorization: not a valid token of this gateway");
}
