/**
 * Workflows: starting them (by body, by name, synchronously), searching executions, bulk operations (admins), the
 * running list (admins), and one execution (read, hierarchy, actions). Every execution is checked against the
 * caller before anything is done with it: another tenant's, or for a non-admin another user's, does not exist.
 */
import { CONDUCTOR_START_COST, MAX_SYNC_EXECUTE_WAIT_S } from "../../../constants";
import { waitUntil } from "../../../context";
import { GatewayError, badRequest, forbidden, notFound } from "../../../errors";
import { isObj, type Obj } from "../../../jsonValue";
import { MAX_PARALLEL_SUBREQUESTS, mapLimited } from "../../../proxy/budget";
import { conductorBulkCost, conductorCost, runtimeStartsCost } from "../../../ratelimit/cost";
import { orThrow } from "../../../verdict";
import {
  filterSearchResult,
  isConductorId,
  maySeeExecution,
  parseBulkIds,
  sanitizeRerun,
  stripExecution,
  withClientIdempotencyKey,
} from "../executions";
import { executionHierarchy } from "../hierarchy";
import { rememberWorkflowOwner, requireVisibleWorkflow, workflowOwner } from "../ownership";
import { grantPayloadPaths, payloadPaths } from "../payloadPaths";
import { mayUseWorkflowDef } from "../rbac";
import type { Routes, Step } from "./router";
import { requireUnshadowedReferences, sanitizeSkipTask } from "../runtimeData";
import { grammarOf, scopedSearchQuery } from "../search";
import { asAppContext, adminOnly, requireAdmin, type ConductorContext, type ConductorEnv } from "../services";
import { admitStartRequest, idempotencyScope, startRequestFromPath, type AdmittedStart, type Starter } from "../startWorkflow";
import { prefixTenant, stripTenantDeep, tenantPrefix } from "../tenantNames";
import { malformed } from "../upstream";
import { stripWorkflowDef } from "../workflowDefs";
import {
  TASK_REFERENCE,
  VERSION,
  audit,
  charge,
  chargedOnRefusal,
  checkedId,
  checkedName,
  jsonBody,
  params,
  pathParam,
  relay,
  type ParamKind,
} from "./edge";

/** Conductor's own cap on one bulk request. */
const MAX_BULK_IDS = 1_000;
/** Conductor's sort grammar: `field` or `field:ASC|DESC`, several separated by `|` (its Utils.convertStringToList). */
const SORT = (v: string) => /^[A-Za-z0-9_.]{1,64}(:(ASC|DESC))?(\|[A-Za-z0-9_.]{1,64}(:(ASC|DESC))?){0,4}$/.test(v);
/** `requestId` of a synchronous execution: echoed back by Conductor, so kept plain. */
const EXECUTE_REQUEST_ID = (v: string) => /^[A-Za-z0-9._:-]{1,128}$/.test(v);

/** In this order: the fixed paths (`search`, `bulk/...`) come before `/api/workflow/{workflowId}` would take them. */
export function workflowRoutes(r: Routes<ConductorEnv>): void {
  // What sets an execution going costs a start, however it is asked for (rate limits: docs/ratelimits.md).
  const starts = r.costing(CONDUCTOR_START_COST);
  starts.post("/api/workflow", async (c) => start(c, orThrow(admitStartRequest(await jsonBody(c), await starter(c)))));
  starts.post("/api/workflow/execute/:name/:version", executeSynchronously);
  searchRoutes(r);
  bulkRoutes(r.costing("decided"));
  r.get("/api/workflow/running/:name", adminOnly("listing running workflows"), async (c) => {
    const name = checkedName(pathParam(c, "name"));
    const q = params(c, { version: VERSION, startTime: "int", endTime: "int" });
    const segments = ["api", "workflow", "running", prefixTenant(c.get("caller").tenant, name)];
    return c.json(await c.get("conductor").list(segments, (id) => (isConductorId(id) ? id : undefined), q));
  });
  executionRoutes(r);
  // Start by name (after the execution routes: `POST /api/workflow/{id}/...` never reaches it).
  starts.post("/api/workflow/:name", async (c) => {
    const input = await jsonBody(c);
    const query = new URL(c.req.url).searchParams;
    return start(c, orThrow(startRequestFromPath(pathParam(c, "name"), input, query, await starter(c))));
  });
}

/** The caller as a start sees them: with the scope of their idempotency keys. */
async function starter(c: ConductorContext): Promise<Starter> {
  const { tenant, subject } = c.get("caller");
  return { tenant, subject, idempotencyScope: await idempotencyScope(tenant, subject) };
}

