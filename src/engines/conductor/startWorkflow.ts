/**
 * Starting workflows across the tenant boundary. Pure.
 * The gateway names the workflow in the tenant's space, routes every task to the tenant's domain and records the
 * caller as the correlation id; a client may set none of those itself, nor send an inline `workflowDef`.
 *
 * Both of Conductor's start endpoints end as one `StartWorkflowRequest` to `POST /api/workflow`:
 * `POST /api/workflow/{name}?version&priority` carries only the input, and cannot carry a task domain.
 */
import type { TenantName } from "../../identity/principal";
import { nameProblem, prefixTenant } from "./tenantNames";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface Starter {
  tenant: TenantName;
  subject: string;
}

const VERSION = /^[1-9][0-9]{0,8}$/;
const PRIORITY = /^[0-9]{1,2}$/;

/** `POST /api/workflow`: a StartWorkflowRequest. */
export function prefixStartRequest(input: unknown, caller: Starter): { body: Obj; name: string; version?: number } | { refused: string } {
  if (!isObj(input)) return { refused: "body must be a JSON object (a StartWorkflowRequest)" };
  if (input.workflowDef !== undefined) return { refused: "workflowDef is not allowed: start a registered definition" };
  if (input.taskToDomain !== undefined) return { refused: "taskToDomain is set by the gateway" };
  const problem = nameProblem(input.name);
  if (problem) return { refused: `name: invalid (${problem})` };
  if (input.version !== undefined && input.version !== null && !(Number.isInteger(input.version) && (input.version as number) > 0)) {
    return { refused: "version must be a positive whole number" };
  }
  const name = input.name as string;
  return {
    name,
    version: typeof input.version === "number" ? input.version : undefined,
    body: { ...input, name: prefixTenant(caller.tenant, name), taskToDomain: { "*": caller.tenant }, correlationId: caller.subject },
  };
}

/**
 * `POST /api/workflow/{name}?version&priority` with the workflow input as body, as a StartWorkflowRequest
 * (a `correlationId` parameter is replaced, as in the body form).
 */
export function startRequestFromPath(
  name: string,
  input: unknown,
  params: URLSearchParams,
  caller: Starter,
): { body: Obj; name: string; version?: number } | { refused: string } {
  const problem = nameProblem(name);
  if (problem) return { refused: `name: invalid (${problem})` };
  if (input !== undefined && input !== null && !isObj(input)) return { refused: "body must be the workflow input, a JSON object" };
  const version = params.get("version");
  if (version !== null && !VERSION.test(version)) return { refused: "version must be a positive whole number" };
  const priority = params.get("priority");
  if (priority !== null && !PRIORITY.test(priority)) return { refused: "priority must be a whole number from 0 to 99" };
  const body: Obj = {
    name: prefixTenant(caller.tenant, name),
    input: isObj(input) ? input : {},
    taskToDomain: { "*": caller.tenant },
    correlationId: caller.subject,
  };
  if (version !== null) body.version = Number(version);
  if (priority !== null) body.priority = Number(priority);
  return { body, name, version: version === null ? undefined : Number(version) };
}
