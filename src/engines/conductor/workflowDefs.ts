/**
 * Workflow definitions across the tenant boundary. Pure.
 * - `prefixWorkflowDef`: what a client sends, made into what the upstream stores for the tenant: the definition's
 *   name, every task name at any depth (DECISION/SWITCH cases and default, FORK_JOIN forkTasks, DO_WHILE loopOver,
 *   dynamic-fork `expectedName`), `subWorkflowParam.name`, `failureWorkflow` and the name a DYNAMIC task reads
 *   prefixed, `GLOBAL___` task names kept, `ownerEmail` set to the caller's. Refuses `___` in names,
 *   `subWorkflowParam.taskToDomain` / `workflowDefinition`, any task type outside the allow-list, and every
 *   construct whose task list, task type or code Conductor would take from data at run time (see
 *   `runtimeProblem`), at any depth.
 * - `stripWorkflowDef`: the inverse for answers; null when the definition is not the tenant's.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { GLOBAL_PREFIX, checkName, isGlobalName, nameProblem, prefixTenant, stripTenant, tenantPrefix } from "./tenantNames";

/** The nested task lists of a task, wherever Conductor keeps them. */
function childTaskLists(task: Obj): unknown[][] {
  const lists: unknown[][] = [];
  if (isObj(task.decisionCases)) for (const v of Object.values(task.decisionCases)) if (Array.isArray(v)) lists.push(v);
  if (Array.isArray(task.defaultCase)) lists.push(task.defaultCase);
  if (Array.isArray(task.loopOver)) lists.push(task.loopOver);
  if (Array.isArray(task.forkTasks)) for (const branch of task.forkTasks) if (Array.isArray(branch)) lists.push(branch);
  return lists;
}

function checkTaskName(name: unknown, where: string): string | null {
  if (typeof name !== "string") return `${where}: name must be a string`;
  const own = isGlobalName(name) ? name.slice(GLOBAL_PREFIX.length) : name;
  const problem = nameProblem(own);
  return problem ? `${where}: invalid name (${problem})` : null;
}

/** Renames the names of one task (and its children) with `rename`; stops at the first refusal. */
function walkTasks(tasks: unknown[], visit: (task: Obj, where: string) => string | null, where: string, depth = 0): string | null {
  if (depth > 64) return `${where}: tasks nested too deeply`;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    const here = `${where}[${i}]`;
    if (!isObj(task)) return `${here}: a task must be an object`;
    const problem = visit(task, here);
    if (problem) return problem;
    for (const list of childTaskLists(task)) {
      const p = walkTasks(list, visit, `${here}`, depth + 1);
      if (p) return p;
    }
  }
  return null;
}

export interface PrefixOptions {
  tenant: TenantName;
  ownerEmail: string | null;
  allowedTaskTypes: readonly string[];
}

/**
 * The keys a FORK_JOIN_DYNAMIC may take its task list from: `dynamic_tasks` (this project's convention) or
 * `dynamicTasks` (Conductor's documentation and SDK examples) in the output of a SIMPLE task (a worker's) of the
 * same definition. Every way that output is written passes the gateway's check of task lists
 * (`sanitizeTaskOutput`: the worker's task result, a skipped task's output), so the list Conductor forks is one the
 * gateway has prefixed and allow-listed. Any other source (the workflow's input, a sub-workflow's or a system
 * task's output, a literal, an expression built of parts) cannot be checked at the gateway and is refused.
 */
export const DYNAMIC_TASKS_KEYS: readonly string[] = ["dynamic_tasks", "dynamicTasks"];
/** Plain reference names only: `[`, `*`, `'` and the like mean something else to the JsonPath Conductor evaluates. */
const DYNAMIC_TASKS_SOURCE = /^\$\{([A-Za-z0-9_-]+)\.output\.(dynamic_tasks|dynamicTasks)\}$/;

/**
 * Inputs of FORK_JOIN_DYNAMIC that make Conductor build the forked tasks from data (its "simple" form: name, type,
 * sub-workflow and, through `forkTaskInputs`, every other field of each task and a sub-workflow's taskToDomain).
 * Conductor reads them before `dynamicForkTasksParam`, so their mere presence is refused.
 */
const SIMPLE_FORK_INPUTS = ["forkTaskName", "forkTaskType", "forkTaskWorkflow", "forkTaskWorkflowVersion", "forkTaskInputs"];

/**
 * Task types whose code is an input parameter (Conductor resolves `${...}` in inputs from the workflow's data): the
 * code must be written in the definition, literally, or a start input would choose the code that runs.
 */
