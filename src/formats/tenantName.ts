/**
 * What a tenant may be called: the one rule for everything that names a tenant (admin API, CLI, Prefect import,
 * key creation, JWT claims, keys already stored). Below identity and store, which both check it. Pure.
 */

/** A tenant's name, once checked by `isTenantName`. */
export type TenantName = string;

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
