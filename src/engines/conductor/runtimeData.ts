/**
 * Data a client hands Conductor for a running workflow, checked where it can decide what Conductor runs. Pure.
 *
 * A task's output may carry `dynamic_tasks` / `dynamicTasks`, the only lists a FORK_JOIN_DYNAMIC may fork
 * (src/engines/conductor/workflowDefs.ts `DYNAMIC_TASKS_KEYS`): wherever an output is written through the gateway (a worker's task result,
 * a skipped task's output, and any future task-update route), that list is checked and prefixed like a definition's
 * tasks, restricted to the types that stay safe when Conductor merges data into their inputs. What the gateway
 * cannot read is refused: an output kept in external storage (`externalOutputPayloadStoragePath`, written straight
 * to the store) and protobuf messages (`outputMessage`, `taskInputMessage`, `taskOutputMessage`).
 */
import type { TenantName } from "../../identity/principal";
import { stripTenantDeep } from "./tenantNames";
import { DYNAMIC_TASKS_KEYS, prefixTaskList } from "./workflowDefs";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const hasValue = (v: unknown) => v !== undefined && v !== null && v !== "";

type Refused = { refused: string };

/** A task's output with its task lists (`dynamic_tasks`, `dynamicTasks`) named in the tenant's space and allow-listed. */
export function sanitizeTaskOutput(output: unknown, tenant: TenantName, allowedTaskTypes: readonly string[], where: string): { output: unknown } | Refused {
  if (!isObj(output)) return { output };
  let out: Obj = output;
  for (const key of DYNAMIC_TASKS_KEYS) {
    const list = output[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return { refused: `${where}.${key} must be a list of tasks` };
    // A worker may echo names it was given (with this tenant's prefix): those are taken back first.
    const tasks = stripTenantDeep(list, tenant) as Parameters<typeof prefixTaskList>[0];
    const refused = prefixTaskList(tasks, { tenant, allowedTaskTypes, runtime: true }, `${where}.${key}`);
    if (refused) return { refused };
    out = { ...out, [key]: tasks };
  }
  return { output: out };
}

/**
 * A worker's TaskResult (`POST /api/tasks`; any other task-update route must use this too): its output checked,
 * and no output the gateway cannot read.
 */
export function sanitizeTaskResult(result: Obj, tenant: TenantName, allowedTaskTypes: readonly string[]): { body: Obj } | Refused {
  if (hasValue(result.externalOutputPayloadStoragePath)) {
    return { refused: "externalOutputPayloadStoragePath is not accepted: send the output inline (the gateway must read it)" };
  }
  if (hasValue(result.outputMessage)) return { refused: "outputMessage is not accepted: send outputData" };
  const out = sanitizeTaskOutput(result.outputData, tenant, allowedTaskTypes, "outputData");
  if ("refused" in out) return out;
  return { body: result.outputData === undefined ? result : { ...result, outputData: out.output } };
}

/** A SkipTaskRequest (`PUT /api/workflow/{id}/skiptask/{ref}`): the skipped task's output is read like a worker's. */
export function sanitizeSkipTask(body: unknown, tenant: TenantName, allowedTaskTypes: readonly string[]): { body: Obj } | Refused {
  if (body === undefined || body === null) return { body: {} };
  if (!isObj(body)) return { refused: "body must be a JSON object (a SkipTaskRequest)" };
  if (hasValue(body.taskInputMessage) || hasValue(body.taskOutputMessage)) return { refused: "taskInputMessage and taskOutputMessage are not accepted: send taskInput / taskOutput" };
  if (hasValue(body.taskInput) && !isObj(body.taskInput)) return { refused: "taskInput must be a JSON object" };
  if (hasValue(body.taskOutput) && !isObj(body.taskOutput)) return { refused: "taskOutput must be a JSON object" };
  const out = sanitizeTaskOutput(body.taskOutput, tenant, allowedTaskTypes, "taskOutput");
  if ("refused" in out) return out;
  return { body: body.taskOutput === undefined ? body : { ...body, taskOutput: out.output } };
}
