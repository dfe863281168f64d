/**
 * Workflow definitions across the tenant boundary. Pure.
 * - `prefixWorkflowDef`: what a client sends, made into what the upstream stores for the tenant: the definition's
 *   name, every task name at any depth (DECISION/SWITCH cases and default, FORK_JOIN forkTasks, DO_WHILE loopOver,
 *   dynamic-fork `expectedName`), `subWorkflowParam.name` and `failureWorkflow` prefixed, `GLOBAL___` task names kept,
 *   `ownerEmail` set to the caller's. Refuses `___` in names, `subWorkflowParam.taskToDomain`, and any task type
 *   outside the allow-list, at any depth.
 * - `stripWorkflowDef`: the inverse for answers; null when the definition is not the tenant's.
 */
import type { TenantName } from "../../identity/principal";
import { GLOBAL_PREFIX, TENANT_SEPARATOR, isGlobalName, nameProblem, prefixTenant, stripTenant } from "./tenantNames";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface Refused {
  refused: string;
}

/** The nested task lists of a task, wherever Conductor keeps them. */
function childTaskLists(task: Obj): Json[][] {
  const lists: Json[][] = [];
  if (isObj(task.decisionCases)) for (const v of Object.values(task.decisionCases)) if (Array.isArray(v)) lists.push(v);
  if (Array.isArray(task.defaultCase)) lists.push(task.defaultCase);
  if (Array.isArray(task.loopOver)) lists.push(task.loopOver);
  if (Array.isArray(task.forkTasks)) for (const branch of task.forkTasks) if (Array.isArray(branch)) lists.push(branch);
  return lists;
}

function checkTaskName(name: Json | undefined, where: string): string | null {
  if (typeof name !== "string") return `${where}: name must be a string`;
  const own = isGlobalName(name) ? name.slice(GLOBAL_PREFIX.length) : name;
  const problem = nameProblem(own);
  return problem ? `${where}: invalid name (${problem})` : null;
}

/** Renames the names of one task (and its children) with `rename`; stops at the first refusal. */
function walkTasks(
  tasks: Json[],
  visit: (task: Obj, where: string) => string | null,
  where: string,
  depth = 0,
): string | null {
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

export function prefixWorkflowDef(input: unknown, opts: PrefixOptions): { def: Obj } | Refused {
  if (!isObj(input)) return { refused: "a workflow definition must be a JSON object" };
  const def: Obj = structuredClone(input);
  const problem = nameProblem(def.name);
  if (problem) return { refused: `name: invalid (${problem})` };
  def.name = prefixTenant(opts.tenant, def.name as string);
  if (def.failureWorkflow !== undefined && def.failureWorkflow !== null && def.failureWorkflow !== "") {
    const p = nameProblem(def.failureWorkflow);
    if (p) return { refused: `failureWorkflow: invalid (${p})` };
    def.failureWorkflow = prefixTenant(opts.tenant, def.failureWorkflow as string);
  }
  if (opts.ownerEmail) def.ownerEmail = opts.ownerEmail;
  if (!Array.isArray(def.tasks)) return { refused: "tasks must be a list" };
  const refused = prefixTaskList(def.tasks, opts, "tasks");
  return refused ? { refused } : { def };
}

/**
 * Prefixes a list of tasks in place (names at any depth, sub-workflow names, dynamic-fork names) and checks each
 * against the allow-list; the first refusal, or null. Used for definitions and for the `dynamic_tasks` a worker
 * returns (which Conductor then runs as if they were part of the definition).
 */
export function prefixTaskList(tasks: Json[], opts: Omit<PrefixOptions, "ownerEmail">, where: string): string | null {
  return walkTasks(
    tasks,
    (task, where) => {
      const type = task.type ?? "SIMPLE";
      if (typeof type !== "string" || !opts.allowedTaskTypes.includes(type)) return `${where}: task type ${JSON.stringify(String(type).slice(0, 40))} is not allowed`;
      const nameIssue = checkTaskName(task.name, where);
      if (nameIssue) return nameIssue;
      task.name = prefixTenant(opts.tenant, task.name as string);
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
    },
    where,
  );
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
export function stripTasks(tasks: Json[], tenant: TenantName, depth = 0): void {
  if (depth > 64) return;
  const prefix = `${tenant}${TENANT_SEPARATOR}`;
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
    const cases = task.decisionCases;
    if (isObj(cases)) for (const k in cases) if (Array.isArray(cases[k])) stripTasks(cases[k], tenant, depth + 1);
    if (Array.isArray(task.defaultCase)) stripTasks(task.defaultCase, tenant, depth + 1);
    if (Array.isArray(task.loopOver)) stripTasks(task.loopOver, tenant, depth + 1);
    if (Array.isArray(task.forkTasks)) for (const branch of task.forkTasks) if (Array.isArray(branch)) stripTasks(branch, tenant, depth + 1);
  }
}

function stripPrefixes(name: string, prefix: string): string {
  let out = name;
  while (out.startsWith(prefix)) out = out.slice(prefix.length);
  return out;
}
