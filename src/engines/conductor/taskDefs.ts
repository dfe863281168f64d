/**
 * Task definitions across the tenant boundary. Pure.
 *
 * A task definition is held to Conductor's TaskDef model (./capabilities.ts `TASK_DEF`): unknown fields refused,
 * the operator's queue routing (`isolationGroupId`, `executionNameSpace`) and shared schemas refused, and no
 * `inputTemplate` key that chooses code, a request or a task list for some task type (the template fills in inputs
 * a task leaves out, where the definition checks do not look).
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { NO_CAPABILITIES, POWER_INPUT_KEYS, TASK_DEF, fieldProblem } from "./capabilities";
import { expressionProblem } from "./expressions";
import { nameProblem, prefixTenant, stripTenant } from "./tenantNames";

/** Why a TaskDef's fields are refused (`where` names it), or null. Also used for a task's inline `taskDefinition`. */
export function checkTaskDefFields(def: Obj, where: string): string | null {
  const p = fieldProblem(def, TASK_DEF, where, NO_CAPABILITIES);
  if (p) return p.reason;
  const expression = expressionProblem(def, where);
  if (expression) return expression;
  const template = def.inputTemplate;
  if (template !== undefined && template !== null) {
    const here = where === "" ? "inputTemplate" : `${where}.inputTemplate`;
    if (!isObj(template)) return `${here} must be an object`;
    const power = POWER_INPUT_KEYS.find((k) => Object.hasOwn(template, k));
    if (power) return `${here}.${power} is not accepted: it would choose what a task runs or where it sends, unchecked`;
  }
  return null;
}

/** A task definition a client sends, as the upstream stores it for the tenant; refused when its name is unusable. */
export function prefixTaskDef(input: unknown, tenant: TenantName, ownerEmail: string | null): Verdict<Obj> {
  if (!isObj(input)) return refuse("a task definition must be a JSON object");
  const problem = nameProblem(input.name);
  if (problem) return refuse(`name: invalid (${problem})`);
  const fields = checkTaskDefFields(input, "");
  if (fields) return refuse(fields);
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
