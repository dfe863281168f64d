/**
 * `/conductor/api/*` -> CONDUCTOR_URL and `/conductor/schedule*` -> SCHELLAR_URL: many tenants on one Conductor.
 *
 * Every route here is written out: a path this file does not name answers 404, so nothing reaches the upstream
 * without its rewrite. For each request: the caller (scope `conductor`, a tenant, admin or not) -> the pure policy
 * of this folder (prefix, refuse, RBAC) -> the upstream, through `ConductorUpstream` -> the answer filtered to the
 * caller's tenant (and, for non-admins, to their own executions) and stripped of the tenant's prefix.
 */
import { Hono } from "hono";
import { recordAudit } from "../../audit";
import { MAX_SYNC_EXECUTE_WAIT_S } from "../../constants";
import { waitUntil, type AppContext, type AppEnv } from "../../context";
import { GatewayError, badRequest, forbidden, notFound } from "../../errors";
import type { Principal } from "../../identity/principal";
import { hasScope } from "../../identity/scopes";
import { isObj, type Obj } from "../../jsonValue";
import { serveUi } from "../../proxy/ui";
import { authenticated, requirePrincipal } from "../../pipeline";
import { conductorCost } from "../../ratelimit/cost";
import { rateLimited } from "../../ratelimit/enforce";
import { MAX_PARALLEL_SUBREQUESTS, SubrequestBudget, mapLimited } from "../../proxy/budget";
import { readBodyLimited, utf8 } from "../../proxy/body";
import { parseClientJson, requireAnswerDepth } from "../../proxy/json";
import { prefixEventHandler, stripEventHandler } from "./events";
import {
  filterSearchResult,
  isConductorId,
  maySeeExecution,
  parseBulkIds,
  sanitizeRerun,
  stripExecution,
  type ExecutionViewer,
} from "./executions";
import { executionHierarchy } from "./hierarchy";
import { tokenLogin } from "./token";
import { rememberTaskOwner, rememberWorkflowOwner, requireVisibleTask, requireVisibleWorkflow, workflowOwner } from "./ownership";
import { grantPayloadPaths, mayReadPayloadPath, payloadPaths } from "./payloadPaths";
import { filterQueueSizes, filterQueueVerbose } from "./queues";
import { isConductorAdmin, mayUseWorkflowDef, workflowDefView } from "./rbac";
import { prefixSchedule, parseScheduleName, scheduleUpstreamName, stripSchedule } from "./schedules";
import { scopedSearchQuery } from "./search";
import { admitStartRequest, startRequestFromPath, type AdmittedStart } from "./startWorkflow";
import { prefixTaskDef, stripTaskDef } from "./taskDefs";
import { GLOBAL_PREFIX, checkName, isGlobalName, nameProblem, prefixTenant, stripTenantDeep, tenantPrefix } from "./tenantNames";
import { ConductorUpstream, malformed } from "./upstream";
import { prefixWorkflowDef, stripWorkflowDef } from "./workflowDefs";
import { requireUnshadowedReferences, sanitizeSkipTask } from "./runtimeData";
import { orThrow } from "../../verdict";

/** Conductor's own cap on one bulk request. */
const MAX_BULK_IDS = 1_000;


/** The caller as this route sees them. */
interface Caller extends ExecutionViewer {
  principal: Principal;
  /** Recorded as `ownerEmail` of what the caller writes. */
  email: string;
}

function callerOf(c: AppContext): Caller {
  const p = requirePrincipal(c);
  if (!hasScope(p.scopes, "conductor")) throw forbidden("scope conductor required");
  if (!p.tenant) throw forbidden("a tenant is required: this credential names none");
  const config = c.get("config");
  return {
    principal: p,
    tenant: p.tenant,
    subject: p.subject,
    email: p.email ?? p.subject,
    admin: isConductorAdmin(p, config.adminRoles, config.adminGroups),
  };
}

function requireAdmin(caller: Caller, what: string): void {
  if (!caller.admin) throw forbidden(`${what} is for Conductor admins (ADMIN_ROLES / ADMIN_GROUPS)`);
}

