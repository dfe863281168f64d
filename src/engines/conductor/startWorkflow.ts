/**
 * Starting workflows across the tenant boundary. Pure.
 * The gateway names the workflow in the tenant's space, routes every task to the tenant's domain and records the
 * caller as the correlation id; a client may set none of those itself, nor send an inline `workflowDef`.
 *
 * Both of Conductor's start endpoints end as one `StartWorkflowRequest` to `POST /api/workflow`:
 * `POST /api/workflow/{name}?version&priority` carries only the input, and cannot carry a task domain.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { nameProblem, prefixTenant } from "./tenantNames";

export interface Starter {
  tenant: TenantName;
  subject: string;
}

const VERSION = /^[1-9][0-9]{0,8}$/;
const PRIORITY = /^[0-9]{1,2}$/;

/** A start, checked: the body to send, the workflow as the caller named it, and a payload path to verify. */
export interface AdmittedStart {
  body: Obj;
  name: string;
  version?: number;
  /**
   * `externalInputPayloadStoragePath` as the client sent it: the input then comes from external storage, so the
   * route must verify the path was minted for (or shown to) the caller's tenant before sending (`authorizeStart` in
   * routes/workflows.ts); another tenant's path would otherwise become this tenant's execution input, then a READ
   * grant.
   */
  payloadPath?: string;
}

/** Longest external payload path accepted (the upstream's are tens of characters). */
const MAX_PAYLOAD_PATH = 1_024;

/**
 * THE check of every start (`POST /api/workflow`, `POST /api/workflow/{name}`, and any other route that starts a
 * workflow, e.g. a synchronous execute): a StartWorkflowRequest in, the request the upstream receives out. The
 * gateway names the workflow in the tenant's space and sets the task domain and correlation id; a client may not
 * send an inline `workflowDef` (it would run a definition no admin registered, outside the definition checks and
 * the RBAC labels) nor a `taskToDomain`.
 */
export function admitStartRequest(input: unknown, caller: Starter): Verdict<AdmittedStart> {
  if (!isObj(input)) return refuse("body must be a JSON object (a StartWorkflowRequest)");
  if (input.workflowDef !== undefined) return refuse("workflowDef is not allowed: start a registered definition");
  if (input.taskToDomain !== undefined) return refuse("taskToDomain is set by the gateway");
  const problem = nameProblem(input.name);
  if (problem) return refuse(`name: invalid (${problem})`);
  if (input.version !== undefined && input.version !== null && !(Number.isInteger(input.version) && (input.version as number) > 0)) {
    return refuse("version must be a positive whole number");
  }
  if (input.input !== undefined && input.input !== null && !isObj(input.input)) return refuse("input must be a JSON object");
  let payloadPath: string | undefined;
  const path = input.externalInputPayloadStoragePath;
  if (path !== undefined && path !== null && path !== "") {
    if (typeof path !== "string" || path.length > MAX_PAYLOAD_PATH) return refuse("externalInputPayloadStoragePath: not a payload path");
    payloadPath = path;
  }
  const name = input.name as string;
  return allow({
    name,
    version: typeof input.version === "number" ? input.version : undefined,
    body: { ...input, name: prefixTenant(caller.tenant, name), taskToDomain: { "*": caller.tenant }, correlationId: caller.subject },
    payloadPath,
  });
}

/**
 * `POST /api/workflow/{name}?version&priority` with the workflow input as body, as a StartWorkflowRequest
 * (a `correlationId` parameter is replaced, as in the body form), then admitted like any start.
 */
export function startRequestFromPath(name: string, input: unknown, params: URLSearchParams, caller: Starter): Verdict<AdmittedStart> {
  const problem = nameProblem(name);
  if (problem) return refuse(`name: invalid (${problem})`);
  if (input !== undefined && input !== null && !isObj(input)) return refuse("body must be the workflow input, a JSON object");
  const version = params.get("version");
  if (version !== null && !VERSION.test(version)) return refuse("version must be a positive whole number");
  const priority = params.get("priority");
  if (priority !== null && !PRIORITY.test(priority)) return refuse("priority must be a whole number from 0 to 99");
  const request: Obj = { name, input: isObj(input) ? input : {} };
  if (version !== null) request.version = Number(version);
  if (priority !== null) request.priority = Number(priority);
  return admitStartRequest(request, caller);
}
