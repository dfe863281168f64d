/**
 * The one shape every credential ends in. Routes decide on a Principal only, never on headers.
 */
import type { ScopePattern } from "./scopes";
import { hasScope } from "./scopes";

export type TenantName = string;

/** A FlowAuth token's `user_claims`: role -> the actions and scopes it grants (FlowAPI decides on these). */
export type FlowAuthRoles = Record<string, string[]>;

export interface Principal {
  /** `session`: a browser's gateway session (src/identity/session.ts), from a sign-in or an exchanged key. */
  kind: "api_key" | "jwt" | "session" | "anonymous";
  subject: string;
  email?: string;
  tenant?: TenantName;
  roles: string[];
  groups: string[];
  scopes: ScopePattern[];
  /** API keys: the key's public id. */
  keyId?: string;
  /** JWTs: the token's `jti`, when it has one. */
  tokenId?: string;
  /** Sessions: the session's id (never the cookie). */
  sessionId?: string;
  /** Worker credentials: tenants this worker polls for (`["*"]` = all). */
  servesTenants?: string[];
  /** FlowAuth tokens (src/identity/flowauth.ts): the token's roles with what each grants. */
  flowAuthRoles?: FlowAuthRoles;
}

export const isAdminPrincipal = (p: Principal): boolean => p.kind !== "anonymous" && hasScope(p.scopes, "admin");

/** A tenant name's characters: letters, digits and `-` (no `_`, so `T___name` is unambiguous), at most 64. */
export const TENANT_NAME = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Names no tenant may have, compared without regard to case: `GLOBAL` owns the shared `GLOBAL___` Conductor names
 * (task definitions every tenant may use), so a tenant of that name would write and delete what all tenants share.
 * Case is ignored because Conductor's SQL stores may compare names case-insensitively (MySQL's default collation).
 */
export const RESERVED_TENANT_NAMES: readonly string[] = ["GLOBAL"];

export type TenantNameProblem = "not_a_name" | "reserved";

/**
 * Why `s` cannot be a tenant's name, or null when it can: the one rule for the admin API, the CLI, the Prefect
 * import, key creation, JWT claims and keys already stored (checked again each time one is used). The character
 * class is ASCII only, so no Unicode case folding, zero-width or look-alike character can spell a reserved name.
 */
export function tenantNameProblem(s: unknown): TenantNameProblem | null {
  if (typeof s !== "string" || !TENANT_NAME.test(s)) return "not_a_name";
  const upper = s.toUpperCase();
  return RESERVED_TENANT_NAMES.includes(upper) ? "reserved" : null;
}

export const isTenantName = (s: unknown): s is TenantName => tenantNameProblem(s) === null;

/** The message for a refused tenant name (never echoes the value). */
export const TENANT_NAME_RULE = `must be letters, digits and '-' (at most 64), and not ${RESERVED_TENANT_NAMES.join(", ")} in any case`;
