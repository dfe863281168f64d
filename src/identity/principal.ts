/**
 * The one shape every credential ends in. Routes decide on a Principal only, never on headers.
 */
import type { ScopePattern } from "../formats/scopes";
import { hasScope } from "../formats/scopes";
import type { TenantName } from "../formats/tenantName";

// The tenant-name rule is defined below identity (store checks it too); a principal's users find it here as well.
export {
  RESERVED_TENANT_NAMES,
  TENANT_NAME,
  TENANT_NAME_RULE,
  isTenantName,
  tenantNameProblem,
  type TenantName,
  type TenantNameProblem,
} from "../formats/tenantName";

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
