/**
 * Data a client hands Conductor for a running workflow, checked where it can decide what Conductor runs. Pure, but
 * for `requireUnshadowedReferences`, which reads the workflow's definition.
 *
 * A task's output may carry `dynamic_tasks` / `dynamicTasks`, the only lists a FORK_JOIN_DYNAMIC may fork
 * (src/engines/conductor/workflowDefs.ts `DYNAMIC_TASKS_KEYS`): wherever an output is written through the gateway (a worker's task result,
 * a skipped task's output, and any future task-update route), that list is checked and prefixed like a definition's
 * tasks, restricted to the types that stay safe when Conductor merges data into their inputs. What the gateway
 * cannot read is refused: an output kept in external storage (`externalOutputPayloadStoragePath`, written straight
 * to the store) and protobuf messages (`outputMessage`, `taskInputMessage`, `taskOutputMessage`).
 */
import { badRequest } from "../../errors";
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, orThrow, refuse, type Verdict } from "../../verdict";
import { stripTenantDeep } from "./tenantNames";
import type { ConductorUpstream } from "./upstream";
import { expressionProblem } from "./expressions";
import { DYNAMIC_TASKS_KEYS, definitionReferenceNames, prefixTaskList } from "./workflowDefs";

const hasValue = (v: unknown) => v !== undefined && v !== null && v !== "";

/**
 * A checked output, the task reference names its task lists bring into the workflow, and how many of those tasks
 * are SUB_WORKFLOWs: each is an execution Conductor starts, which the route charges like a start.
 */
export interface CheckedOutput {
  output: unknown;
  runtimeRefs: string[];
  subWorkflows: number;
}

/** A checked request body (a task result, a skip request), with what its outputs bring in (as `CheckedOutput`). */
export interface CheckedBody {
  body: Obj;
  runtimeRefs: string[];
  subWorkflows: number;
}

/** A task's output with its task lists (`dynamic_tasks`, `dynamicTasks`) named in the tenant's space and allow-listed. */
export function sanitizeTaskOutput(
  output: unknown,
  tenant: TenantName,
  allowedTaskTypes: readonly string[],
  where: string,
): Verdict<CheckedOutput> {
  if (!isObj(output)) return allow({ output, runtimeRefs: [], subWorkflows: 0 });
  let out: Obj = output;
  const runtimeRefs: string[] = [];
  let subWorkflows = 0;
  for (const key of DYNAMIC_TASKS_KEYS) {
    const list = output[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return refuse(`${where}.${key} must be a list of tasks`);
    // A worker may echo names it was given (with this tenant's prefix): those are taken back first.
    const tasks = stripTenantDeep(list, tenant);
    const prefixed = prefixTaskList(tasks, { tenant, allowedTaskTypes, runtime: true }, `${where}.${key}`);
    if (!prefixed.ok) return prefixed;
    for (const t of tasks) {
      const ref = isObj(t) ? t.taskReferenceName : undefined;
      if (typeof ref !== "string" || ref === "") return refuse(`${where}.${key}: every task needs a taskReferenceName`);
      runtimeRefs.push(ref);
      if (isObj(t) && t.type === "SUB_WORKFLOW") subWorkflows++;
    }
    out = { ...out, [key]: tasks };
  }
  // The fork's inputs sit beside its list (the definition takes both from this task's output): Conductor resolves
  // them again as the forked tasks' inputParameters, so they are held to the definitions' expression rule.
  if (runtimeRefs.length > 0) {
    const expression = expressionProblem(output, where);
    if (expression) return refuse(expression);
  }
  return allow({ output: out, runtimeRefs, subWorkflows });
}

/**
 * Whether a run-time task list may join this workflow (refused with the reason). Conductor looks tasks up by reference name: a forked
 * task named like a task of the definition (or like one of its loop iterations, `ref__2`) takes that task's place,
 * and its output (a sub-workflow's, which the gateway never sees) would be read where the definition reads the
 * worker's `dynamic_tasks`. So run-time reference names must be new to the definition. Pure.
 */
export function shadowedReference(runtimeRefs: readonly string[], definitionRefs: ReadonlySet<string>): Verdict {
  for (const ref of runtimeRefs) {
    const iteration = /^(.+)__[0-9]+$/.exec(ref);
    if (definitionRefs.has(ref) || (iteration && definitionRefs.has(iteration[1]!))) {
      const name = JSON.stringify(ref.slice(0, 64));
      return refuse(`taskReferenceName ${name} is a task of the workflow's definition: a forked task needs a name of its own`);
    }
  }
  return allow();
}

/**
 * Throws 400 unless the run-time task lists of a checked output may join workflow `workflowId`: reads the
 * workflow's definition (one upstream call, only when there are such lists) and checks `shadowedReference`. A
 * workflow whose definition cannot be read refuses the lists (fail closed).
 */
export async function requireUnshadowedReferences(
  upstream: ConductorUpstream,
  workflowId: string,
  runtimeRefs: readonly string[],
): Promise<void> {
  if (runtimeRefs.length === 0) return;
  const exec = await upstream.jsonOrNull("GET", ["api", "workflow", workflowId], new URLSearchParams({ includeTasks: "false" }));
  const refs = definitionReferenceNames(isObj(exec) ? exec.workflowDefinition : undefined);
  if (!refs) throw badRequest("the workflow's definition cannot be read, so no task list can be added to it");
  orThrow(shadowedReference(runtimeRefs, refs));
}

/**
 * A worker's TaskResult (`POST /api/tasks`; any other task-update route must use this too): its output checked,
 * and no output the gateway cannot read.
 */
export function sanitizeTaskResult(result: Obj, tenant: TenantName, allowedTaskTypes: readonly string[]): Verdict<CheckedBody> {
  if (hasValue(result.externalOutputPayloadStoragePath)) {
    return refuse("externalOutputPayloadStoragePath is not accepted: send the output inline (the gateway must read it)");
  }
  if (hasValue(result.outputMessage)) return refuse("outputMessage is not accepted: send outputData");
  const out = sanitizeTaskOutput(result.outputData, tenant, allowedTaskTypes, "outputData");
  if (!out.ok) return out;
  const body = result.outputData === undefined ? result : { ...result, outputData: out.value.output };
  return allow({ body, runtimeRefs: out.value.runtimeRefs, subWorkflows: out.value.subWorkflows });
}

/** A SkipTaskRequest (`PUT /api/workflow/{id}/skiptask/{ref}`): the skipped task's output is read like a worker's. */
export function sanitizeSkipTask(body: unknown, tenant: TenantName, allowedTaskTypes: readonly string[]): Verdict<CheckedBody> {
  if (body === undefined || body === null) return allow({ body: {}, runtimeRefs: [], subWorkflows: 0 });
  if (!isObj(body)) return refuse("body must be a JSON object (a SkipTaskRequest)");
  if (hasValue(body.taskInputMessage) || hasValue(body.taskOutputMessage)) {
    return refuse("taskInputMessage and taskOutputMessage are not accepted: send taskInput / taskOutput");
  }
  if (hasValue(body.taskInput) && !isObj(body.taskInput)) return refuse("taskInput must be a JSON object");
  if (hasValue(body.taskOutput) && !isObj(body.taskOutput)) return refuse("taskOutput must be a JSON object");
  const out = sanitizeTaskOutput(body.taskOutput, tenant, allowedTaskTypes, "taskOutput");
  if (!out.ok) return out;
  const checked = body.taskOutput === undefined ? body : { ...body, taskOutput: out.value.output };
  return allow({ body: checked, runtimeRefs: out.value.runtimeRefs, subWorkflows: out.value.subWorkflows });
}
