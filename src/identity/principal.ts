/**
 * The one shape every credential ends in. Routes decide on a Principal only, never on headers.
 */
import type { ScopePattern } from "./scopes";
import { hasScope } from "./scopes";

export type TenantName = string;

export interface Principal {
  kind: "api_key" | "jwt" | "anonymous";
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
  /** Worker credentials: tenants this worker polls for (`["*"]` = all). */
  servesTenants?: string[];
}

export const isAdminPrincipal = (p: Principal): boolean => p.kind !== "anonymous" && hasScope(p.scopes, "admin");

/** A tenant name: letters, digits and `-` (no `_`, so `T___name` is unambiguous). */
export const TENANT_NAME = /^[A-Za-z0-9-]{1,64}$/;
export const isTenantName = (s: unknown): s is TenantName => typeof s === "string" && TENANT_NAME.test(s);
