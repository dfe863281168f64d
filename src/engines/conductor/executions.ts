/**
 * Workflow executions and tasks across the tenant boundary. Pure.
 *
 * An execution belongs to the tenant whose prefix its workflow type carries; a non-admin may see and act on only
 * the executions they started (the gateway sets `correlationId` to the starter's subject, and Conductor copies it
 * to every sub-workflow). Anything else is answered as if it did not exist.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { unscopedIdempotencyKey } from "./startWorkflow";
import { stripTenantDeep, tenantPrefix } from "./tenantNames";

/** What decides who may see an execution: its (prefixed) workflow type and the correlation id it was started with. */
export interface ExecutionOwner {
  workflowType: string;
  correlationId: string | null;
}

/** The caller as the execution rules see them. */
export interface ExecutionViewer {
  tenant: TenantName;
  subject: string;
  admin: boolean;
}

/** Workflow ids and task ids: Conductor's are UUIDs; anything that could change a path or a query is refused. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const isConductorId = (v: unknown): v is string => typeof v === "string" && ID.test(v) && !v.includes("..");

/** The owner of an execution (`Workflow`) or of a search summary (`WorkflowSummary`), or null when it has none. */
export function executionOwner(exec: unknown): ExecutionOwner | null {
  if (!isObj(exec)) return null;
  const type = typeof exec.workflowType === "string" ? exec.workflowType : typeof exec.workflowName === "string" ? exec.workflowName : null;
  if (type === null) return null;
  // Both fields exist on a full execution; if they disagree the answer is not trusted.
  if (typeof exec.workflowName === "string" && typeof exec.workflowType === "string" && exec.workflowName !== exec.workflowType)
    return null;
  return { workflowType: type, correlationId: typeof exec.correlationId === "string" ? exec.correlationId : null };
}

/** Whether `viewer` may see (and act on) an execution with this owner. */
export function maySeeExecution(viewer: ExecutionViewer, owner: ExecutionOwner | null): boolean {
  if (!owner) return false;
  if (!owner.workflowType.startsWith(tenantPrefix(viewer.tenant))) return false;
  return viewer.admin || owner.correlationId === viewer.subject;
}

/**
 * The viewer's copy of an execution or summary, or null when they may not see it: names without the tenant's
 * prefix, and the idempotency key as its starter wrote it (startWorkflow.ts scopes it upstream).
 */
export function stripExecution(exec: unknown, viewer: ExecutionViewer): Obj | null {
  if (!maySeeExecution(viewer, executionOwner(exec))) return null;
  return withClientIdempotencyKey(stripTenantDeep(exec as Obj, viewer.tenant));
}

/** An execution (or a run) with its `idempotencyKey` as the client wrote it. */
export function withClientIdempotencyKey(exec: Obj): Obj {
  if (typeof exec.idempotencyKey !== "string") return exec;
  return { ...exec, idempotencyKey: unscopedIdempotencyKey(exec.idempotencyKey) };
}

/** The owner of a task, from the task itself (Conductor copies the workflow's type and correlation id into it). */
export function taskOwner(task: unknown): (ExecutionOwner & { workflowId: string }) | null {
  if (!isObj(task) || typeof task.workflowType !== "string" || !isConductorId(task.workflowInstanceId)) return null;
  return {
    workflowId: task.workflowInstanceId,
    workflowType: task.workflowType,
    correlationId: typeof task.correlationId === "string" ? task.correlationId : null,
  };
}

/**
 * A search answer (`SearchResult`: `{totalHits, results}`) with every result the viewer may not see dropped and
 * the rest stripped. The upstream query already asked for the viewer's executions only; this is the second wall.
 */
export function filterSearchResult(answer: unknown, viewer: ExecutionViewer): { totalHits: number; results: Obj[] } | null {
  if (!isObj(answer) || !Array.isArray(answer.results)) return null;
  const results: Obj[] = [];
  for (const r of answer.results) {
    const mine = stripExecution(r, viewer);
    if (mine) results.push(mine);
  }
  const dropped = answer.results.length - results.length;
  const total = typeof answer.totalHits === "number" && Number.isFinite(answer.totalHits) ? answer.totalHits : results.length;
  return { ...answer, totalHits: Math.max(results.length, total - dropped), results };
}

/** The sub-workflow ids an execution's tasks started (in the task, or in its output for older servers). */
export function subWorkflowIds(exec: Obj): string[] {
  if (!Array.isArray(exec.tasks)) return [];
  const ids: string[] = [];
  for (const t of exec.tasks) {
    if (!isObj(t) || t.taskType !== "SUB_WORKFLOW") continue;
    const id = t.subWorkflowId ?? (isObj(t.outputData) ? t.outputData.subWorkflowId : undefined);
    if (isConductorId(id) && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/**
 * A bulk request body (a JSON list of workflow ids), or a refusal. Conductor itself accepts at most 1,000.
 */
export function parseBulkIds(body: unknown, max: number): Verdict<string[]> {
  if (!Array.isArray(body)) return refuse("body must be a JSON list of workflow ids");
  if (body.length > max) return refuse(`at most ${max} workflow ids per bulk request`);
  const ids = new Set<string>();
  for (const [i, id] of body.entries()) {
    if (!isConductorId(id)) return refuse(`[${i}]: not a workflow id`);
    ids.add(id);
  }
  return allow([...ids]);
}

/**
 * A rerun request for `workflowId`: it may only rerun that workflow, and may not change whose it is (Conductor
 * replaces the correlation id when one is given).
 */
export function sanitizeRerun(body: unknown, workflowId: string): Verdict<Obj> {
  if (body !== undefined && body !== null && !isObj(body)) return refuse("body must be a JSON object");
  const out: Obj = isObj(body) ? { ...body } : {};
  if (out.reRunFromWorkflowId !== undefined && out.reRunFromWorkflowId !== workflowId) {
    return refuse("reRunFromWorkflowId must be the workflow in the path");
  }
  if (out.correlationId !== undefined) return refuse("correlationId is set by the gateway");
  // taskInput replaces the input Conductor already mapped for a task: for a sub-workflow that input names the
  // workflow, its inline definition and its task domains; for INLINE it is the code. Not checkable: refused.
  // An empty object (what a form with no fields sends) replaces nothing that matters and is let through.
  const emptyObject = isObj(out.taskInput) && Object.keys(out.taskInput).length === 0;
  if (out.taskInput !== undefined && out.taskInput !== null && !emptyObject) {
    return refuse("taskInput is not accepted: rerun with the task's recorded input");
  }
  // workflowInput is data only: no definition the gateway accepts takes a task list, type, name or code from it.
  if (out.workflowInput !== undefined && out.workflowInput !== null && !isObj(out.workflowInput)) {
    return refuse("workflowInput must be a JSON object");
  }
  if (out.reRunFromTaskId !== undefined && !isConductorId(out.reRunFromTaskId)) return refuse("reRunFromTaskId: not a task id");
  out.reRunFromWorkflowId = workflowId;
  return allow(out);
}
