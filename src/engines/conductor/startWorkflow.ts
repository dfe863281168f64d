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
import { START_WORKFLOW_INPUT } from "./capabilities";
import { nameProblem, prefixTenant } from "./tenantNames";

export interface Starter {
  tenant: TenantName;
  subject: string;
  /** `idempotencyScope(tenant, subject)`: what the caller's idempotency keys are prefixed with upstream. */
  idempotencyScope: string;
}

/**
 * Idempotency keys (`StartWorkflowRequest.idempotencyKey`, with `idempotencyStrategy` FAIL, RETURN_EXISTING or
 * FAIL_ON_RUNNING). An engine that honours them (Orkes Conductor; conductor-oss carries the fields in
 * common/.../StartWorkflowRequest.java and StartWorkflowInput.java) looks a key up per workflow name, across
 * everyone who starts that workflow: with RETURN_EXISTING, a key another user chose answers with their execution
 * id. Keys are scoped, not refused, because SDK clients retry starts with them: the key the engine sees is
 * `fg1.<digest of tenant and subject>.<the client's key>`, so a caller's key can only ever find the caller's own
 * executions, and the prefix is taken out again wherever an execution is shown. The digest has a fixed length and
 * comes first, so no client key can spell another caller's scope.
 */
export const IDEMPOTENCY_SCOPE_PREFIX = "fg1.";
const SCOPED_KEY = /^fg1\.[0-9a-f]{32}\./;
const STRATEGIES: readonly string[] = ["FAIL", "RETURN_EXISTING", "FAIL_ON_RUNNING"];
/** Longest idempotency key a client may send (an order id or a UUID is far shorter). */
const MAX_IDEMPOTENCY_KEY = 256;

/** The scope of a caller's idempotency keys: 128 bits of SHA-256 over the tenant and the subject. */
export async function idempotencyScope(tenant: TenantName, subject: string): Promise<string> {
  const data = new TextEncoder().encode(`flowgate-idempotency\u0000${tenant}\u0000${subject}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data)).slice(0, 16);
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A key as the client wrote it, from the key the engine holds (any scope: an admin sees their tenant's). */
export function unscopedIdempotencyKey(key: string): string {
  return key.replace(SCOPED_KEY, "");
}

/** StartWorkflowRequest's fields by their lower case (capabilities.ts START_WORKFLOW_INPUT). */
const START_FIELDS_BY_FOLD: ReadonlyMap<string, string> = new Map([...START_WORKFLOW_INPUT.fields.keys()].map((f) => [f.toLowerCase(), f]));

const VERSION = /^[1-9][0-9]{0,8}$/;
const PRIORITY = /^[0-9]{1,2}$/;

/** A start, checked: the body to send, the workflow as the caller named it, and a payload path to verify. */
export interface AdmittedStart {
  body: Obj;
  name: string;
  version?: number;
  /**
   * The start carries an idempotency key: the engine may answer with an execution it started before instead of a
   * new one, so the answer is no proof that the gateway created it (its owner is read back, never assumed).
   */
  idempotent: boolean;
}

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
  // An input kept in external storage is written by the client straight to the store and downloaded by Conductor
  // as the workflow's input: the gateway would never read it (a `${workflow.secrets.*}` in it would be handed off,
  // another tenant's path would become this tenant's input). Like a worker's external output, it is refused.
  const path = input.externalInputPayloadStoragePath;
  if (path !== undefined && path !== null && path !== "") {
    return refuse("externalInputPayloadStoragePath is not accepted: send the input inline (the gateway must read it)");
  }
  // Conductor's Jackson matches keys exactly (ObjectMapperProvider leaves case-insensitive matching off); a reader
  // that folds case would take `IdempotencyKey` unscoped, `TaskToDomain` or `CorrelationId` beside the gateway's:
  // a second spelling of any field is refused rather than guessed at.
  for (const k of Object.keys(input)) {
    const field = START_FIELDS_BY_FOLD.get(k.toLowerCase());
    if (field !== undefined && field !== k) return refuse(`${k.slice(0, 64)}: write ${field} exactly`);
  }
  const strategy = input.idempotencyStrategy;
  if (strategy !== undefined && strategy !== null && !(typeof strategy === "string" && STRATEGIES.includes(strategy))) {
    return refuse(`idempotencyStrategy must be one of ${STRATEGIES.join(", ")}`);
  }
  const key = input.idempotencyKey;
  const idempotent = key !== undefined && key !== null && key !== "";
  if (idempotent && (typeof key !== "string" || key.length > MAX_IDEMPOTENCY_KEY || /[\x00-\x1f\x7f]/.test(key))) {
    return refuse(`idempotencyKey must be text of at most ${MAX_IDEMPOTENCY_KEY} characters`);
  }
  const name = input.name as string;
  const body: Obj = {
    ...input,
    name: prefixTenant(caller.tenant, name),
    taskToDomain: { "*": caller.tenant },
    correlationId: caller.subject,
  };
  if (idempotent) body.idempotencyKey = `${IDEMPOTENCY_SCOPE_PREFIX}${caller.idempotencyScope}.${key as string}`;
  else delete body.idempotencyKey;
  return allow({ name, version: typeof input.version === "number" ? input.version : undefined, body, idempotent });
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
