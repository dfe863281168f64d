/**
 * `POST /api/workflow` (and `/api/workflow/{name}`) bodies across the tenant boundary. Pure.
 * The gateway names the workflow in the tenant's space, routes every task to the tenant's domain and records the
 * caller as the correlation id; a client may set none of those itself, nor send an inline `workflowDef`.
 */
import type { TenantName } from "../../identity/principal";
import { nameProblem, prefixTenant } from "./tenantNames";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function prefixStartRequest(
  input: unknown,
  caller: { tenant: TenantName; subject: string },
  nameFromPath?: string,
): { body: Obj } | { refused: string } {
  if (input !== undefined && input !== null && !isObj(input)) return { refused: "body must be a JSON object" };
  const body: Obj = isObj(input) ? { ...input } : {};
  if (body.workflowDef !== undefined) return { refused: "workflowDef is not allowed: start a registered definition" };
  if (body.taskToDomain !== undefined) return { refused: "taskToDomain is set by the gateway" };
  const name = nameFromPath ?? body.name;
  const problem = nameProblem(name);
  if (problem) return { refused: `name: invalid (${problem})` };
  if (nameFromPath !== undefined && body.name !== undefined && body.name !== nameFromPath) {
    return { refused: "name in the body differs from the path" };
  }
  if (nameFromPath === undefined) body.name = prefixTenant(caller.tenant, name as string);
  else delete body.name;
  body.taskToDomain = { "*": caller.tenant };
  body.correlationId = caller.subject;
  return { body };
}
