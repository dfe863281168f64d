/**
 * Task definitions across the tenant boundary. Pure.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { nameProblem, prefixTenant, stripTenant } from "./tenantNames";

/** A task definition a client sends, as the upstream stores it for the tenant; refused when its name is unusable. */
export function prefixTaskDef(input: unknown, tenant: TenantName, ownerEmail: string | null): Verdict<Obj> {
  if (!isObj(input)) return refuse("a task definition must be a JSON object");
  const problem = nameProblem(input.name);
  if (problem) return refuse(`name: invalid (${problem})`);
  const def = structuredClone(input);
  def.name = prefixTenant(tenant, input.name as string);
  if (ownerEmail) def.ownerEmail = ownerEmail;
  return allow(def);
}

/** The tenant's view of a stored task definition, or null when it is not the tenant's. */
export function stripTaskDef(input: unknown, tenant: TenantName): Obj | null {
  if (!isObj(input) || typeof input.name !== "string") return null;
  const name = stripTenant(tenant, input.name);
  if (name === null) return null;
  return { ...input, name };
}
