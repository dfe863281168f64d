/**
 * Workflow definitions across the tenant boundary. Pure.
 * - `prefixWorkflowDef`: what a client sends, made into what the upstream stores for the tenant: the definition's
 *   name, every task name at any depth (DECISION/SWITCH cases and default, FORK_JOIN forkTasks, DO_WHILE loopOver,
 *   dynamic-fork `expectedName`), `subWorkflowParam.name`, `failureWorkflow` and the name a DYNAMIC task reads
 *   prefixed, `GLOBAL___` task names kept, `ownerEmail` set to the caller's. Every object is held to its model's
 *   table (./capabilities.ts: unknown fields refused, power fields only with their capability), every task type to
 *   the table and the allow-list, and every construct whose task list, task type or code Conductor would take from
 *   data at run time is refused (see `runtimeProblem`), at any depth. Refusals: 400, or 403 for a capability the
 *   caller is not granted.
 * - `stripWorkflowDef`: the inverse for answers; null when the definition is not the tenant's.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Refused, type Verdict } from "../../verdict";
import {
  AGENT_METADATA_KEYS,
  type Capability,
  EVALUATORS,
  HTTP_REQUEST,
  KAFKA_KEY_SERIALIZERS,
  KAFKA_REQUEST,
  NO_CAPABILITIES,
  RATE_LIMIT_CONFIG,
  RUNTIME_TASK_TYPES,
  START_WORKFLOW_INPUT,
  SUB_WORKFLOW_PARAMS,
  TASK_TYPES,
  WORKFLOW_DEF,
  WORKFLOW_TASK,
  engaged,
  fieldProblem,
  missingCapability,
  type ModelTable,
} from "./capabilities";
import { expressionProblem } from "./expressions";
import { checkTaskDefFields } from "./taskDefs";
import {
  GLOBAL_PREFIX,
  TENANT_SEPARATOR,
  checkName,
  isGlobalName,
  nameProblem,
  prefixTenant,
  stripTenant,
  tenantPrefix,
} from "./tenantNames";

/** A refusal on the way: 400, or 403 for a capability not granted. */
type Problem = Refused | null;
const bad = (reason: string): Refused => refuse(reason);
const denied = (reason: string): Refused => refuse(reason, "FORBIDDEN");

/** `obj`'s fields against its model's table, as a Problem. */
function fieldsOf(obj: Obj, t: ModelTable, where: string, granted: ReadonlySet<Capability>): Problem {
  const p = fieldProblem(obj, t, where, granted);
  return p === null ? null : p.forbidden ? denied(p.reason) : bad(p.reason);
}

/** The nested task lists of a task, wherever Conductor keeps them. */
function childTaskLists(task: Obj): unknown[][] {
  const lists: unknown[][] = [];
  if (isObj(task.decisionCases)) for (const v of Object.values(task.decisionCases)) if (Array.isArray(v)) lists.push(v);
  if (Array.isArray(task.defaultCase)) lists.push(task.defaultCase);
  if (Array.isArray(task.loopOver)) lists.push(task.loopOver);
  if (Array.isArray(task.forkTasks)) for (const branch of task.forkTasks) if (Array.isArray(branch)) lists.push(branch);
  return lists;
}

/**
 * Why a task's nested lists are not shaped as Conductor's model has them (`decisionCases`: an object of task lists,
 * `defaultCase` / `loopOver`: task lists, `forkTasks`: a list of task lists), or null. `childTaskLists` walks only
 * well-shaped lists, so anything else is refused rather than left unwalked.
 */
function taskListShapeProblem(task: Obj, where: string): string | null {
  const cases = task.decisionCases;
  if (cases !== undefined && cases !== null && (!isObj(cases) || Object.values(cases).some((v) => !Array.isArray(v)))) {
    return `${where}: decisionCases must be an object of task lists`;
  }
  for (const key of ["defaultCase", "loopOver"] as const) {
    if (task[key] !== undefined && task[key] !== null && !Array.isArray(task[key])) return `${where}: ${key} must be a list of tasks`;
  }
  const fork = task.forkTasks;
  if (fork !== undefined && fork !== null && (!Array.isArray(fork) || fork.some((b) => !Array.isArray(b)))) {
    return `${where}: forkTasks must be a list of task lists`;
  }
  return null;
}

function checkTaskName(name: unknown, where: string): string | null {
  if (typeof name !== "string") return `${where}: name must be a string`;
  const own = isGlobalName(name) ? name.slice(GLOBAL_PREFIX.length) : name;
  const problem = nameProblem(own);
  return problem ? `${where}: invalid name (${problem})` : null;
}

