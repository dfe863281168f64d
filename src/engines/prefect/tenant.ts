/**
 * The Prefect tenant a caller sees in the CLI's `auth_info` / `tenant` answers, and what a client's
 * `X-Prefect-Tenant-Id` may say. Pure.
 *
 * Every flowgate tenant is one Prefect tenant to the 1.x client: its id is the version-5 UUID of the tenant's name
 * under PREFECT_TENANT_NAMESPACE (stable, never stored, different for each tenant), its name the flowgate tenant's
 * name and its slug a slug of that name. `TENANT_ID`, `TENANT_NAME` and `TENANT_SLUG`, when set, are every
 * caller's instead: a deployment whose upstream Prefect Server has one tenant sets `TENANT_ID` to that tenant's
 * id, so that mutations carrying the id the client was given (`create_project`) name a tenant the server knows.
 */
import { v5 as uuidV5 } from "uuid";
import type { Config } from "../../config";
import { PREFECT_TENANT_NAMESPACE, UUID_PATTERN } from "../../constants";
import type { Principal } from "../../identity/principal";
import type { PrefectTenant } from "./cli";

/** What callers without a flowgate tenant (a JWT without the tenant claim, public access) are shown. */
const NO_TENANT_NAME = "Default";

/** A slug of a tenant name: lower case, runs of anything but letters and digits as one `-`. */
export function tenantSlug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "default"
  );
}

/**
 * Tenant ids already derived, by tenant name: the id is a pure function of the name, and a Map lookup costs less
 * than uuid's SHA-1 (in JavaScript) and formatting. Bounded: cleared whole when full, since an isolate serves few
 * tenants and a miss costs only the hash.
 */
const tenantIds = new Map<string, string>();
const TENANT_IDS_MAX = 1_000;

/** The name-based UUID (version 5, SHA-1; RFC 9562 §5.5) of a tenant's name under PREFECT_TENANT_NAMESPACE. */
export function prefectTenantIdOf(name: string): string {
  const known = tenantIds.get(name);
  if (known !== undefined) return known;
  const id = uuidV5(name, PREFECT_TENANT_NAMESPACE);
  if (tenantIds.size >= TENANT_IDS_MAX) tenantIds.clear();
  tenantIds.set(name, id);
  return id;
}

/**
 * The caller's Prefect tenant. Tenantless callers get the id of the empty name, which no flowgate tenant can have
 * (names are 1-64 characters), so they never share an id with a tenant.
 */
export function prefectTenantOf(caller: Principal, explicit: Partial<Config["prefectTenant"]>): PrefectTenant {
  const name = caller.tenant ?? null;
  return {
    id: explicit.id ?? prefectTenantIdOf(name ?? ""),
    name: explicit.name ?? name ?? NO_TENANT_NAME,
    slug: explicit.slug ?? tenantSlug(name ?? NO_TENANT_NAME),
  };
}

/**
 * Whether a client's `X-Prefect-Tenant-Id` names a tenant other than the caller's. The header never decides
 * anything and never reaches an upstream (src/proxy/headers.ts); a mismatch is refused so a client that believes
 * it acts in another tenant is told so instead of silently acting in its own. Values that are not UUIDs name no
 * tenant (the 1.x UI sends its store's value, empty before its `tenant` query has been answered) and pass.
 */
export function namesAnotherTenant(header: string | null | undefined, ownId: string): boolean {
  const value = header?.trim() ?? "";
  return UUID_PATTERN.test(value) && value.toLowerCase() !== ownId.toLowerCase();
}
