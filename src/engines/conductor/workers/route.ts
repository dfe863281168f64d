/**
 * `/workers/conductor/api/tasks/*` -> CONDUCTOR_URL: one pool of task workers serving many tenants.
 *
 * A worker (scope `worker`, or `worker/<taskType>`) polls a task type; the gateway polls that type in the queue of
 * each tenant the worker serves (`T___type` in task domain `T`), shares the batch fairly among them
 * (./fairness.ts) and answers one combined list. Task names keep their `T___` prefix: workers
 * read their tenant from it. Updates, acks and logs are accepted only for tasks of a tenant the worker serves.
 *
 * A poll first asks Conductor how deep each tenant's queue is (one call for up to 100 tenants), then polls only the
 * tenants with work, at once (timeout 0). Only when none has work does it long-poll, with the worker's timeout, at
 * most 6 tenants (the connections one Worker request may hold), in an order that rotates from poll to poll. Every
 * upstream poll is awaited to its end, never cut: a task Conductor hands out reaches the worker.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { LruCache } from "../../../cache/lru";
import type { Env } from "../../../config";
import type { AppEnv, AppVariables } from "../../../context";
import { GatewayError, badRequest, forbidden, notFound } from "../../../errors";
import type { Principal, TenantName } from "../../../identity/principal";
import { isTenantName } from "../../../identity/principal";
import { hasScope } from "../../../formats/scopes";
import { isObj, type Obj } from "../../../jsonValue";
import { authenticated, requirePrincipal } from "../../../pipeline";
import { runtimeStartsCost, workerCost } from "../../../ratelimit/cost";
import { chargeRateLimit, rateLimited } from "../../../ratelimit/enforce";
import { requestServices } from "../../../services";
import { MAX_PARALLEL_SUBREQUESTS, mapLimited } from "../../../proxy/budget";
import { readBodyLimited, utf8 } from "../../../proxy/body";
import { parseClientJson, repeatedKey } from "../../../proxy/json";
import { orThrow } from "../../../verdict";
import { isConductorId } from "../executions";
import { requireUnshadowedReferences, sanitizeTaskResult } from "../runtimeData";
import { Routes } from "../routes/router";
import { asAppContext } from "../services";
import { GLOBAL_PREFIX, TENANT_SEPARATOR, isGlobalName, nameProblem, prefixTenant, stripTenant } from "../tenantNames";
import { tokenLogin } from "../token";
import { ConductorUpstream, malformed, type UpstreamAnswer } from "../upstream";
import { fairShares, longPollShares, rotated } from "./fairness";
import { servedTenants } from "./tenants";
import { secretReferenceProblem } from "../expressions";

/** Queue sizes asked per call (keeps the URL short). */
const SIZES_PER_CALL = 100;
/** How long "task X is tenant T's" is believed without asking again. */
const TASK_OWNER_TTL_MS = 60_000;

interface TaskOwner {
  tenant: TenantName;
  /** The task type as the worker names it (without the tenant prefix). */
  taskType: string;
  workflowId: string;
}
const taskOwners = new LruCache<TaskOwner>(20_000);

/** Which tenant a poll of each task type serves first: advances on every poll (per isolate). */
const turns = new Map<string, number>();
function nextTurn(taskType: string): number {
  const n = turns.get(taskType) ?? 0;
  turns.set(taskType, (n + 1) % 1_000_000);
  if (turns.size > 10_000) turns.clear();
  return n;
}

type WorkerEnv = { Bindings: Env; Variables: AppVariables & { conductor: ConductorUpstream } };
type WorkerContext = Context<WorkerEnv>;

/** Conductor's API over the request's client (the worker's identity headers, the request's budget), for every tenant. */
const workerServices: MiddlewareHandler<WorkerEnv> = async (c, next) => {
  const services = c.get("services"); // not `c.var`: that copies every variable into a new object
  const maxAnswer = c.get("config").maxUpstreamAnswerBytes;
  c.set("conductor", new ConductorUpstream(() => services.upstream("conductor"), null, services.budget, maxAnswer));
  await next();
};

/** A task type as a worker names it: the tenant's own (no `___`), or a shared `GLOBAL___` one. */
function checkedTaskType(raw: string): string {
  const own = isGlobalName(raw) ? raw.slice(GLOBAL_PREFIX.length) : raw;
  const p = nameProblem(own);
  if (p) throw badRequest(`taskType: invalid (${p})`);
  return raw;
}

function mayWork(p: Principal, taskType: string): boolean {
  return hasScope(p.scopes, "worker") || hasScope(p.scopes, `worker/${taskType}`);
}