const CODE_INPUTS: Record<string, string> = { INLINE: "expression", JSON_JQ_TRANSFORM: "queryExpression", LAMBDA: "scriptExpression" };

/**
 * Types a task list supplied at run time (a worker's `dynamic_tasks`, a skipped task's output) may hold. Conductor
 * merges the fork's per-task input (`dynamicForkTasksInputParamName`, also data) over each forked task's input
 * parameters, so a type whose behaviour is chosen by its inputs (code, a DYNAMIC name, a nested dynamic fork, an
 * HTTP or Kafka request, an EVENT's sink) cannot be checked there; these types only carry their inputs as data.
 */
export const RUNTIME_TASK_TYPES: readonly string[] = ["SIMPLE", "SUB_WORKFLOW", "TERMINATE", "WAIT", "SET_VARIABLE"];

const hasValue = (v: unknown) => v !== undefined && v !== null;

/** Every task reference name of a definition (at any depth), or null when it has no task list. */
export function definitionReferenceNames(def: unknown): Set<string> | null {
  if (!isObj(def) || !Array.isArray(def.tasks)) return null;
  return new Set(referenceTypes(def.tasks).keys());
}

/** The task reference names of a task tree with their types (a name used twice keeps every type it has). */
function referenceTypes(tasks: unknown[]): Map<string, Set<string>> {
  const refs = new Map<string, Set<string>>();
  walkTasks(
    tasks,
    (task) => {
      if (typeof task.taskReferenceName === "string") {
        const types = refs.get(task.taskReferenceName) ?? new Set<string>();
        types.add(typeof task.type === "string" ? task.type : "SIMPLE");
        refs.set(task.taskReferenceName, types);
      }
      return null;
    },
    "tasks",
  );
  return refs;
}

/**
 * Why Conductor would take a task list, a task type, a task name outside the tenant's space or code from data for
 * this task, or null. `refs` are the definition's task references (for where a dynamic fork's list comes from).
 */
function runtimeProblem(task: Obj, where: string, type: string, refs: Map<string, Set<string>>): string | null {
  const input = task.inputParameters;
  if (hasValue(input) && !isObj(input)) return `${where}: inputParameters must be an object`;
  const inputs: Obj = isObj(input) ? input : {};
  // Jackson also maps `workflowTaskType` onto `type` (WorkflowTask.setWorkflowTaskType): after `type` in the JSON, it
  // would replace the type the allow-list checked.
  if ("workflowTaskType" in task) return `${where}: workflowTaskType is not allowed (use type)`;
  if (hasValue(task.dynamicForkJoinTasksParam)) return `${where}: dynamicForkJoinTasksParam is not allowed (use dynamicForkTasksParam)`;
  if (isObj(task.onStateChange) ? Object.keys(task.onStateChange).length > 0 : hasValue(task.onStateChange)) {
    return `${where}: onStateChange is not allowed (its events go to queues the gateway does not check)`;
  }
  if (type === "FORK_JOIN_DYNAMIC") {
    const simple = SIMPLE_FORK_INPUTS.find((k) => k in inputs);
    if (simple) return `${where}: inputParameters.${simple} is not allowed (the task list must come from dynamicForkTasksParam)`;
    const param = task.dynamicForkTasksParam;
    if (typeof param !== "string" || param === "") return `${where}: dynamicForkTasksParam is required`;
    const source = typeof inputs[param] === "string" ? DYNAMIC_TASKS_SOURCE.exec(inputs[param] as string) : null;
    // `workflow` names the workflow's own context in Conductor's expressions, not (reliably) a task.
    const types = source && source[1] !== "workflow" ? refs.get(source[1]!) : undefined;
    if (!types || [...types].some((t) => t !== "SIMPLE")) {
      return `${where}: inputParameters.${param.slice(0, 64)} must be "\${<ref>.output.dynamic_tasks}" (or .dynamicTasks) naming a SIMPLE task of this definition`;
    }
  }
  if (type === "DYNAMIC") {
    const param = task.dynamicTaskNameParam;
    if (typeof param !== "string" || param === "") return `${where}: dynamicTaskNameParam is required`;
    const name = inputs[param];
    if (typeof name !== "string") return `${where}: inputParameters.${param.slice(0, 64)} must be a string (the task's name)`;
    const p = checkTaskName(name, `${where}.inputParameters.${param.slice(0, 64)}`);
    if (p) return p;
  }
  if (type === "EVENT") {
    // Conductor publishes `conductor...` sinks to `conductor:<this workflow's name>:...`, inside the tenant's own
    // events; any other sink (sqs:, kafka:, nats:, or an expression that resolves to one) is a shared queue.
    const sink = task.sink;
    if (typeof sink !== "string" || !(sink === "conductor" || sink.startsWith("conductor:")))
      return `${where}: sink must be "conductor" or "conductor:<name>"`;
  }
  if (type === "KAFKA_PUBLISH") {
    // The broker and topic are the operator's business, not the start input's: a `${...}` there would let whoever
    // starts the workflow point Conductor at any host.
    const req = inputs.kafka_request;
    const literal = (v: unknown) => typeof v === "string" && v !== "" && !v.includes("${");
    if (!isObj(req) || !literal(req.bootStrapServers) || !literal(req.topic)) {
      return `${where}: inputParameters.kafka_request must be an object whose bootStrapServers and topic are written out (no \${...})`;
    }
  }
  const codeKey = Object.hasOwn(CODE_INPUTS, type) ? CODE_INPUTS[type] : undefined;
  if (codeKey !== undefined) {
    const code = inputs[codeKey];
    if (typeof code !== "string" || code.includes("${"))
      return `${where}: inputParameters.${codeKey} must be written out in the definition (no \${...})`;
  }
  return null;
}