/** What every start must pass after `admitStartRequest`, before anything is sent (any start route calls it): RBAC on the definition. */
async function authorizeStart(c: ConductorContext, start: AdmittedStart): Promise<void> {
  await requireStartable(c, start.name, start.version);
}

/** A non-admin may start only a definition labelled for them: 404 when there is none, 403 when it is not theirs. */
async function requireStartable(c: ConductorContext, name: string, version?: number): Promise<void> {
  const caller = c.get("caller");
  if (caller.admin) return;
  const q = new URLSearchParams();
  if (version !== undefined) q.set("version", String(version));
  const answer = await c.get("conductor").jsonOrNull("GET", ["api", "metadata", "workflow", prefixTenant(caller.tenant, name)], q);
  const def = stripWorkflowDef(answer, caller.tenant, false);
  if (!def) throw notFound("no such workflow definition");
  if (!mayUseWorkflowDef(caller.principal, def.description)) {
    throw forbidden("this workflow is not labelled for any of your groups or roles");
  }
}

async function start(c: ConductorContext, admitted: AdmittedStart): Promise<Response> {
  const upstream = c.get("conductor");
  await authorizeStart(c, admitted);
  const answer = await upstream.call("POST", ["api", "workflow"], undefined, admitted.body);
  const id = answer.text.trim();
  if (!isConductorId(id)) throw malformed();
  if (admitted.idempotent) await requireOwnAnswer(c, id);
  else rememberWorkflowOwner(upstream, id, { workflowType: String(admitted.body.name), correlationId: c.get("caller").subject });
  audit(c, "workflow.start", admitted.name, { workflowId: id });
  return c.text(id, 200);
}

/**
 * A start that may have been answered with an execution started before (an idempotency key): the execution is read
 * back from the engine and must be the caller's, or the answer is not passed on. Its owner is then known from the
 * engine's own record of it, never from the start's answer.
 */
async function requireOwnAnswer(c: ConductorContext, workflowId: string): Promise<void> {
  const owner = await workflowOwner(c.get("conductor"), workflowId);
  if (!maySeeExecution(c.get("caller"), owner)) {
    throw new GatewayError("BAD_GATEWAY", "the upstream answered a start with an execution that is not the caller's");
  }
}

/**
 * Synchronous execution: a start (the same check and rewrite as `POST /api/workflow`, the same RBAC), answered with
 * the run as Conductor waited for it (a WorkflowRun), stripped like an execution read. Conductor starts the
 * workflow the path names, whatever the body's name and version say: so does this, by putting them in the body.
 */
const executeSynchronously: Step<ConductorEnv> = async (c) => {
  const caller = c.get("caller");
  const upstream = c.get("conductor");
  const version = pathParam(c, "version");
  if (!VERSION(version)) throw badRequest("version must be a positive whole number");
  const q = params(c, {
    requestId: EXECUTE_REQUEST_ID,
    waitUntilTaskRef: TASK_REFERENCE,
    waitForSeconds: (v) => /^[0-9]{1,3}$/.test(v) && Number(v) <= MAX_SYNC_EXECUTE_WAIT_S,
    consistency: (v) => ["SYNCHRONOUS", "DURABLE", "REGION_DURABLE"].includes(v),
    // Other strategies answer a task or a signal, not the run: not served.
    returnStrategy: (v) => v === "TARGET_WORKFLOW",
  });
  if (!q.has("requestId")) q.set("requestId", crypto.randomUUID()); // Conductor requires one
  const input = (await jsonBody(c)) ?? {};
  const named = isObj(input) ? { ...input, name: pathParam(c, "name"), version: Number(version) } : input;
  const request = orThrow(admitStartRequest(named, await starter(c)));
  await authorizeStart(c, request);
  const waitS = Number(q.get("waitForSeconds") ?? 10);
  const run = await upstream.json("POST", ["api", "workflow", "execute", String(request.body.name), version], q, request.body, {
    timeoutMs: waitS * 1000 + c.get("config").upstreamTimeoutMs,
  });
  if (!isObj(run) || !isConductorId(run.workflowId)) throw malformed();
  if (request.idempotent) await requireOwnAnswer(c, run.workflowId);
  else {
    // A WorkflowRun names no workflow type: the started request's is the one it ran, and the caller started it.
    const workflowType = String(run.workflowType ?? run.workflowName ?? request.body.name);
    const owner = { workflowType, correlationId: typeof run.correlationId === "string" ? run.correlationId : null };
    if (!maySeeExecution(caller, owner)) throw malformed();
    rememberWorkflowOwner(upstream, run.workflowId, owner);
  }
  grantShownPaths(c, run);
  audit(c, "workflow.execute", request.name, { workflowId: run.workflowId });
  return c.json(withClientIdempotencyKey(stripTenantDeep(run, caller.tenant)));
};