/** Visits one task (then its children) with `visit`; stops at the first refusal. */
function walkTasks(tasks: unknown[], visit: (task: Obj, where: string) => Problem, where: string, depth = 0): Problem {
  if (depth > 64) return bad(`${where}: tasks nested too deeply`);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    const here = `${where}[${i}]`;
    if (!isObj(task)) return bad(`${here}: a task must be an object`);
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
  /** What the writer is granted (./capabilities.ts `grantedCapabilities`); none when left out. */
  capabilities?: ReadonlySet<Capability>;
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
/**
 * `${<ref>.output.<key>}`: the forked tasks' inputs, from one output key of a task. Plain reference names and keys
 * only (here and below): `[`, `*`, `'` and the like mean something else to the JsonPath Conductor evaluates.
 */
const FORK_INPUTS_SOURCE = /^\$\{([A-Za-z0-9_-]+)\.output\.[A-Za-z0-9_-]+\}$/;
const DYNAMIC_TASKS_SOURCE = /^\$\{([A-Za-z0-9_-]+)\.output\.(dynamic_tasks|dynamicTasks)\}$/;

/**
 * Inputs of FORK_JOIN_DYNAMIC that make Conductor build the forked tasks from data (its "simple" form: name, type,
 * sub-workflow and, through `forkTaskInputs`, every other field of each task and a sub-workflow's taskToDomain).
 * Conductor reads them before `dynamicForkTasksParam`, so their mere presence is refused.
 */
const SIMPLE_FORK_INPUTS = ["forkTaskName", "forkTaskType", "forkTaskWorkflow", "forkTaskWorkflowVersion", "forkTaskInputs"];

/**
 * Task types whose code is an input parameter (Conductor resolves `${...}` in inputs from the workflow's data): the
 * code must be written in the definition, literally, or a start input would choose the code that runs. INLINE's
 * evaluator is an input too (core/execution/tasks/Inline.java), so it is held to the same rule.
 */
const CODE_INPUTS: Record<string, readonly string[]> = {
  INLINE: ["evaluatorType", "expression"],
  JSON_JQ_TRANSFORM: ["queryExpression"],
  LAMBDA: ["scriptExpression"],
};

/** A literal string: written out, not a `${...}` Conductor resolves from data. */
const literal = (v: unknown): v is string => typeof v === "string" && v !== "" && !v.includes("${");

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
    // ForkJoinDynamicTaskMapper puts each forked task's input into its inputParameters, which are resolved again:
    // the inputs come from the task that gives the list, whose output is checked (runtimeData.ts), never from
    // the start input or another task's output.
    const inputName = task.dynamicForkTasksInputParamName;
    if (hasValue(inputName)) {
      const from =
        typeof inputName === "string" && typeof inputs[inputName] === "string"
          ? FORK_INPUTS_SOURCE.exec(inputs[inputName] as string)
          : null;
      if (!from || from[1] !== source![1])
        return `${where}: dynamicForkTasksInputParamName must name an input "\${${source![1]}.output.<key>}" (the task that gives the fork's list)`;
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
    // The broker and topic are the definition's, not the start input's: a `${...}` there would let whoever starts
    // the workflow point Conductor at any host. The topic is then named in the tenant's space (`prefixTask`).
    const req = inputs.kafka_request;
    if (!isObj(req) || !literal(req.bootStrapServers) || !literal(req.topic)) {
      return `${where}: inputParameters.kafka_request must be an object whose bootStrapServers and topic are written out (no \${...})`;
    }
    const p = nameProblem(req.topic);
    if (p) return `${where}: inputParameters.kafka_request.topic: invalid name (${p})`;
  }
  if (type === "HTTP") {
    // HttpTask reads `http_request`, or the whole input when it is missing (then a task definition's inputTemplate
    // could supply it): the request must be in the definition, its URI written out, no service discovery.
    const req = inputs.http_request;
    if (!isObj(req) || typeof req.uri !== "string" || !literal(req.uri) || !/^https?:\/\/[^\s]+$/i.test(req.uri)) {
      return `${where}: inputParameters.http_request must be an object whose uri is an http(s) URL written out (no \${...})`;
    }
    if (hasValue(req.vipAddress) || hasValue(req.appName))
      return `${where}: inputParameters.http_request: vipAddress / appName are not accepted`;
  }
  if (type === "START_WORKFLOW") {
    const req = inputs.startWorkflow;
    if (!isObj(req)) return `${where}: inputParameters.startWorkflow must be an object (a StartWorkflowRequest) written out`;
    if (!literal(req.name)) return `${where}: inputParameters.startWorkflow.name must be written out (no \${...})`;
  }
  for (const key of Object.hasOwn(CODE_INPUTS, type) ? CODE_INPUTS[type]! : []) {
    const code = inputs[key];
    if (typeof code !== "string" || code.includes("${"))
      return `${where}: inputParameters.${key} must be written out in the definition (no \${...})`;
  }
  return null;
}

