/**
 * Credential -> Principal. The only place a request's identity is established: API keys, gateway tokens, JWTs,
 * browser sessions, and on the routes that ask for them (FlowAPI's) FlowAuth tokens.
 */
import { MAX_LEGACY_KEY_LENGTH } from "../constants";
import { tokenRefused, unauthenticated } from "../errors";
import { KEY_PREFIX, constantTimeEqual, hashApiKey, parseApiKey } from "../formats/apiKey";
import { extractCredential, type Credential, type CredentialSources } from "./credentials";
import { authenticateFlowAuth, requireFlowAuthConfig } from "./flowauth";
import { principalFromClaims, verifyJwtPayload } from "./jwt";
import { verifyGatewayToken } from "./gatewayToken";
import { lookupKey, lookupKeyById, type KeyLookupDeps } from "./keyLookup";
import { isTokenRevoked } from "./revocation";
import { isTenantName, type Principal } from "./principal";
import { parseScopePattern, type ScopePattern } from "../formats/scopes";
import { openSession, renewal, sessionRevocationFacts, type SessionClaims } from "./session";
import { keyValidity, type KeyRecord } from "../store/keys";

export interface AuthOutcome {
  principal: Principal | null;
  /** How the key was found (memory, kv, database, negative): for logs and tests. */
  lookup?: string;
  /** A session credential: its claims, and the renewed claims to set when its idle deadline is near. */
  session?: { claims: SessionClaims; renewed: SessionClaims | null };
  /** The credential came in a cookie (the browser sends it by itself): changes need a same-origin proof. */
  viaCookie?: boolean;
}

/**
 * Parsed scopes by the record they came from: a record served from the isolate's memory is the same object on
 * every request, so its scope strings are parsed once, not per request. Frozen: principals share the array.
 */
const parsedScopes = new WeakMap<KeyRecord, readonly ScopePattern[]>();

function scopesOf(record: KeyRecord): ScopePattern[] {
  let scopes = parsedScopes.get(record);
  if (!scopes) {
    scopes = Object.freeze(record.scopes.map(parseScopePattern).filter((s): s is ScopePattern => s !== null));
    parsedScopes.set(record, scopes);
  }
  return scopes as ScopePattern[];
}

export function principalFromKey(record: KeyRecord): Principal {
  return {
    kind: "api_key",
    subject: record.subject,
    email: record.email ?? undefined,
    tenant: record.tenant,
    roles: record.roles,
    groups: record.groups,
    scopes: scopesOf(record),
    keyId: record.id,
    servesTenants: record.servesTenants ?? undefined,
  };
}

const VALIDITY_MESSAGE = {
  expired: "API key expired",
  not_yet_valid: "API key not valid yet",
  revoked: "API key revoked",
} as const;

/**
 * The request's principal, or null when it carries no credential (the route then decides about public access).
 * A credential that is present but bad is always a 401, never anonymous access.
 */
export async function authenticate(
  headers: Headers,
  deps: KeyLookupDeps,
  sources: CredentialSources = {},
  now = Date.now(),
): Promise<AuthOutcome> {
  // A route taking FlowAuth tokens cannot check one without its key: said first, whatever the request carries.
  if (sources.flowAuth) requireFlowAuthConfig(deps.config);
  const credential = extractCredential(headers, sources);
  if (!credential) return { principal: null };

  const outcome = await authenticateCredential(credential, deps, now);
  return credential.viaCookie ? { ...outcome, viaCookie: true } : outcome;
}

async function authenticateCredential(credential: Credential, deps: KeyLookupDeps, now: number): Promise<AuthOutcome> {
  if (credential.kind === "flowauth") return { principal: await authenticateFlowAuth(credential.value, deps.config, deps.kv) };

  if (credential.kind === "jwt") {
    const payload = await verifyJwtPayload(credential.value, deps.config);
    const principal = principalFromClaims(payload, deps.config);
    const facts = { jti: principal.tokenId, subject: principal.subject, iat: typeof payload.iat === "number" ? payload.iat : undefined };
    if (await isTokenRevoked(deps.kv, facts, deps.config.memoryCacheTtlS)) throw unauthenticated("token revoked");
    return { principal };
  }

  if (credential.kind === "session") return authenticateSession(credential.value, deps, now);

  if (credential.kind === "gateway_token") {
    // The token only names a key: the principal is built from the key's record as it is now.
    const keyId = await verifyGatewayToken(credential.value, deps.config.gatewayTokenSecrets, now);
    const { record, source } = await lookupKeyById(keyId, deps);
    if (!record) throw tokenRefused("INVALID_TOKEN", "the token's API key no longer exists");
    // Not a token error: a new token for a revoked or expired key would be refused too, so the SDK shows this.
    const validity = keyValidity(record, now);
    if (validity !== "valid") throw unauthenticated(VALIDITY_MESSAGE[validity]);
    return { principal: principalFromKey(record), lookup: source };
  }

  return authenticateApiKey(credential.value, deps, now);
}