/** The external payload paths an answer shows the caller become readable by their tenant (in the background). */
function grantShownPaths(c: ConductorContext, answer: unknown): void {
  const paths = payloadPaths(answer);
  if (paths.length > 0) waitUntil(asAppContext(c), grantPayloadPaths(c.env.KEY_CACHE, c.get("caller").tenant, paths));
}

function searchRoutes(r: Routes<ConductorEnv>): void {
  for (const which of ["search", "search-v2"] as const) {
    r.get(`/api/workflow/${which}`, async (c) => {
      const caller = c.get("caller");
      const q = params(c, { start: "int", size: "int", sort: SORT, freeText: "text", query: "text" });
      const backend = c.get("config").conductorIndexBackend;
      const query = orThrow(
        scopedSearchQuery(q.get("query") ?? "", {
          backend,
          tenant: caller.tenant,
          ownExecutionsOf: caller.admin ? null : caller.subject,
          workflowNames: grammarOf(backend) === "sql" ? await tenantWorkflowNames(c) : undefined,
        }),
      );
      if (query === null) return c.json({ totalHits: 0, results: [] });
      q.set("query", query);
      if (!q.has("freeText")) q.set("freeText", "*");
      const filtered = filterSearchResult(await c.get("conductor").json("GET", ["api", "workflow", which], q), caller);
      if (!filtered) throw malformed();
      return c.json(filtered);
    });
  }
}

/**
 * The tenant's workflow names as Conductor stores them, from the definition listing (the rewrite of the same bytes
 * is kept, `listRewritten`): the SQL index grammars have no exact prefix, so a search lists the names.
 */
async function tenantWorkflowNames(c: ConductorContext): Promise<string[]> {
  const prefix = tenantPrefix(c.get("caller").tenant);
  const bytes = await c
    .get("conductor")
    .listRewritten(["api", "metadata", "workflow"], "search-names", (def) =>
      isObj(def) && typeof def.name === "string" && def.name.startsWith(prefix) ? def.name : undefined,
    );
  return [...new Set(JSON.parse(new TextDecoder().decode(bytes)) as string[])].sort();
}

/**
 * Bulk operations (for admins, charged by the handler); ids of other tenants are dropped as unknown. A bulk request
 * costs each distinct id it names at the operation's cost (`conductorBulkCost`), charged from the ids as parsed here,
 * before any id is looked up: a body costing more than a limit holds is refused whole. A request refused before its
 * ids are known (not an admin, no list of ids) costs its method's, as on any route.
 */
function bulkRoutes(r: Routes<ConductorEnv>): void {
  const bulk = (method: "PUT" | "POST" | "DELETE", op: string, spec: Record<string, ParamKind>) =>
    r.on(method, `/api/workflow/bulk/${op}`, async (c) => {
      const caller = c.get("caller");
      const upstream = c.get("conductor");
      const { ids, q } = await chargedOnRefusal(c, conductorCost(method), async () => {
        requireAdmin(caller, "bulk operations");
        return { ids: orThrow(parseBulkIds(await jsonBody(c), MAX_BULK_IDS)), q: params(c, spec) };
      });
      await charge(c, conductorBulkCost(op, ids.length));
      const owners = await mapLimited(ids, MAX_PARALLEL_SUBREQUESTS, (id) => workflowOwner(upstream, id));
      const mine = ids.filter((_, i) => owners[i]?.workflowType.startsWith(tenantPrefix(caller.tenant)));
      const isMine = new Set(mine);
      const errors: Record<string, string> = {};
      for (const id of ids) if (!isMine.has(id)) errors[id] = `No such workflow found by id: ${id}`;
      let answer: Obj = { bulkErrorResults: {}, bulkSuccessfulResults: [] };
      if (mine.length > 0) {
        const got = await upstream.json(method, ["api", "workflow", "bulk", op], q, mine);
        if (!isObj(got)) throw malformed();
        answer = stripTenantDeep(got, caller.tenant);
      }
      audit(c, `workflow.bulk.${op}`, null, { workflowIds: mine.length, dropped: ids.length - mine.length });
      const upstreamErrors = isObj(answer.bulkErrorResults) ? answer.bulkErrorResults : {};
      const reported = Array.isArray(answer.bulkSuccessfulResults) ? answer.bulkSuccessfulResults : [];
      const successes = reported.filter((id) => isMine.has(id as string));
      return c.json({ ...answer, bulkErrorResults: { ...upstreamErrors, ...errors }, bulkSuccessfulResults: successes });
    });
  bulk("PUT", "pause", {});
  bulk("PUT", "resume", {});
  bulk("POST", "retry", {});
  bulk("POST", "restart", { useLatestDefinitions: "bool" });
  bulk("POST", "terminate", { reason: "text" });
  bulk("DELETE", "terminate", { reason: "text" });
}