function conductorOf(c: AppContext, caller: Caller, which: "conductor" | "schellar" = "conductor"): ConductorUpstream {
  const config = c.get("config");
  const base = config.upstreams[which];
  const variable = which === "conductor" ? "CONDUCTOR_URL" : "SCHELLAR_URL";
  if (!base) throw new GatewayError("BAD_CONFIGURATION", `${variable} is not set`, { variables: [variable] });
  return new ConductorUpstream(c, base, caller.tenant, new SubrequestBudget(config.subrequestBudget));
}

async function jsonBody(c: AppContext): Promise<unknown> {
  const bytes = await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes);
  const text = utf8(bytes);
  if (text.trim() === "") return undefined;
  return parseClientJson(text);
}

function refusedOr<T extends object>(r: T | { refused: string }): T {
  if ("refused" in r) throw badRequest(r.refused);
  return r;
}

function checkedName(raw: string, what = "name"): string {
  return orThrow(checkName(raw, what));
}

function checkedId(raw: string, what = "workflow"): string {
  if (!isConductorId(raw)) throw badRequest(`not a ${what} id`);
  return raw;
}

type ParamKind = "bool" | "int" | "text" | ((v: string) => boolean);

/** The query parameters an endpoint reads, checked and rebuilt; anything else is dropped. */
function params(c: AppContext, spec: Record<string, ParamKind>): URLSearchParams {
  const incoming = new URL(c.req.url).searchParams;
  const out = new URLSearchParams();
  for (const [name, kind] of Object.entries(spec)) {
    const v = incoming.get(name);
    // Empty means absent, as in Conductor (Spring binds `sort=` to no sort): the SDKs send `sort=` by default.
    if (v === null || v === "") continue;
    const ok =
      kind === "bool" ? v === "true" || v === "false"
      : kind === "int" ? /^[0-9]{1,9}$/.test(v)
      : kind === "text" ? v.length <= 4_000 && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(v)
      : kind(v);
    if (!ok) throw badRequest(`query parameter ${name}: invalid value`);
    out.set(name, v);
  }
  return out;
}

function audit(c: AppContext, caller: Caller, action: string, target: string | null, details?: Obj): void {
  recordAudit(c, {
    action: `conductor.${action}`,
    decision: "DONE",
    actorSubject: caller.subject,
    actorKeyId: caller.principal.keyId ?? null,
    tenant: caller.tenant,
    target,
    requestId: c.get("requestId"),
    details,
  });
}

/** An upstream write's answer, relayed: JSON stripped of the tenant's prefix, text passed as it is. */
async function relay(c: AppContext, upstream: ConductorUpstream, method: string, segments: string[], query?: URLSearchParams, body?: unknown): Promise<Response> {
  const answer = await upstream.call(method, segments, query, body);
  if (answer.text === "") return c.body(null, answer.status as 200); // the upstream's own status, empty
  if (answer.contentType.includes("json")) {
    requireAnswerDepth(answer.text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      throw malformed();
    }
    return c.json(upstream.tenant === null ? parsed : stripTenantDeep(parsed, upstream.tenant), answer.status as 200);
  }
  return c.text((upstream.tenant === null ? answer.text : answer.text.split(tenantPrefix(upstream.tenant)).join("")), answer.status as 200);
}


const VERSION = (v: string) => /^[1-9][0-9]{0,8}$/.test(v);
/** Conductor's sort grammar: `field` or `field:ASC|DESC`, several separated by `|` (its Utils.convertStringToList). */
const SORT = (v: string) => /^[A-Za-z0-9_.]{1,64}(:(ASC|DESC))?(\|[A-Za-z0-9_.]{1,64}(:(ASC|DESC))?){0,4}$/.test(v);
/** `requestId` of a synchronous execution: echoed back by Conductor, so kept plain. */
const EXECUTE_REQUEST_ID = (v: string) => /^[A-Za-z0-9._:-]{1,128}$/.test(v);
const TASK_REFERENCE = (v: string) => nameProblem(v) === null;
const PAYLOAD_TYPE = (v: string) => ["WORKFLOW_INPUT", "WORKFLOW_OUTPUT", "TASK_INPUT", "TASK_OUTPUT"].includes(v);