/** A flowgate (or imported) API key as a principal; 401 when unknown, malformed or not valid now. */
export async function authenticateApiKey(
  key: string,
  deps: KeyLookupDeps,
  now = Date.now(),
): Promise<AuthOutcome & { principal: Principal }> {
  let parsedId: string | null = null;
  if (key.startsWith(KEY_PREFIX)) {
    const parsed = parseApiKey(key);
    if (!parsed) throw unauthenticated("malformed API key");
    parsedId = parsed.id;
  } else if (key.length > MAX_LEGACY_KEY_LENGTH) {
    throw unauthenticated("malformed API key");
  }
  // Keys imported from the replaced Prefect proxy have no format of their own: they are looked up by hash,
  // behind the same negative cache as any unknown key.
  const secretHash = hashApiKey(key);
  const { record, source } = await lookupKey(secretHash, deps);
  if (!record) throw unauthenticated("unknown API key");
  if (!constantTimeEqual(record.secretHash, secretHash) || (parsedId !== null && record.id !== parsedId)) {
    throw unauthenticated("unknown API key");
  }
  const validity = keyValidity(record, now);
  if (validity !== "valid") throw unauthenticated(VALIDITY_MESSAGE[validity]);
  // A key stored before a name was reserved (or written around the admin API) still cannot act as that tenant.
  if (!isTenantName(record.tenant) || (record.servesTenants ?? []).some((t) => t !== "*" && !isTenantName(t))) {
    throw unauthenticated("API key names a tenant that is reserved or not a tenant name");
  }
  return { principal: principalFromKey(record), lookup: source };
}

const scopePatterns = (raw: string[]) => raw.map(parseScopePattern).filter((s): s is ScopePattern => s !== null);

/**
 * A session cookie: opened, its deadlines and revocations checked on every request (the same revocation entries
 * as JWTs: the subject's, and the session's own id); a key session also re-resolves its key, so revoking or
 * expiring the key ends the session within the key cache's bound.
 */
async function authenticateSession(value: string, deps: KeyLookupDeps, now: number): Promise<AuthOutcome> {
  const config = deps.config.session;
  if (!config) throw unauthenticated("sessions are not enabled on this gateway");
  const nowS = now / 1000;
  const claims = await openSession(value, config, nowS);
  // The revocation check and the key's lookup are independent reads (KV, and KV then the database on a cold
  // isolate): asked at once, so a session costs the longer of the two round trips, not their sum. Both must pass.
  // A revoked session is refused as revoked whatever the lookup gives (its failure is then not waited for).
  const lookingUp = claims.src === "key" ? lookupKey(claims.keyHash!, deps) : null;
  lookingUp?.catch(() => {});
  if (await isTokenRevoked(deps.kv, sessionRevocationFacts(claims), deps.config.memoryCacheTtlS))
    throw unauthenticated("session revoked; sign in again");
  let principal: Principal;
  let lookup: string | undefined;
  if (claims.src === "key" && lookingUp) {
    const { record, source } = await lookingUp;
    if (!record || !constantTimeEqual(record.secretHash, claims.keyHash!))
      throw unauthenticated("the key behind this session is gone; sign in again");
    const validity = keyValidity(record, now);
    if (validity !== "valid") throw unauthenticated(`${VALIDITY_MESSAGE[validity]}; sign in again`);
    principal = { ...principalFromKey(record), kind: "session", sessionId: claims.sid };
    lookup = source;
  } else {
    principal = {
      kind: "session",
      subject: claims.sub,
      email: claims.email,
      tenant: claims.tenant,
      roles: claims.roles,
      groups: claims.groups,
      scopes: scopePatterns(claims.scopes),
      sessionId: claims.sid,
    };
  }
  return { principal, lookup, session: { claims, renewed: renewal(claims, config, nowS) } };
}
