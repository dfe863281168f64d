/**
 * `GET /conductor/api/workflow/{id}/hierarchy`: an execution with its task logs and definition and, recursively,
 * every sub-workflow execution with the same, fetched in parallel (6 at a time) within the request's subrequest
 * budget. Every level is checked like a direct request: a sub-workflow the caller may not see is left out (and
 * counted in `omitted`), and the rest still answers. When the budget runs out, `truncated` says so.
 */
import { GatewayError, notFound } from "../../errors";
import { MAX_PARALLEL_SUBREQUESTS, mapLimited } from "../../proxy/budget";
import { isObj, type Obj } from "../../jsonValue";
import { executionOwner, maySeeExecution, stripExecution, subWorkflowIds, type ExecutionViewer } from "./executions";
import { rememberWorkflowOwner } from "./ownership";
import { stripTenantDeep, stripTenant } from "./tenantNames";
import type { ConductorUpstream } from "./upstream";
import { stripWorkflowDef } from "./workflowDefs";

export interface HierarchyNode {
  workflowId: string;
  execution: Obj;
  definition: Obj | null;
  /** Logs of the execution's tasks, by task id. */
  taskLogs: Record<string, unknown>;
  subWorkflows: HierarchyNode[];
}

export interface Hierarchy extends HierarchyNode {
  /** Sub-workflows left out: another tenant's, another user's, or gone. */
  omitted: number;
  /** True when the subrequest budget ran out before everything was fetched. */
  truncated: boolean;
}

/** Levels followed at most (Conductor itself nests sub-workflows far less deeply). */
const MAX_DEPTH = 16;

/** What a hierarchy read has gathered so far, shared by its steps. */
interface Gathered {
  upstream: ConductorUpstream;
  viewer: ExecutionViewer;
  /** Upstream (prefixed) executions by id, the root first. */
  raw: Map<string, Obj>;
  /** Kept sub-workflow ids by parent id. */
  children: Map<string, string[]>;
  omitted: number;
  truncated: boolean;
}

const fetchable = (g: Gathered) => g.upstream.budget.remaining > 0;
const withTasks = () => new URLSearchParams({ includeTasks: "true" });

export async function executionHierarchy(upstream: ConductorUpstream, viewer: ExecutionViewer, rootId: string): Promise<Hierarchy> {
  const root = await upstream.jsonOrNull("GET", ["api", "workflow", rootId], withTasks());
  if (!isObj(root) || !maySeeExecution(viewer, executionOwner(root))) throw notFound("no such workflow");
  rememberWorkflowOwner(upstream, rootId, executionOwner(root));
  const g: Gathered = { upstream, viewer, raw: new Map([[rootId, root]]), children: new Map(), omitted: 0, truncated: false };
  let level = [rootId];
  for (let depth = 0; depth < MAX_DEPTH && level.length > 0; depth++) level = await nextLevel(g, level);
  if (level.length > 0 && level.some((id) => subWorkflowIds(g.raw.get(id)!).length > 0)) g.truncated = true;
  const definitions = await gatherDefinitions(g);
  const logs = await gatherTaskLogs(g);

  const build = (id: string): HierarchyNode => {
    const e = g.raw.get(id)!;
    const taskLogs: Record<string, unknown> = {};
    if (Array.isArray(e.tasks)) {
      for (const t of e.tasks) if (isObj(t) && typeof t.taskId === "string" && logs.has(t.taskId)) taskLogs[t.taskId] = logs.get(t.taskId);
    }
    return {
      workflowId: id,
      execution: stripExecution(e, viewer)!,
      definition: definitions.get(definitionKey(e)) ?? null,
      taskLogs,
      subWorkflows: (g.children.get(id) ?? []).map(build),
    };
  };
  return { ...build(rootId), omitted: g.omitted, truncated: g.truncated };
}

/** The sub-workflows of one level's executions, fetched in parallel; the ones kept, the next level. */
async function nextLevel(g: Gathered, level: readonly string[]): Promise<string[]> {
  const { upstream, viewer, raw } = g;
  const next: string[] = [];
  const wanted: { parent: string; id: string }[] = [];
  for (const parent of level) {
    const ids = subWorkflowIds(raw.get(parent)!).filter((id) => !raw.has(id));
    g.children.set(parent, []);
    for (const id of ids) if (!wanted.some((w) => w.id === id)) wanted.push({ parent, id });
  }
  const fetched = await mapLimited(wanted, MAX_PARALLEL_SUBREQUESTS, async ({ id }) => {
    if (!fetchable(g)) return "skipped" as const;
    try {
      return await upstream.jsonOrNull("GET", ["api", "workflow", id], withTasks());
    } catch (e) {
      if (e instanceof GatewayError && e.status < 500) return null;
      throw e;
    }
  });
  wanted.forEach(({ parent, id }, i) => {
    const exec = fetched[i];
    if (exec === "skipped") {
      g.truncated = true;
      return;
    }
    if (!isObj(exec) || raw.has(id) || !maySeeExecution(viewer, executionOwner(exec))) {
      g.omitted++;
      return;
    }
    rememberWorkflowOwner(upstream, id, executionOwner(exec));
    raw.set(id, exec);
    g.children.get(parent)!.push(id);
    next.push(id);
  });
  return next;
}

const definitionKey = (e: Obj) => `${String(e.workflowName ?? e.workflowType)}:${String(e.workflowVersion ?? e.version ?? "")}`;

/** Definitions: from the execution when it carries one, else fetched once per name and version. */
async function gatherDefinitions(g: Gathered): Promise<Map<string, Obj | null>> {
  const { upstream, viewer } = g;
  const definitions = new Map<string, Obj | null>();
  const missing: Obj[] = [];
  for (const e of g.raw.values()) {
    const k = definitionKey(e);
    if (definitions.has(k)) continue;
    if (isObj(e.workflowDefinition)) definitions.set(k, stripWorkflowDef(e.workflowDefinition, viewer.tenant));
    else {
      definitions.set(k, null);
      missing.push(e);
    }
  }
  await mapLimited(missing, MAX_PARALLEL_SUBREQUESTS, async (e) => {
    const name = String(e.workflowName ?? e.workflowType);
    if (stripTenant(viewer.tenant, name) === null) return;
    if (!fetchable(g)) return void (g.truncated = true);
    const q = new URLSearchParams();
    const version = e.workflowVersion ?? e.version;
    if (typeof version === "number") q.set("version", String(version));
    const def = await upstream.jsonOrNull("GET", ["api", "metadata", "workflow", name], q).catch(() => null);
    definitions.set(definitionKey(e), stripWorkflowDef(def, viewer.tenant, false));
  });
  return definitions;
}

/** Task logs, for every task of every execution kept, by task id. */
async function gatherTaskLogs(g: Gathered): Promise<Map<string, unknown>> {
  const taskIds: string[] = [];
  for (const e of g.raw.values()) {
    if (!Array.isArray(e.tasks)) continue;
    for (const t of e.tasks) if (isObj(t) && typeof t.taskId === "string") taskIds.push(t.taskId);
  }
  const logs = new Map<string, unknown>();
  await mapLimited(taskIds, MAX_PARALLEL_SUBREQUESTS, async (taskId) => {
    if (!fetchable(g)) return void (g.truncated = true);
    const l = await g.upstream.jsonOrNull("GET", ["api", "tasks", taskId, "log"]).catch(() => null);
    if (Array.isArray(l)) logs.set(taskId, stripTenantDeep(l, g.viewer.tenant));
  });
  return logs;
}
