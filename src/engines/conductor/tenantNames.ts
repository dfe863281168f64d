/**
 * Tenant prefixes on Conductor names: `T___name` in the upstream, `name` for the tenant's clients.
 * Pure. A tenant name has no `_`, so `T___` is unambiguous; names starting with `GLOBAL___` are shared and kept.
 */
import { GatewayError } from "../../errors";
import type { Json } from "../../jsonValue";
import type { TenantName } from "../../identity/principal";
import { MAX_ANSWER_DEPTH } from "../../proxy/json";
import { allow, refuse, type Verdict } from "../../verdict";

export const TENANT_SEPARATOR = "___";
export const GLOBAL_PREFIX = `GLOBAL${TENANT_SEPARATOR}`;

/** Longest name a client may give a workflow, task or event handler. */
const MAX_NAME_LENGTH = 200;

export const isGlobalName = (name: string) => name.startsWith(GLOBAL_PREFIX);

/** `T___`: what every name of `tenant` starts with upstream. */
export const tenantPrefix = (tenant: TenantName) => `${tenant}${TENANT_SEPARATOR}`;

/** `name` as the upstream stores it for `tenant`: prefixed, unless it is a shared `GLOBAL___` name. */
export function prefixTenant(tenant: TenantName, name: string): string {
  return isGlobalName(name) ? name : `${tenantPrefix(tenant)}${name}`;
}

/**
 * `name` as `tenant`'s clients see it, or null when it is not the tenant's (another tenant's, or unprefixed).
 * Repeated prefixes (the replaced proxy sometimes prefixed twice) are all removed.
 */
export function stripTenant(tenant: TenantName, name: string): string | null {
  if (isGlobalName(name)) return name;
  const prefix = tenantPrefix(tenant);
  if (!name.startsWith(prefix)) return null;
  let out = name.slice(prefix.length);
  while (out.startsWith(prefix)) out = out.slice(prefix.length);
  return out;
}

export type NameProblem = "empty" | "too_long" | "separator" | "path" | "control";

/**
 * Why a name a client sent cannot be used, or null when it can. `___` would let a client claim another tenant's
 * prefix; `/` and `..` would change the upstream path it lands in.
 */
export function nameProblem(name: unknown): NameProblem | null {
  if (typeof name !== "string" || name.length === 0) return "empty";
  if (name.length > MAX_NAME_LENGTH) return "too_long";
  if (name.includes(TENANT_SEPARATOR)) return "separator";
  if (name.includes("/") || name.includes("\\") || name.includes("..")) return "path";
  if (/[\x00-\x1f\x7f]/.test(name)) return "control";
  return null;
}

/** A client's name, usable as it is, or refused as `<what>: invalid (<problem>)`. */
export function checkName(name: unknown, what = "name"): Verdict<string> {
  const problem = nameProblem(name);
  return problem ? refuse(`${what}: invalid (${problem})`) : allow(name as string);
}

/**
 * A copy of an upstream answer with `tenant`'s prefix removed from every string that carries it, at any depth
 * (executions, polled tasks and task definitions name the tenant's workflows and tasks in many fields). Whether
 * the answer belongs to the tenant at all is decided before, on its owning field.
 */
export function stripTenantDeep<T>(value: T, tenant: TenantName): T {
  const prefix = tenantPrefix(tenant);
  const walk = (v: Json, depth: number): Json => {
    if (typeof v === "string") {
      let out = v;
      while (out.startsWith(prefix)) out = out.slice(prefix.length);
      return out;
    }
    if (depth > MAX_ANSWER_DEPTH) throw new GatewayError("BAD_GATEWAY", "upstream answer nested too deeply");
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v !== null && typeof v === "object") {
      const o: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x, depth + 1);
      return o;
    }
    return v;
  };
  return walk(value as Json, 0) as T;
}