export function prefixWorkflowDef(input: unknown, opts: PrefixOptions): Verdict<Obj> {
  if (!isObj(input)) return refuse("a workflow definition must be a JSON object");
  const def: Obj = structuredClone(input);
  const name = checkName(def.name);
  if (!name.ok) return name;
  def.name = prefixTenant(opts.tenant, name.value);
  if (def.failureWorkflow !== undefined && def.failureWorkflow !== null && def.failureWorkflow !== "") {
    const failure = checkName(def.failureWorkflow, "failureWorkflow");
    if (!failure.ok) return failure;
    def.failureWorkflow = prefixTenant(opts.tenant, failure.value);
  }
  if (opts.ownerEmail) def.ownerEmail = opts.ownerEmail;
  if (!Array.isArray(def.tasks)) return refuse("tasks must be a list");
  const tasks = prefixTaskList(def.tasks, opts, "tasks");
  return tasks.ok ? allow(def) : tasks;
}

export interface TaskListOptions {
  tenant: TenantName;
  allowedTaskTypes: readonly string[];
  /** A list supplied at run time (a task's output), not a definition: only RUNTIME_TASK_TYPES. */
  runtime?: boolean;
}

/**
 * Prefixes a list of tasks in place (names at any depth, sub-workflow names, dynamic-fork names) and checks each
 * against the allow-list; refused at the first problem. Used for definitions and for the `dynamic_tasks` a worker
 * returns (which Conductor then runs as if they were part of the definition).
 */
export function prefixTaskList(tasks: unknown[], opts: TaskListOptions, where: string): Verdict {
  const refs = referenceTypes(tasks);
  const problem = walkTasks(tasks, (task, here) => prefixTask(task, here, opts, refs), where);
  return problem === null ? allow() : refuse(problem);
}

/** One task of `prefixTaskList` (its children are walked after it): checked, then its names prefixed in place. */
function prefixTask(task: Obj, where: string, opts: TaskListOptions, refs: Map<string, Set<string>>): string | null {
  const type = task.type ?? "SIMPLE";
  if (typeof type !== "string" || !opts.allowedTaskTypes.includes(type)) {
    return `${where}: task type ${JSON.stringify(String(type).slice(0, 40))} is not allowed`;
  }
  if (opts.runtime && !RUNTIME_TASK_TYPES.includes(type)) {
    const only = RUNTIME_TASK_TYPES.join(", ");
    return `${where}: task type ${JSON.stringify(type)} is not allowed in a task list supplied at run time (only ${only})`;
  }
  const nameIssue = checkTaskName(task.name, where);
  if (nameIssue) return nameIssue;
  const runtime = runtimeProblem(task, where, type, refs);
  if (runtime) return runtime;
  task.name = prefixTenant(opts.tenant, task.name as string);
  if (type === "DYNAMIC") {
    const input = task.inputParameters as Obj;
    const param = task.dynamicTaskNameParam as string;
    // "T___${workflow.input.x}" resolves to a name in the tenant's space whatever x is: never a system task.
    input[param] = prefixTenant(opts.tenant, input[param] as string);
  }
  if (isObj(task.taskDefinition) && typeof task.taskDefinition.name === "string") {
    const p = checkTaskName(task.taskDefinition.name, `${where}.taskDefinition`);
    if (p) return p;
    task.taskDefinition.name = prefixTenant(opts.tenant, task.taskDefinition.name);
  }
  if (task.subWorkflowParam !== undefined) {
    if (!isObj(task.subWorkflowParam)) return `${where}: subWorkflowParam must be an object`;
    if (task.subWorkflowParam.taskToDomain !== undefined) return `${where}: subWorkflowParam.taskToDomain is not allowed`;
    if (task.subWorkflowParam.workflowDefinition !== undefined) return `${where}: subWorkflowParam.workflowDefinition is not allowed`;
    const p = nameProblem(task.subWorkflowParam.name);
    if (p) return `${where}: subWorkflowParam.name invalid (${p})`;
    task.subWorkflowParam.name = prefixTenant(opts.tenant, task.subWorkflowParam.name as string);
  }
  if (isObj(task.inputParameters) && typeof task.inputParameters.expectedName === "string") {
    const p = checkTaskName(task.inputParameters.expectedName, `${where}.inputParameters.expectedName`);
    if (p) return p;
    task.inputParameters.expectedName = prefixTenant(opts.tenant, task.inputParameters.expectedName);
  }
  return null;
}

