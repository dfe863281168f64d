/**
 * Queues (admins only) and tasks: queue sizes cut down to the tenant's own queues, a task and its log for whoever
 * may see its workflow. Workers do not poll, update or ack here: they have a route of their own.
 */
import { waitUntil } from "../../../context";
import { badRequest, notFound } from "../../../errors";
import { isObj } from "../../../jsonValue";
import { requirePrincipal } from "../../../pipeline";
import { rememberTaskOwner, requireVisibleTask } from "../ownership";
import { grantPayloadPaths, payloadPaths } from "../payloadPaths";
import { filterQueueSizes, filterQueueVerbose } from "../queues";
import type { Routes, Step } from "./router";
import { asAppContext, adminOnly, type ConductorEnv } from "../services";
import { prefixTenant, stripTenantDeep } from "../tenantNames";
import { malformed } from "../upstream";
import { checkedId, checkedName, pathParam } from "./edge";

/** `anyone` registers without the caller's checks: the worker paths answer every credential alike. */
export function taskRoutes(r: Routes<ConductorEnv>, anyone: Routes<ConductorEnv>): void {
  queueRoutes(r.with(adminOnly("queues")));
  // Workers poll, update and ack on their own route, which serves every tenant they work for.
  const workerPath: Step<ConductorEnv> = (c) => {
    requirePrincipal(asAppContext(c)); // like every unknown path here: nothing under /conductor answers anonymously
    throw notFound("task workers use the worker route: /workers/conductor/api/tasks/... (a credential with scope worker)");
  };
  anyone.get("/api/tasks/poll/*", workerPath);
  anyone.post("/api/tasks", workerPath);
  anyone.post("/api/tasks/update-v2", workerPath);
  anyone.post("/api/tasks/:taskId/ack", workerPath);
  anyone.post("/api/tasks/:taskId/log", workerPath);

  r.get("/api/tasks/:taskId", async (c) => {
    const caller = c.get("caller");
    const upstream = c.get("conductor");
    const id = checkedId(pathParam(c, "taskId"), "task");
    const task = await upstream.jsonOrNull("GET", ["api", "tasks", id]);
    if (!isObj(task) || task.taskId !== id) throw notFound("no such task");
    await requireVisibleTask(upstream, caller, id, task);
    rememberTaskOwner(upstream, id, task);
    const paths = payloadPaths(task);
    if (paths.length > 0) waitUntil(asAppContext(c), grantPayloadPaths(c.env.KEY_CACHE, caller.tenant, paths));
    return c.json(stripTenantDeep(task, caller.tenant));
  });

  r.get("/api/tasks/:taskId/log", async (c) => {
    const caller = c.get("caller");
    const upstream = c.get("conductor");
    const id = checkedId(pathParam(c, "taskId"), "task");
    await requireVisibleTask(upstream, caller, id);
    return c.json(await upstream.list(["api", "tasks", id, "log"], (entry) => stripTenantDeep(entry, caller.tenant)));
  });
}

/** Every route here is for admins (the view given is guarded). */
function queueRoutes(r: Routes<ConductorEnv>): void {
  r.get("/api/tasks/queue/all", async (c) => {
    const out = filterQueueSizes(await c.get("conductor").json("GET", ["api", "tasks", "queue", "all"]), c.get("caller").tenant);
    if (!out) throw malformed();
    return c.json(out);
  });

  r.get("/api/tasks/queue/all/verbose", async (c) => {
    const out = filterQueueVerbose(
      await c.get("conductor").json("GET", ["api", "tasks", "queue", "all", "verbose"]),
      c.get("caller").tenant,
    );
    if (!out) throw malformed();
    return c.json(out);
  });

  r.get("/api/tasks/queue/sizes", async (c) => {
    const tenant = c.get("caller").tenant;
    const types = new URL(c.req.url).searchParams.getAll("taskType");
    if (types.length === 0 || types.length > 100) throw badRequest("taskType: between 1 and 100 task types");
    const q = new URLSearchParams();
    for (const t of types) q.append("taskType", prefixTenant(tenant, checkedName(t, "taskType")));
    const out = filterQueueSizes(await c.get("conductor").json("GET", ["api", "tasks", "queue", "sizes"], q), tenant);
    if (!out) throw malformed();
    return c.json(out);
  });
}