function workerOf(c: WorkerContext, taskType?: string): Principal {
  const p = requirePrincipal(asAppContext(c));
  const any = hasScope(p.scopes, "worker") || p.scopes.some((s) => s.startsWith("worker/"));
  if (!any) throw forbidden("scope worker or worker/<taskType> required");
  if (taskType !== undefined && !mayWork(p, taskType)) throw forbidden(`scope worker/${taskType} required`);
  return p;
}

/** The tenant a stored (prefixed) name belongs to, or null. */
function tenantOfName(name: unknown): TenantName | null {
  if (typeof name !== "string") return null;
  const at = name.indexOf(TENANT_SEPARATOR);
  if (at <= 0 || isGlobalName(name)) return null;
  const t = name.slice(0, at);
  return isTenantName(t) ? t : null;
}

/** A query parameter; empty means absent, as in Conductor. */
function queryParam(c: WorkerContext, name: string): string | undefined {
  const v = c.req.query(name);
  return v === "" ? undefined : v;
}

function intParam(c: WorkerContext, name: string, fallback: number, min: number, max: number): number {
  const v = queryParam(c, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < min || Number(v) > max)
    throw badRequest(`${name} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

function workerIdParam(c: WorkerContext): string | null {
  const v = queryParam(c, "workerid");
  if (v === undefined) return null;
  if (v.length > 256 || /[\x00-\x1f\x7f]/.test(v)) throw badRequest("workerid: invalid");
  // Conductor stores it as the task's workerId, which `${<ref>.workerId}` reads: held to the data rule here, so the
  // refusal is a 400 rather than a poll the fan-out skips (ConductorUpstream.send refuses it too).
  const secret = secretReferenceProblem(v, "workerid");
  if (secret !== null) throw badRequest(secret);
  return v;
}

interface PollRequest {
  taskType: string;
  count: number;
  timeoutMs: number;
  workerId: string | null;
}

/** Queue depth of the task type in each tenant's domain; null when the upstream cannot say. */
async function queueDepths(c: WorkerContext, taskType: string, tenants: readonly TenantName[]): Promise<Map<TenantName, number> | null> {
  const upstream = c.get("conductor");
  const depths = new Map<TenantName, number>();
  for (let i = 0; i < tenants.length; i += SIZES_PER_CALL) {
    const chunk = tenants.slice(i, i + SIZES_PER_CALL);
    const q = new URLSearchParams();
    for (const t of chunk) q.append("taskType", `${t}:${prefixTenant(t, taskType)}`);
    try {
      const sizes = await upstream.json("GET", ["api", "tasks", "queue", "sizes"], q);
      if (!isObj(sizes)) throw malformed();
      for (const t of chunk) {
        const n = sizes[`${t}:${prefixTenant(t, taskType)}`];
        depths.set(t, typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0);
      }
    } catch (e) {
      c.get("log").warn("workers.queue_sizes_failed", { code: e instanceof GatewayError ? e.code : "INTERNAL" });
      return null;
    }
  }
  return depths;
}

/** One tenant's poll; a failure is logged and answers no tasks, so the other tenants' tasks still come back. */
async function pollTenant(c: WorkerContext, req: PollRequest, tenant: TenantName, count: number, timeoutMs: number): Promise<Obj[]> {
  const upstream = c.get("conductor");
  const q = new URLSearchParams({ count: String(count), timeout: String(timeoutMs), domain: tenant });
  if (req.workerId !== null) q.set("workerid", req.workerId);
  const upstreamType = prefixTenant(tenant, req.taskType);
  let answer: unknown;
  try {
    // The wait is the poll's own timeout plus the usual bound: a long poll is never cut short.
    answer = await upstream.json("GET", ["api", "tasks", "poll", "batch", upstreamType], q, undefined, {
      timeoutMs: timeoutMs + c.get("config").upstreamTimeoutMs,
    });
  } catch (e) {
    c.get("log").warn("workers.poll_failed", { tenant, taskType: req.taskType, code: e instanceof GatewayError ? e.code : "INTERNAL" });
    return [];
  }
  if (answer === null) return [];
  if (!Array.isArray(answer)) {
    c.get("log").warn("workers.poll_failed", { tenant, taskType: req.taskType, code: "BAD_GATEWAY" });
    return [];
  }
  const tasks: Obj[] = [];
  for (const t of answer) {
    // A task of another tenant in this tenant's queue would be a leak: it is held back (and logged) instead.
    if (!isObj(t) || tenantOfName(t.workflowType) !== tenant || !isConductorId(t.taskId)) {
      c.get("log").error("workers.foreign_task_withheld", { tenant, taskType: req.taskType });
      continue;
    }
    taskOwners.set(
      `${upstream.id}\u0000${t.taskId}`,
      { tenant, taskType: req.taskType, workflowId: String(t.workflowInstanceId) },
      TASK_OWNER_TTL_MS,
    );
    tasks.push(t);
  }
  return tasks;
}

/** The combined poll, in this poll's tenant order. */
async function poll(c: WorkerContext, req: PollRequest): Promise<Obj[]> {
  const worker = workerOf(c, req.taskType);
  const tenants = await servedTenants(asAppContext(c), worker);
  if (tenants.length === 0) return [];
  const upstream = c.get("conductor");
  const order = rotated(tenants, nextTurn(req.taskType));
  const depths = await queueDepths(c, req.taskType, order);

  const run = async (shares: Map<TenantName, number>, timeoutMs: number) => {
    const entries = order.filter((t) => shares.has(t)).map((t) => [t, shares.get(t)!] as const);
    const results = await mapLimited(entries, MAX_PARALLEL_SUBREQUESTS, ([t, n]) => pollTenant(c, req, t, n, timeoutMs));
    return results.flat();
  };

  let tasks: Obj[] = [];
  if (depths) {
    // Tenants with work, fairly shared; as many as the subrequest budget allows, the rest first next time.
    const withWork = order.filter((t) => (depths.get(t) ?? 0) > 0).slice(0, upstream.budget.remaining);
    tasks = await run(fairShares(req.count, depths, withWork), 0);
  }
  if (tasks.length === 0 && (req.timeoutMs > 0 || !depths)) {
    const parallel = Math.min(MAX_PARALLEL_SUBREQUESTS, upstream.budget.remaining);
    tasks = await run(longPollShares(req.count, order, parallel), req.timeoutMs);
  }
  return tasks;
}

/** Throws 404 unless the task belongs to a tenant the worker serves (and is of a type it may work on). */
async function requireServedTask(c: WorkerContext, worker: Principal, taskId: string, workflowId?: unknown): Promise<TaskOwner> {
  if (!isConductorId(taskId)) throw notFound("no such task");
  const upstream = c.get("conductor");
  const key = `${upstream.id}\u0000${taskId}`;
  let owner = taskOwners.get(key);
  if (!owner) {
    const task = await upstream.jsonOrNull("GET", ["api", "tasks", taskId]);
    const tenant = isObj(task) && task.taskId === taskId ? tenantOfName(task.workflowType) : null;
    const stored = isObj(task) ? (task.taskDefName ?? task.taskType) : null;
    const taskType = tenant && typeof stored === "string" ? stripTenant(tenant, stored) : null;
    if (!tenant || taskType === null || !isConductorId((task as Obj).workflowInstanceId)) throw notFound("no such task");
    owner = { tenant, taskType, workflowId: (task as Obj).workflowInstanceId as string };
    taskOwners.set(key, owner, TASK_OWNER_TTL_MS);
  }
  const tenants = await servedTenants(asAppContext(c), worker);
  if (!tenants.includes(owner.tenant) || !mayWork(worker, owner.taskType)) throw notFound("no such task");
  if (workflowId !== undefined && workflowId !== owner.workflowId) throw notFound("no such task");
  return owner;
}

/** A task result, checked against the tenants the worker serves and sent upstream (`POST /api/tasks`). */
async function updateTask(c: WorkerContext): Promise<{ answer: UpstreamAnswer; owner: TaskOwner; workerId: string | null }> {
  const worker = workerOf(c);
  const text = utf8(await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes));
  const result = parseClientJson(text);
  const repeated = repeatedKey(text);
  if (repeated !== null) throw badRequest(`body: the key ${JSON.stringify(repeated.slice(0, 64))} appears twice in one object`);
  if (!isObj(result) || typeof result.taskId !== "string") throw badRequest("body must be a TaskResult with a taskId");
  const secret = secretReferenceProblem(result);
  if (secret !== null) throw badRequest(secret);
  const workerId = result.workerId === undefined || result.workerId === null || result.workerId === "" ? null : result.workerId;
  if (workerId !== null && (typeof workerId !== "string" || workerId.length > 256 || /[\x00-\x1f\x7f]/.test(workerId)))
    throw badRequest("workerId: invalid");
  const upstream = c.get("conductor");
  const owner = await requireServedTask(c, worker, result.taskId, result.workflowInstanceId);
  // A task result's `dynamic_tasks` become part of the workflow: named in its tenant's space, allow-listed.
  const checked = orThrow(sanitizeTaskResult(result, owner.tenant, c.get("config").allowedSystemTasks));
  // Each forked SUB_WORKFLOW is an execution Conductor starts: charged like a start, beyond the update's own cost.
  if (checked.subWorkflows > 0) await chargeRateLimit(asAppContext(c), "workers", runtimeStartsCost(checked.subWorkflows));
  await requireUnshadowedReferences(upstream, owner.workflowId, checked.runtimeRefs);
  return { answer: await upstream.call("POST", ["api", "tasks"], undefined, checked.body), owner, workerId };
}

async function relayText(c: WorkerContext, answer: { status: number; text: string; contentType: string }): Promise<Response> {
  if (answer.text === "") return c.body(null, answer.status as 200); // the upstream's own status, empty
  return new Response(answer.text, { status: answer.status, headers: { "content-type": answer.contentType || "text/plain" } });
}

export function workersRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  // The SDKs' login takes no credential (it is how one is obtained), so it comes before authentication.
  r.post("/conductor/api/token", tokenLogin);
  // Task workers are programs, not browsers: a poll is a GET that takes work off a queue, so the ambient session
  // cookie is not a credential here (a sibling page's <img> must not dequeue tasks as the signed-in person).
  r.use(
    "*",
    authenticated({ gatewayToken: true }, { browserSession: false }),
    rateLimited("workers", (c) => workerCost(c.req.path, c.req.query("count"), c.get("config").maxPollCount)),
    requestServices,
  );

  const routes = Routes.on<WorkerEnv, AppEnv>(r, workerServices);
  routes.get("/conductor/api/tasks/poll/batch/:taskType", async (c) => {
    const config = c.get("config");
    const req: PollRequest = {
      taskType: checkedTaskType(c.req.param("taskType") ?? ""),
      count: intParam(c, "count", 1, 1, config.maxPollCount),
      timeoutMs: intParam(c, "timeout", 100, 0, config.maxPollTimeoutMs),
      workerId: workerIdParam(c),
    };
    refuseDomain(c);
    return c.json(await poll(c, req));
  });

  routes.get("/conductor/api/tasks/poll/:taskType", async (c) => {
    const req: PollRequest = {
      taskType: checkedTaskType(c.req.param("taskType") ?? ""),
      count: 1,
      timeoutMs: intParam(c, "timeout", 0, 0, c.get("config").maxPollTimeoutMs),
      workerId: workerIdParam(c),
    };
    refuseDomain(c);
    const [task] = await poll(c, req);
    return task ? c.json(task) : c.body(null, 204);
  });

  routes.post("/conductor/api/tasks", async (c) => relayText(c, (await updateTask(c)).answer));

  // Update, then the next task of the same type for this worker (Conductor's update-v2, which saves a poll): the
  // update is the one above, and the next task comes from the gateway's own poll over the tenants the worker
  // serves, never from the upstream's poll of the updated task's queue alone. None waiting: 204, as Conductor.
  routes.post("/conductor/api/tasks/update-v2", async (c) => {
    const { owner, workerId } = await updateTask(c);
    const [next] = await poll(c, { taskType: owner.taskType, count: 1, timeoutMs: 0, workerId });
    return next ? c.json(next) : c.body(null, 204);
  });

  routes.post("/conductor/api/tasks/:taskId/ack", async (c) => {
    const taskId = c.req.param("taskId") ?? "";
    await requireServedTask(c, workerOf(c), taskId);
    const q = new URLSearchParams();
    const workerId = workerIdParam(c);
    if (workerId !== null) q.set("workerid", workerId);
    return relayText(c, await c.get("conductor").call("POST", ["api", "tasks", taskId, "ack"], q));
  });

  routes.post("/conductor/api/tasks/:taskId/log", async (c) => {
    const taskId = c.req.param("taskId") ?? "";
    await requireServedTask(c, workerOf(c), taskId);
    const log = utf8(await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes));
    // Conductor binds the log to a String (TaskResource: `@RequestBody String log`), whatever the media type, in the
    // charset the content type names: the gateway names its own, UTF-8, which is how it read and checked the text.
    const opts = { rawBody: true, contentType: "text/plain; charset=utf-8" };
    return relayText(c, await c.get("conductor").call("POST", ["api", "tasks", taskId, "log"], undefined, log, opts));
  });

  // Unknown paths answer only a caller with a credential: nothing under /workers answers anonymously.
  r.all("*", (c) => {
    requirePrincipal(c);
    throw notFound("no such worker route on this gateway");
  });
  return r;
}

/** A poll's task domain is the gateway's to set (each tenant's own), never the worker's. */
function refuseDomain(c: WorkerContext): void {
  if (queryParam(c, "domain") !== undefined) throw badRequest("domain is set by the gateway");
}
