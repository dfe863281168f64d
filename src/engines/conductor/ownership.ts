/**
 * Who owns a workflow id or a task id, asked of the upstream once and remembered: an execution's workflow type and
 * correlation id never change, so the answer can be kept for as long as the isolate keeps it (bounded, with a TTL
 * so a removed workflow does not linger). Only found owners are kept; "no such id" is asked again.
 */
import { LruCache } from "../../cache/lru";
import { notFound } from "../../errors";
import { executionOwner, isConductorId, maySeeExecution, taskOwner, type ExecutionOwner, type ExecutionViewer } from "./executions";
import type { ConductorUpstream } from "./upstream";

/** Ids remembered per isolate (an owner is ~150 bytes: 20,000 stay near 3 MB). */
const OWNER_CACHE_ENTRIES = 20_000;
const OWNER_CACHE_TTL_MS = 3_600_000;

const workflowOwners = new LruCache<ExecutionOwner>(OWNER_CACHE_ENTRIES);
const taskOwners = new LruCache<ExecutionOwner & { workflowId: string }>(OWNER_CACHE_ENTRIES);

const key = (upstream: ConductorUpstream, id: string) => `${upstream.id}\u0000${id}`;

export function rememberWorkflowOwner(upstream: ConductorUpstream, workflowId: string, owner: ExecutionOwner | null): void {
  if (owner && isConductorId(workflowId)) workflowOwners.set(key(upstream, workflowId), owner, OWNER_CACHE_TTL_MS);
}

/** The owner of a workflow id, or null when the upstream knows no such workflow. */
export async function workflowOwner(upstream: ConductorUpstream, workflowId: string): Promise<ExecutionOwner | null> {
  if (!isConductorId(workflowId)) return null;
  const cached = workflowOwners.get(key(upstream, workflowId));
  if (cached) return cached;
  const exec = await upstream.jsonOrNull("GET", ["api", "workflow", workflowId], new URLSearchParams({ includeTasks: "false" }));
  const owner = executionOwner(exec);
  rememberWorkflowOwner(upstream, workflowId, owner);
  return owner;
}

/** Throws 404 unless the viewer may see the workflow (another tenant's and an unknown id look the same). */
export async function requireVisibleWorkflow(
  upstream: ConductorUpstream,
  viewer: ExecutionViewer,
  workflowId: string,
): Promise<ExecutionOwner> {
  const owner = await workflowOwner(upstream, workflowId);
  if (!owner || !maySeeExecution(viewer, owner)) throw notFound("no such workflow");
  return owner;
}

export function rememberTaskOwner(upstream: ConductorUpstream, taskId: string, task: unknown): void {
  const owner = taskOwner(task);
  if (owner && isConductorId(taskId)) taskOwners.set(key(upstream, taskId), owner, OWNER_CACHE_TTL_MS);
}

/**
 * Throws 404 unless the viewer may see the task's workflow. The task's own fields name its workflow; the
 * workflow's owner is then checked as for any workflow id (so a forged task field cannot grant anything).
 */
export async function requireVisibleTask(
  upstream: ConductorUpstream,
  viewer: ExecutionViewer,
  taskId: string,
  task?: unknown,
): Promise<void> {
  if (!isConductorId(taskId)) throw notFound("no such task");
  let owner = taskOwners.get(key(upstream, taskId)) ?? taskOwner(task);
  if (!owner) {
    const fetched = await upstream.jsonOrNull("GET", ["api", "tasks", taskId]);
    owner = taskOwner(fetched);
    if (owner) rememberTaskOwner(upstream, taskId, fetched);
  }
  if (!owner || !maySeeExecution(viewer, owner)) throw notFound("no such task");
  const workflow = await workflowOwner(upstream, owner.workflowId);
  if (!workflow || !maySeeExecution(viewer, workflow)) throw notFound("no such task");
}