/**
 * The capabilities one task needs beyond its fields' (checked by `fieldsOf`): its type's, and its evaluator's
 * (SWITCH `evaluatorType`, INLINE `inputParameters.evaluatorType`), each a name of EVALUATORS. Refused (400) for an
 * evaluator Conductor does not have, 403 for one not granted.
 */
function capabilityProblem(task: Obj, where: string, type: string, granted: ReadonlySet<Capability>): Problem {
  const rule = TASK_TYPES.get(type)!;
  if (rule.capability && !granted.has(rule.capability)) {
    return denied(missingCapability(`${where}: task type ${type}`, rule.capability, `see ${rule.source}`));
  }
  const evaluators: [string, unknown][] = [["evaluatorType", task.evaluatorType]];
  if (type === "INLINE" && isObj(task.inputParameters))
    evaluators.push(["inputParameters.evaluatorType", task.inputParameters.evaluatorType]);
  for (const [field, name] of evaluators) {
    if (!engaged(name)) continue;
    if (typeof name !== "string" || !EVALUATORS.has(name))
      return bad(`${where}.${field}: ${JSON.stringify(String(name).slice(0, 40))} is not an evaluator of Conductor's`);
    const needed = EVALUATORS.get(name);
    if (needed && !granted.has(needed))
      return denied(missingCapability(`${where}.${field}`, needed, `the ${name} evaluator runs code on the Conductor server`));
  }
  return null;
}

/** The status listener's sink a capability allows: `conductor:<name>`, a queue named in the tenant's space. */
const LISTENER_SINK = /^conductor:(.+)$/;

export function prefixWorkflowDef(input: unknown, opts: PrefixOptions): Verdict<Obj> {
  if (!isObj(input)) return refuse("a workflow definition must be a JSON object");
  const granted = opts.capabilities ?? NO_CAPABILITIES;
  const fields = fieldsOf(input, WORKFLOW_DEF, "", granted);
  if (fields) return fields;
  // The task list's expressions are checked with the list (`prefixTaskList`), not walked twice.
  const expression = expressionProblem({ ...input, tasks: undefined }, "");
  if (expression) return refuse(expression);
  const def: Obj = structuredClone(input);
  const name = checkName(def.name);
  if (!name.ok) return name;
  def.name = prefixTenant(opts.tenant, name.value);
  if (def.failureWorkflow !== undefined && def.failureWorkflow !== null && def.failureWorkflow !== "") {
    const failure = checkName(def.failureWorkflow, "failureWorkflow");
    if (!failure.ok) return failure;
    def.failureWorkflow = prefixTenant(opts.tenant, failure.value);
  }
  if (engaged(def.workflowStatusListenerSink)) {
    // Granted (fieldsOf checked): only a queue of Conductor's own, named in the tenant's space; a shared broker
    // (kafka:, sqs:, ...) has no names of the tenant's.
    const sink = typeof def.workflowStatusListenerSink === "string" ? LISTENER_SINK.exec(def.workflowStatusListenerSink) : null;
    const p = sink ? nameProblem(sink[1]) : "empty";
    if (!sink || p)
      return refuse(`workflowStatusListenerSink must be "conductor:<name>" (a queue in the tenant's names)${p ? ` (${p})` : ""}`);
    def.workflowStatusListenerSink = `conductor:${prefixTenant(opts.tenant, sink[1]!)}`;
  }
  if (hasValue(def.rateLimitConfig)) {
    const rl = def.rateLimitConfig;
    if (!isObj(rl)) return refuse("rateLimitConfig must be an object");
    const p = fieldsOf(rl, RATE_LIMIT_CONFIG, "rateLimitConfig", granted);
    if (p) return p;
    if (hasValue(rl.rateLimitKey)) {
      // A key every workflow of the server shares: named in the tenant's space (an expression stays inside it).
      if (typeof rl.rateLimitKey !== "string" || rl.rateLimitKey.includes(TENANT_SEPARATOR)) {
        return refuse("rateLimitConfig.rateLimitKey must be a string without ___");
      }
      rl.rateLimitKey = `${tenantPrefix(opts.tenant)}${rl.rateLimitKey}`;
    }
  }
  if (hasValue(def.metadata)) {
    if (!isObj(def.metadata)) return refuse("metadata must be an object");
    const agent = AGENT_METADATA_KEYS.find((k) => Object.hasOwn(def.metadata as Obj, k));
    if (agent) return refuse(`metadata.${agent} is not accepted: it makes the definition an agent (LLM and tools)`);
  }
  if (opts.ownerEmail) def.ownerEmail = opts.ownerEmail;
  if (!Array.isArray(def.tasks)) return refuse("tasks must be a list");
  const tasks = prefixTaskList(def.tasks, { ...opts, capabilities: granted }, "tasks");
  return tasks.ok ? allow(def) : tasks;
}