/** One execution: read, hierarchy, and the actions on it. */
function executionRoutes(r: Routes<ConductorEnv>): void {
  r.get("/api/workflow/:workflowId/hierarchy", async (c) => {
    const id = checkedId(pathParam(c, "workflowId"));
    return c.json(await executionHierarchy(c.get("conductor"), c.get("caller"), id));
  });

  r.get("/api/workflow/:workflowId", async (c) => {
    const id = checkedId(pathParam(c, "workflowId"));
    const upstream = c.get("conductor");
    const exec = await upstream.jsonOrNull("GET", ["api", "workflow", id], params(c, { includeTasks: "bool", summarize: "bool" }));
    const mine = stripExecution(exec, c.get("caller"));
    if (!mine) throw notFound("no such workflow");
    const { workflowType, workflowName, correlationId } = exec as Obj;
    const owner = { workflowType: String(workflowType ?? workflowName), correlationId: (correlationId as string) ?? null };
    rememberWorkflowOwner(upstream, id, owner);
    grantShownPaths(c, exec);
    return c.json(mine);
  });

  const action = executionAction(r);
  action("DELETE", ["remove"], "remove", { archiveWorkflow: "bool" });
  action("DELETE", [], "terminate", { reason: "text" });
  action("PUT", ["pause"], "pause", {});
  action("PUT", ["resume"], "resume", {});
  // Restart, retry and rerun set the execution going again: each costs a start.
  const again = executionAction(r.costing(CONDUCTOR_START_COST));
  again("POST", ["restart"], "restart", { useLatestDefinitions: "bool" });
  again("POST", ["retry"], "retry", { resumeSubworkflowTasks: "bool" });
  again("POST", ["rerun"], "rerun", {}, async (c, id) => orThrow(sanitizeRerun(await jsonBody(c), id)));
  action("PUT", ["skiptask", ":taskReferenceName"], "skiptask", {}, skipTaskBody);
  action("POST", ["resetcallbacks"], "resetcallbacks", {});
}

type ActionBody = (c: ConductorContext, workflowId: string) => Promise<unknown>;

/** An action on one execution: the id is checked against the caller first, then the action is relayed. */
function executionAction(r: Routes<ConductorEnv>) {
  return (method: "PUT" | "POST" | "DELETE", suffix: string[], name: string, spec: Record<string, ParamKind>, body?: ActionBody) =>
    r.on(method, ["/api/workflow/:workflowId", ...suffix].join("/"), async (c) => {
      const id = checkedId(pathParam(c, "workflowId"));
      const q = params(c, spec);
      const payload = body ? await body(c, id) : undefined;
      const upstream = c.get("conductor");
      await requireVisibleWorkflow(upstream, c.get("caller"), id);
      const segments = suffix.map((s) => (s.startsWith(":") ? checkedName(pathParam(c, s.slice(1)), s.slice(1)) : s));
      const res = await relay(c, upstream, method, ["api", "workflow", id, ...segments], q, payload);
      audit(c, `workflow.${name}`, id);
      return res;
    });
}

/** A skipped task's output is read like a worker's: its task lists named in the tenant's space, and new to the workflow. */
const skipTaskBody: ActionBody = async (c, id) => {
  const caller = c.get("caller");
  const upstream = c.get("conductor");
  const { body, runtimeRefs, subWorkflows } = orThrow(
    sanitizeSkipTask(await jsonBody(c), caller.tenant, c.get("config").allowedSystemTasks),
  );
  // Each forked SUB_WORKFLOW is an execution Conductor starts: charged like a start, beyond the skip's own cost.
  if (subWorkflows > 0) await charge(c, runtimeStartsCost(subWorkflows));
  if (runtimeRefs.length > 0) {
    await requireVisibleWorkflow(upstream, caller, id);
    await requireUnshadowedReferences(upstream, id, runtimeRefs);
  }
  return body;
};