/**
 * The tenant's view of a stored definition, or null when it belongs to someone else. `ownerEmail` is the gateway's
 * record of who wrote it (set from the principal on the way in) and is not shown back. `copy: false` rewrites a
 * freshly parsed answer in place instead of cloning it.
 */
export function stripWorkflowDef(input: unknown, tenant: TenantName, copy = true): Obj | null {
  if (!isObj(input) || typeof input.name !== "string") return null;
  const name = stripTenant(tenant, input.name);
  if (name === null || isGlobalName(input.name)) return null;
  const def: Obj = copy ? structuredClone(input) : input;
  def.name = name;
  // Set to undefined rather than deleted: JSON leaves it out either way, and `delete` would slow the object down.
  if (def.ownerEmail !== undefined) (def as Record<string, unknown>).ownerEmail = undefined;
  if (typeof def.failureWorkflow === "string" && def.failureWorkflow !== "") {
    def.failureWorkflow = stripTenant(tenant, def.failureWorkflow) ?? def.failureWorkflow;
  }
  if (Array.isArray(def.tasks)) stripTasks(def.tasks, tenant);
  return def;
}

/**
 * Strips task names in place (names not the tenant's are left as they are: they reveal nothing new). Written as one
 * plain loop (no closures, no lists built per task): listings run it on every task of every definition.
 */
export function stripTasks(tasks: unknown[], tenant: TenantName, depth = 0): void {
  if (depth > 64) return;
  const prefix = tenantPrefix(tenant);
  for (const task of tasks) {
    if (!isObj(task)) continue;
    if (typeof task.name === "string" && task.name.startsWith(prefix)) task.name = stripPrefixes(task.name, prefix);
    const def = task.taskDefinition;
    if (isObj(def) && typeof def.name === "string" && def.name.startsWith(prefix)) def.name = stripPrefixes(def.name, prefix);
    const sub = task.subWorkflowParam;
    if (isObj(sub) && typeof sub.name === "string" && sub.name.startsWith(prefix)) sub.name = stripPrefixes(sub.name, prefix);
    const input = task.inputParameters;
    if (isObj(input) && typeof input.expectedName === "string" && input.expectedName.startsWith(prefix)) {
      input.expectedName = stripPrefixes(input.expectedName, prefix);
    }
    const nameParam = task.type === "DYNAMIC" ? task.dynamicTaskNameParam : undefined;
    if (
      isObj(input) &&
      typeof nameParam === "string" &&
      typeof input[nameParam] === "string" &&
      (input[nameParam] as string).startsWith(prefix)
    ) {
      input[nameParam] = stripPrefixes(input[nameParam] as string, prefix);
    }
    const cases = task.decisionCases;
    if (isObj(cases)) for (const k in cases) if (Array.isArray(cases[k])) stripTasks(cases[k], tenant, depth + 1);
    if (Array.isArray(task.defaultCase)) stripTasks(task.defaultCase, tenant, depth + 1);
    if (Array.isArray(task.loopOver)) stripTasks(task.loopOver, tenant, depth + 1);
    if (Array.isArray(task.forkTasks))
      for (const branch of task.forkTasks) if (Array.isArray(branch)) stripTasks(branch, tenant, depth + 1);
  }
}

function stripPrefixes(name: string, prefix: string): string {
  let out = name;
  while (out.startsWith(prefix)) out = out.slice(prefix.length);
  return out;
}