export function conductorRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  // The SDKs' login takes no credential (it is how one is obtained), so it comes before authentication.
  r.post("/api/token", tokenLogin);
  r.use("*", authenticated({ gatewayToken: true }), rateLimited("conductor", (c) => conductorCost(c.req.method, c.req.path)));

  // ---- Workflow definitions -----------------------------------------------------------------------------------
  r.get("/api/metadata/workflow", async (c) => {
    const caller = callerOf(c);
    const view = workflowDefView(caller.principal, caller.admin);
    const body = await conductorOf(c, caller).listRewritten(["api", "metadata", "workflow"], view, (d) => {
      const def = stripWorkflowDef(d, caller.tenant, false);
      return def && (caller.admin || mayUseWorkflowDef(caller.principal, def.description)) ? def : undefined;
    });
    return c.body(body, 200, { "content-type": "application/json" });
  });

  r.get("/api/metadata/workflow/:name", async (c) => {
    const caller = callerOf(c);
    const name = checkedName(c.req.param("name"));
    const def = await conductorOf(c, caller).jsonOrNull("GET", ["api", "metadata", "workflow", prefixTenant(caller.tenant, name)], params(c, { version: VERSION }));
    const mine = stripWorkflowDef(def, caller.tenant, false);
    if (!mine || (!caller.admin && !mayUseWorkflowDef(caller.principal, mine.description))) throw notFound("no such workflow definition");
    return c.json(mine);
  });

  r.post("/api/metadata/workflow", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "writing workflow definitions");
    const { def } = refusedOr(prefixWorkflowDef(await jsonBody(c), { tenant: caller.tenant, ownerEmail: caller.email, allowedTaskTypes: c.get("config").allowedSystemTasks }));
    const res = await relay(c, conductorOf(c, caller), "POST", ["api", "metadata", "workflow"], undefined, def);
    audit(c, caller, "workflowdef.create", String(def.name));
    return res;
  });

  r.put("/api/metadata/workflow", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "writing workflow definitions");
    const body = await jsonBody(c);
    if (!Array.isArray(body)) throw badRequest("body must be a JSON list of workflow definitions");
    const opts = { tenant: caller.tenant, ownerEmail: caller.email, allowedTaskTypes: c.get("config").allowedSystemTasks };
    const defs = body.map((d, i) => {
      const out = prefixWorkflowDef(d, opts);
      if ("refused" in out) throw badRequest(`[${i}]: ${out.refused}`);
      return out.def;
    });
    const res = await relay(c, conductorOf(c, caller), "PUT", ["api", "metadata", "workflow"], undefined, defs);
    audit(c, caller, "workflowdef.update", defs.map((d) => String(d.name)).join(",").slice(0, 500));
    return res;
  });

  r.delete("/api/metadata/workflow/:name/:version", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "deleting workflow definitions");
    const name = checkedName(c.req.param("name"));
    const version = c.req.param("version");
    if (!VERSION(version)) throw badRequest("version must be a positive whole number");
    const res = await relay(c, conductorOf(c, caller), "DELETE", ["api", "metadata", "workflow", prefixTenant(caller.tenant, name), version]);
    audit(c, caller, "workflowdef.delete", `${name}:${version}`);
    return res;
  });

  // ---- Task definitions (admins only) --------------------------------------------------------------------------
  r.get("/api/metadata/taskdefs", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "task definitions");
    return c.json(await conductorOf(c, caller).list(["api", "metadata", "taskdefs"], (d) => stripTaskDef(d, caller.tenant) ?? undefined));
  });

  r.get("/api/metadata/taskdefs/:taskType", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "task definitions");
    const raw = c.req.param("taskType");
    const type = isGlobalName(raw) ? (checkedName(raw.slice(GLOBAL_PREFIX.length), "taskType"), raw) : checkedName(raw, "taskType");
    const def = await conductorOf(c, caller).jsonOrNull("GET", ["api", "metadata", "taskdefs", prefixTenant(caller.tenant, type)]);
    const mine = stripTaskDef(def, caller.tenant);
    if (!mine) throw notFound("no such task definition");
    return c.json(mine);
  });

  const taskDefsIn = (caller: Caller, defs: unknown[]) =>
    defs.map((d, i) => {
      const owner = isObj(d) && typeof d.ownerEmail === "string" && d.ownerEmail !== "" ? null : caller.email;
      const out = prefixTaskDef(d, caller.tenant, owner);
      if ("refused" in out) throw badRequest(`[${i}]: ${out.refused}`);
      return out.def;
    });

  r.post("/api/metadata/taskdefs", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "task definitions");
    const body = await jsonBody(c);
    if (!Array.isArray(body)) throw badRequest("body must be a JSON list of task definitions");
    const defs = taskDefsIn(caller, body);
    const res = await relay(c, conductorOf(c, caller), "POST", ["api", "metadata", "taskdefs"], undefined, defs);
    audit(c, caller, "taskdef.create", defs.map((d) => String(d.name)).join(",").slice(0, 500));
    return res;
  });

  r.put("/api/metadata/taskdefs", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "task definitions");
    const [def] = taskDefsIn(caller, [await jsonBody(c)]);
    const res = await relay(c, conductorOf(c, caller), "PUT", ["api", "metadata", "taskdefs"], undefined, def);
    audit(c, caller, "taskdef.update", String(def!.name));
    return res;
  });

  r.delete("/api/metadata/taskdefs/:taskType", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "task definitions");
    const type = checkedName(c.req.param("taskType"), "taskType");
    const res = await relay(c, conductorOf(c, caller), "DELETE", ["api", "metadata", "taskdefs", prefixTenant(caller.tenant, type)]);
    audit(c, caller, "taskdef.delete", type);
    return res;
  });

  // ---- Starting workflows --------------------------------------------------------------------------------------
  /** A non-admin may start only a definition labelled for them: 404 when there is none, 403 when it is not theirs. */
  async function requireStartable(upstream: ConductorUpstream, caller: Caller, name: string, version?: number): Promise<void> {
    if (caller.admin) return;
    const q = new URLSearchParams();
    if (version !== undefined) q.set("version", String(version));
    const def = stripWorkflowDef(await upstream.jsonOrNull("GET", ["api", "metadata", "workflow", prefixTenant(caller.tenant, name)], q), caller.tenant, false);
    if (!def) throw notFound("no such workflow definition");
    if (!mayUseWorkflowDef(caller.principal, def.description)) throw forbidden("this workflow is not labelled for any of your groups or roles");
  }

  /**
   * What every start must pass after `admitStartRequest`, before anything is sent (any start route calls it): an
   * external input path only when the tenant may read it (minted by a WRITE location it asked for, or shown in its
   * own executions), and RBAC on the definition.
   */
  async function authorizeStart(c: AppContext, caller: Caller, upstream: ConductorUpstream, start: AdmittedStart): Promise<void> {
    if (start.payloadPath !== undefined && !(await mayReadPayloadPath(c.env.KEY_CACHE, caller.tenant, start.payloadPath))) {
      throw badRequest("externalInputPayloadStoragePath: not a location given to this tenant (ask /api/workflow/externalstoragelocation for a WRITE)");
    }
    await requireStartable(upstream, caller, start.name, start.version);
  }

  async function start(c: AppContext, caller: Caller, upstream: ConductorUpstream, start: AdmittedStart): Promise<Response> {
    await authorizeStart(c, caller, upstream, start);
    const answer = await upstream.call("POST", ["api", "workflow"], undefined, start.body);
    const id = answer.text.trim();
    if (!isConductorId(id)) throw malformed();
    rememberWorkflowOwner(upstream, id, { workflowType: String(start.body.name), correlationId: caller.subject });
    audit(c, caller, "workflow.start", start.name, { workflowId: id });
    return c.text(id, 200);
  }

  r.post("/api/workflow", async (c) => {
    const caller = callerOf(c);
    const upstream = conductorOf(c, caller);
    return start(c, caller, upstream, refusedOr(admitStartRequest(await jsonBody(c), caller)));
  });

  // Synchronous execution: a start (the same check and rewrite as `POST /api/workflow`, the same RBAC), answered
  // with the run as Conductor waited for it (a WorkflowRun), stripped like an execution read. Conductor starts the
  // workflow the path names, whatever the body's name and version say: so does this, by putting them in the body.
  r.post("/api/workflow/execute/:name/:version", async (c) => {
    const caller = callerOf(c);
    const version = c.req.param("version");
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
    const named = isObj(input) ? { ...input, name: c.req.param("name"), version: Number(version) } : input;
    const request = refusedOr(admitStartRequest(named, caller));
    const upstream = conductorOf(c, caller);
    await authorizeStart(c, caller, upstream, request);
    const waitS = Number(q.get("waitForSeconds") ?? 10);
    const run = await upstream.json("POST", ["api", "workflow", "execute", String(request.body.name), version], q, request.body, {
      timeoutMs: waitS * 1000 + c.get("config").upstreamTimeoutMs,
    });
    if (!isObj(run) || !isConductorId(run.workflowId)) throw malformed();
    // A WorkflowRun names no workflow type: the started request's is the one it ran, and the caller started it.
    const owner = { workflowType: String(run.workflowType ?? run.workflowName ?? request.body.name), correlationId: typeof run.correlationId === "string" ? run.correlationId : null };
    if (!maySeeExecution(caller, owner)) throw malformed();
    rememberWorkflowOwner(upstream, run.workflowId, owner);
    const paths = payloadPaths(run);
    if (paths.length > 0) waitUntil(c, grantPayloadPaths(c.env.KEY_CACHE, caller.tenant, paths));
    audit(c, caller, "workflow.execute", request.name, { workflowId: run.workflowId });
    return c.json(stripTenantDeep(run, caller.tenant));
  });

  // ---- Search (before /api/workflow/:id, which would otherwise match these paths) ------------------------------
  const search = (which: "search" | "search-v2") =>
    r.get(`/api/workflow/${which}`, async (c) => {
      const caller = callerOf(c);
      const q = params(c, { start: "int", size: "int", sort: SORT, freeText: "text", query: "text" });
      const scoped = scopedSearchQuery(q.get("query") ?? "", caller.tenant, caller.admin ? null : caller.subject);
      if (typeof scoped !== "string") throw badRequest(`query: cannot be used (${scoped.refused})`);
      q.set("query", scoped);
      if (!q.has("freeText")) q.set("freeText", "*");
      const answer = await conductorOf(c, caller).json("GET", ["api", "workflow", which], q);
      const filtered = filterSearchResult(answer, caller);
      if (!filtered) throw malformed();
      return c.json(filtered);
    });
  search("search");
  search("search-v2");

  // ---- Bulk operations (admins only; ids of other tenants are dropped as unknown) ------------------------------
  const bulk = (method: "PUT" | "POST" | "DELETE", op: string, spec: Record<string, ParamKind>) =>
    r.on(method, `/api/workflow/bulk/${op}`, async (c) => {
      const caller = callerOf(c);
      requireAdmin(caller, "bulk operations");
      const ids = orThrow(parseBulkIds(await jsonBody(c), MAX_BULK_IDS));
      const upstream = conductorOf(c, caller);
      const q = params(c, spec);
      const owners = await mapLimited(ids, MAX_PARALLEL_SUBREQUESTS, (id) => workflowOwner(upstream, id));
      const mine = ids.filter((_, i) => owners[i] && owners[i]!.workflowType.startsWith(tenantPrefix(caller.tenant)));
      const errors: Record<string, string> = {};
      for (const id of ids) if (!mine.includes(id)) errors[id] = `No such workflow found by id: ${id}`;
      let answer: Obj = { bulkErrorResults: {}, bulkSuccessfulResults: [] };
      if (mine.length > 0) {
        const got = await upstream.json(method, ["api", "workflow", "bulk", op], q, mine);
        if (!isObj(got)) throw malformed();
        answer = stripTenantDeep(got, caller.tenant);
      }
      audit(c, caller, `workflow.bulk.${op}`, null, { workflowIds: mine.length, dropped: ids.length - mine.length });
      const upstreamErrors = isObj(answer.bulkErrorResults) ? answer.bulkErrorResults : {};
      const successes = Array.isArray(answer.bulkSuccessfulResults) ? answer.bulkSuccessfulResults.filter((id) => mine.includes(id as string)) : [];
      return c.json({ ...answer, bulkErrorResults: { ...upstreamErrors, ...errors }, bulkSuccessfulResults: successes });
    });
  bulk("PUT", "pause", {});
  bulk("PUT", "resume", {});
  bulk("POST", "retry", {});
  bulk("POST", "restart", { useLatestDefinitions: "bool" });
  bulk("POST", "terminate", { reason: "text" });
  bulk("DELETE", "terminate", { reason: "text" });

  r.get("/api/workflow/running/:name", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "listing running workflows");
    const name = checkedName(c.req.param("name"));
    const q = params(c, { version: VERSION, startTime: "int", endTime: "int" });
    return c.json(await conductorOf(c, caller).list(["api", "workflow", "running", prefixTenant(caller.tenant, name)], (id) => (isConductorId(id) ? id : undefined), q));
  });

  // ---- External payload storage (a READ only for paths the tenant was shown or was given) ----------------------
  const storage = (where: "workflow" | "tasks") =>
    r.get(`/api/${where}/externalstoragelocation`, async (c) => {
      const caller = callerOf(c);
      const q = params(c, { path: "text", operation: (v) => v === "READ" || v === "WRITE", payloadType: PAYLOAD_TYPE });
      const operation = q.get("operation");
      if (!operation || !q.has("payloadType")) throw badRequest("operation and payloadType are required");
      const path = q.get("path") ?? "";
      if (operation === "READ" && (path === "" || !(await mayReadPayloadPath(c.env.KEY_CACHE, caller.tenant, path)))) {
        throw notFound("no such payload");
      }
      if (operation === "WRITE") q.delete("path"); // the upstream picks a fresh path: a client cannot overwrite one
      const location = await conductorOf(c, caller).json("GET", ["api", where, "externalstoragelocation"], q);
      if (!isObj(location) || typeof location.path !== "string") throw malformed();
      if (operation === "WRITE") waitUntil(c, grantPayloadPaths(c.env.KEY_CACHE, caller.tenant, [location.path]));
      return c.json(location);
    });
  storage("workflow");
  storage("tasks");

  // ---- One execution ---------------------------------------------------------------------------------------------
  r.get("/api/workflow/:workflowId/hierarchy", async (c) => {
    const caller = callerOf(c);
    const id = checkedId(c.req.param("workflowId"));
    return c.json(await executionHierarchy(conductorOf(c, caller), caller, id));
  });

  r.get("/api/workflow/:workflowId", async (c) => {
    const caller = callerOf(c);
    const id = checkedId(c.req.param("workflowId"));
    const upstream = conductorOf(c, caller);
    const exec = await upstream.jsonOrNull("GET", ["api", "workflow", id], params(c, { includeTasks: "bool", summarize: "bool" }));
    const mine = stripExecution(exec, caller);
    if (!mine) throw notFound("no such workflow");
    rememberWorkflowOwner(upstream, id, { workflowType: String((exec as Obj).workflowType ?? (exec as Obj).workflowName), correlationId: ((exec as Obj).correlationId as string) ?? null });
    const paths = payloadPaths(exec);
    if (paths.length > 0) waitUntil(c, grantPayloadPaths(c.env.KEY_CACHE, caller.tenant, paths));
    return c.json(mine);
  });

  /** An action on one execution: the id is checked against the caller first, then the action is relayed. */
  const action = (method: "PUT" | "POST" | "DELETE", suffix: string[], name: string, spec: Record<string, ParamKind>, body?: (c: AppContext, id: string) => Promise<unknown>) =>
    r.on(method, ["/api/workflow/:workflowId", ...suffix].join("/"), async (c) => {
      const caller = callerOf(c);
      const id = checkedId(c.req.param("workflowId") ?? "");
      const q = params(c, spec);
      const payload = body ? await body(c, id) : undefined;
      const upstream = conductorOf(c, caller);
      await requireVisibleWorkflow(upstream, caller, id);
      const segments = suffix.map((s) => (s.startsWith(":") ? checkedName(c.req.param(s.slice(1)) ?? "", s.slice(1)) : s));
      const res = await relay(c, upstream, method, ["api", "workflow", id, ...segments], q, payload);
      audit(c, caller, `workflow.${name}`, id);
      return res;
    });
  action("DELETE", ["remove"], "remove", { archiveWorkflow: "bool" });
  action("DELETE", [], "terminate", { reason: "text" });
  action("PUT", ["pause"], "pause", {});
  action("PUT", ["resume"], "resume", {});
  action("POST", ["restart"], "restart", { useLatestDefinitions: "bool" });
  action("POST", ["retry"], "retry", { resumeSubworkflowTasks: "bool" });
  action("POST", ["rerun"], "rerun", {}, async (c, id) => orThrow(sanitizeRerun(await jsonBody(c), id)));
  action("PUT", ["skiptask", ":taskReferenceName"], "skiptask", {}, async (c, id) => {
    const caller = callerOf(c);
    const { body, runtimeRefs } = orThrow(sanitizeSkipTask(await jsonBody(c), caller.tenant, c.get("config").allowedSystemTasks));
    if (runtimeRefs.length > 0) {
      const upstream = conductorOf(c, caller);
      await requireVisibleWorkflow(upstream, caller, id);
      await requireUnshadowedReferences(upstream, id, runtimeRefs);
    }
    return body;
  });
  action("POST", ["resetcallbacks"], "resetcallbacks", {});

  // Start by name (after the execution routes: `POST /api/workflow/{id}/...` never reaches it).
  r.post("/api/workflow/:name", async (c) => {
    const caller = callerOf(c);
    const upstream = conductorOf(c, caller);
    const input = await jsonBody(c);
    return start(c, caller, upstream, refusedOr(startRequestFromPath(c.req.param("name"), input, new URL(c.req.url).searchParams, caller)));
  });

  // ---- Events (admins only) --------------------------------------------------------------------------------------
  r.get("/api/event", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "event handlers");
    return c.json(await conductorOf(c, caller).list(["api", "event"], (h) => stripEventHandler(h, caller.tenant) ?? undefined));
  });

  r.get("/api/event/:event", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "event handlers");
    const m = /^conductor:([^:]+):([^:]+)$/.exec(c.req.param("event"));
    if (!m) throw badRequest("event: only conductor:<workflow>:<task> events exist here");
    const event = `conductor:${prefixTenant(caller.tenant, checkedName(m[1]!, "event workflow"))}:${checkedName(m[2]!, "event task")}`;
    return c.json(await conductorOf(c, caller).list(["api", "event", event], (h) => stripEventHandler(h, caller.tenant) ?? undefined, params(c, { activeOnly: "bool" })));
  });

  for (const method of ["POST", "PUT"] as const) {
    r.on(method, "/api/event", async (c) => {
      const caller = callerOf(c);
      requireAdmin(caller, "event handlers");
      const { handler } = refusedOr(prefixEventHandler(await jsonBody(c), caller));
      const res = await relay(c, conductorOf(c, caller), method, ["api", "event"], undefined, handler);
      audit(c, caller, method === "POST" ? "event.create" : "event.update", String(handler.name));
      return res;
    });
  }

  r.delete("/api/event/:name", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "event handlers");
    const name = checkedName(c.req.param("name"));
    const res = await relay(c, conductorOf(c, caller), "DELETE", ["api", "event", prefixTenant(caller.tenant, name)]);
    audit(c, caller, "event.delete", name);
    return res;
  });

  // ---- Queues (admins only) and tasks ----------------------------------------------------------------------------
  r.get("/api/tasks/queue/all", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "queues");
    const out = filterQueueSizes(await conductorOf(c, caller).json("GET", ["api", "tasks", "queue", "all"]), caller.tenant);
    if (!out) throw malformed();
    return c.json(out);
  });

  r.get("/api/tasks/queue/all/verbose", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "queues");
    const out = filterQueueVerbose(await conductorOf(c, caller).json("GET", ["api", "tasks", "queue", "all", "verbose"]), caller.tenant);
    if (!out) throw malformed();
    return c.json(out);
  });

  r.get("/api/tasks/queue/sizes", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "queues");
    const types = new URL(c.req.url).searchParams.getAll("taskType");
    if (types.length === 0 || types.length > 100) throw badRequest("taskType: between 1 and 100 task types");
    const q = new URLSearchParams();
    for (const t of types) q.append("taskType", prefixTenant(caller.tenant, checkedName(t, "taskType")));
    const out = filterQueueSizes(await conductorOf(c, caller).json("GET", ["api", "tasks", "queue", "sizes"], q), caller.tenant);
    if (!out) throw malformed();
    return c.json(out);
  });

  // Workers poll, update and ack on their own route, which serves every tenant they work for.
  const workerPath = (c: AppContext) => {
    requirePrincipal(c); // like every unknown path here: nothing under /conductor answers anonymously
    throw notFound("task workers use the worker route: /workers/conductor/api/tasks/... (a credential with scope worker)");
  };
  r.get("/api/tasks/poll/*", workerPath);
  r.post("/api/tasks", workerPath);
  r.post("/api/tasks/update-v2", workerPath);
  r.post("/api/tasks/:taskId/ack", workerPath);
  r.post("/api/tasks/:taskId/log", workerPath);

  r.get("/api/tasks/:taskId", async (c) => {
    const caller = callerOf(c);
    const id = checkedId(c.req.param("taskId"), "task");
    const upstream = conductorOf(c, caller);
    const task = await upstream.jsonOrNull("GET", ["api", "tasks", id]);
    if (!isObj(task) || task.taskId !== id) throw notFound("no such task");
    await requireVisibleTask(upstream, caller, id, task);
    rememberTaskOwner(upstream, id, task);
    const paths = payloadPaths(task);
    if (paths.length > 0) waitUntil(c, grantPayloadPaths(c.env.KEY_CACHE, caller.tenant, paths));
    return c.json(stripTenantDeep(task, caller.tenant));
  });

  r.get("/api/tasks/:taskId/log", async (c) => {
    const caller = callerOf(c);
    const id = checkedId(c.req.param("taskId"), "task");
    const upstream = conductorOf(c, caller);
    await requireVisibleTask(upstream, caller, id);
    return c.json(await upstream.list(["api", "tasks", id, "log"], (entry) => stripTenantDeep(entry, caller.tenant)));
  });

  // ---- Schedules (Schellar; admins only) -------------------------------------------------------------------------
  r.get("/schedule", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "schedules");
    return c.json(await conductorOf(c, caller, "schellar").list(["schedule"], (s) => stripSchedule(s, caller.tenant) ?? undefined));
  });

  const scheduleName = (c: AppContext): string => {
    const raw: string = c.req.param("name") ?? "";
    orThrow(parseScheduleName(raw));
    return raw;
  };

  r.get("/schedule/:name", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "schedules");
    const name = scheduleName(c);
    const s = await conductorOf(c, caller, "schellar").jsonOrNull("GET", ["schedule", scheduleUpstreamName(caller.tenant, name)]);
    const mine = stripSchedule(s, caller.tenant);
    if (!mine) throw notFound("no such schedule");
    return c.json(mine);
  });

  r.post("/schedule", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "schedules");
    const schedule = orThrow(prefixSchedule(await jsonBody(c), caller));
    const res = await relay(c, conductorOf(c, caller, "schellar"), "POST", ["schedule"], undefined, schedule);
    audit(c, caller, "schedule.create", String(schedule.name));
    return res;
  });

  r.put("/schedule/:name", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "schedules");
    const name = scheduleName(c);
    const schedule = orThrow(prefixSchedule(await jsonBody(c), caller, name));
    const res = await relay(c, conductorOf(c, caller, "schellar"), "PUT", ["schedule", String(schedule.name)], undefined, schedule);
    audit(c, caller, "schedule.update", name);
    return res;
  });

  r.delete("/schedule/:name", async (c) => {
    const caller = callerOf(c);
    requireAdmin(caller, "schedules");
    const name = scheduleName(c);
    const res = await relay(c, conductorOf(c, caller, "schellar"), "DELETE", ["schedule", scheduleUpstreamName(caller.tenant, name)]);
    audit(c, caller, "schedule.delete", name);
    return res;
  });

  // The Conductor UI's pages and files (CONDUCTOR_UI_URL), on the gateway's origin; never an API path.
  r.get("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (path.startsWith("/conductor/api/") || path === "/conductor/api" || path.startsWith("/conductor/schedule")) return next();
    const ui = await serveUi(c, { engine: "conductor", upstream: c.get("config").uiUpstreams.conductor, routePrefix: "/conductor", name: "Conductor UI" });
    return ui ?? next();
  });

  // Anything else is not served: 404 before any upstream is asked.
  // Unknown paths answer only a caller with a credential: nothing under /conductor answers anonymously.
  r.all("*", (c) => {
    requirePrincipal(c);
    throw notFound("no such Conductor route on this gateway");
  });
  return r;
}