export interface TaskListOptions {
  tenant: TenantName;
  allowedTaskTypes: readonly string[];
  /** A list supplied at run time (a task's output), not a definition: only RUNTIME_TASK_TYPES. */
  runtime?: boolean;
  /** What the writer is granted; none when left out (a worker's run-time list is never granted any). */
  capabilities?: ReadonlySet<Capability>;
}

/**
 * Prefixes a list of tasks in place (names at any depth, sub-workflow names, dynamic-fork names) and checks each
 * against the capability table and the allow-list; refused at the first problem. Used for definitions and for the
 * `dynamic_tasks` a worker returns (which Conductor then runs as if they were part of the definition).
 */
export function prefixTaskList(tasks: unknown[], opts: TaskListOptions, where: string): Verdict {
  const expression = expressionProblem(tasks, where);
  if (expression) return refuse(expression);
  const refs = referenceTypes(tasks);
  const granted = opts.runtime ? NO_CAPABILITIES : (opts.capabilities ?? NO_CAPABILITIES);
  const problem = walkTasks(tasks, (task, here) => prefixTask(task, here, opts, granted, refs), where);
  return problem === null ? allow() : problem;
}

/** One task of `prefixTaskList` (its children are walked after it): checked, then its names prefixed in place. */
function prefixTask(
  task: Obj,
  where: string,
  opts: TaskListOptions,
  granted: ReadonlySet<Capability>,
  refs: Map<string, Set<string>>,
): Problem {
  const type = task.type ?? "SIMPLE";
  const known = typeof type === "string" ? TASK_TYPES.get(type) : undefined;
  if (typeof type !== "string" || !known) {
    return bad(`${where}: task type ${JSON.stringify(String(type).slice(0, 40))} is not a task type of Conductor's this gateway knows`);
  }
  if (known.unsupported) return bad(`${where}: task type ${type} is not accepted: ${known.unsupported}`);
  if (!opts.allowedTaskTypes.includes(type))
    return bad(`${where}: task type ${JSON.stringify(type)} is not allowed (ALLOWED_SYSTEM_TASKS)`);
  if (opts.runtime && !RUNTIME_TASK_TYPES.includes(type)) {
    const only = RUNTIME_TASK_TYPES.join(", ");
    return bad(`${where}: task type ${JSON.stringify(type)} is not allowed in a task list supplied at run time (only ${only})`);
  }
  const fields = fieldsOf(task, WORKFLOW_TASK, where, granted);
  if (fields) return fields;
  const shape = taskListShapeProblem(task, where);
  if (shape) return bad(shape);
  const nameIssue = checkTaskName(task.name, where);
  if (nameIssue) return bad(nameIssue);
  const runtime = runtimeProblem(task, where, type, refs);
  if (runtime) return bad(runtime);
  const power = capabilityProblem(task, where, type, granted);
  if (power) return power;
  task.name = prefixTenant(opts.tenant, task.name as string);
  if (type === "DYNAMIC") {
    const input = task.inputParameters as Obj;
    const param = task.dynamicTaskNameParam as string;
    // "T___${workflow.input.x}" resolves to a name in the tenant's space whatever x is: never a system task.
    input[param] = prefixTenant(opts.tenant, input[param] as string);
  }
  if (type === "KAFKA_PUBLISH") {
    const req = (task.inputParameters as Obj).kafka_request as Obj;
    const p = fieldsOf(req, KAFKA_REQUEST, `${where}.inputParameters.kafka_request`, granted);
    if (p) return p;
    if (req.keySerializer !== undefined && req.keySerializer !== null && !KAFKA_KEY_SERIALIZERS.includes(req.keySerializer as string)) {
      return bad(`${where}.inputParameters.kafka_request.keySerializer must be one of ${KAFKA_KEY_SERIALIZERS.join(", ")}`);
    }
    req.topic = prefixTenant(opts.tenant, req.topic as string);
  }
  if (type === "HTTP") {
    const p = fieldsOf((task.inputParameters as Obj).http_request as Obj, HTTP_REQUEST, `${where}.inputParameters.http_request`, granted);
    if (p) return p;
  }
  if (type === "START_WORKFLOW") {
    const req = (task.inputParameters as Obj).startWorkflow as Obj;
    const p = fieldsOf(req, START_WORKFLOW_INPUT, `${where}.inputParameters.startWorkflow`, granted);
    if (p) return p;
    for (const key of ["taskToDomain", "correlationId"]) {
      if (req[key] !== undefined) return bad(`${where}.inputParameters.startWorkflow.${key} is set by the gateway`);
    }
    const np = nameProblem(req.name);
    if (np) return bad(`${where}.inputParameters.startWorkflow.name: invalid (${np})`);
    req.name = prefixTenant(opts.tenant, req.name as string);
    req.taskToDomain = { "*": opts.tenant };
    // The started workflow belongs to whoever started this one (Conductor resolves the expression when it runs).
    req.correlationId = "${workflow.correlationId}";
  }
  if (hasValue(task.taskDefinition)) {
    if (!isObj(task.taskDefinition)) return bad(`${where}: taskDefinition must be an object`);
    const p = checkTaskDefFields(task.taskDefinition, `${where}.taskDefinition`);
    if (p) return bad(p);
    // Any name that is there is checked: Jackson reads a number as a name (5 -> "5"), which the prefix would miss.
    if (hasValue(task.taskDefinition.name)) {
      const n = checkTaskName(task.taskDefinition.name, `${where}.taskDefinition`);
      if (n) return bad(n);
      task.taskDefinition.name = prefixTenant(opts.tenant, task.taskDefinition.name as string);
    }
  }
  if (task.subWorkflowParam !== undefined && task.subWorkflowParam !== null) {
    if (!isObj(task.subWorkflowParam)) return bad(`${where}: subWorkflowParam must be an object`);
    if (task.subWorkflowParam.taskToDomain !== undefined) return bad(`${where}: subWorkflowParam.taskToDomain is not allowed`);
    if (task.subWorkflowParam.workflowDefinition !== undefined) return bad(`${where}: subWorkflowParam.workflowDefinition is not allowed`);
    const sp = fieldsOf(task.subWorkflowParam, SUB_WORKFLOW_PARAMS, `${where}.subWorkflowParam`, granted);
    if (sp) return sp;
    const p = nameProblem(task.subWorkflowParam.name);
    if (p) return bad(`${where}: subWorkflowParam.name invalid (${p})`);
    task.subWorkflowParam.name = prefixTenant(opts.tenant, task.subWorkflowParam.name as string);
  }
  if (isObj(task.inputParameters) && typeof task.inputParameters.expectedName === "string") {
    const p = checkTaskName(task.inputParameters.expectedName, `${where}.inputParameters.expectedName`);
    if (p) return bad(p);
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
  const sink = def.workflowStatusListenerSink;
  const prefix = tenantPrefix(tenant);
  if (typeof sink === "string" && sink.startsWith(`conductor:${prefix}`)) {
    def.workflowStatusListenerSink = `conductor:${stripPrefixes(sink.slice("conductor:".length), prefix)}`;
  }
  const rl = def.rateLimitConfig;
  if (isObj(rl) && typeof rl.rateLimitKey === "string" && rl.rateLimitKey.startsWith(prefix)) {
    rl.rateLimitKey = stripPrefixes(rl.rateLimitKey, prefix);
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
    // The names KAFKA_PUBLISH and START_WORKFLOW are given in the tenant's space (`prefixTask`).
    const named = task.type === "KAFKA_PUBLISH" ? "kafka_request" : task.type === "START_WORKFLOW" ? "startWorkflow" : undefined;
    const req = named !== undefined && isObj(input) ? input[named] : undefined;
    if (isObj(req)) {
      const key = named === "kafka_request" ? "topic" : "name";
      if (typeof req[key] === "string" && (req[key] as string).startsWith(prefix)) req[key] = stripPrefixes(req[key] as string, prefix);
      if (named === "startWorkflow") {
        (req as Record<string, unknown>).taskToDomain = undefined;
        (req as Record<string, unknown>).correlationId = undefined;
      }
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
