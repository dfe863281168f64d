/**
 * Metadata: workflow definitions (everyone reads the ones labelled for them, admins write) and task definitions
 * (admins only), named in the caller's tenant on the way in and stripped of it on the way out.
 */
import { GatewayError, badRequest, notFound } from "../../../errors";
import { isObj, type Obj } from "../../../jsonValue";
import type { Routes } from "./router";
import { grantedCapabilities } from "../capabilities";
import { mayUseWorkflowDef, workflowDefView } from "../rbac";
import { adminOnly, type Caller, type ConductorContext, type ConductorEnv } from "../services";
import { prefixTaskDef, stripTaskDef } from "../taskDefs";
import { GLOBAL_PREFIX, isGlobalName, prefixTenant } from "../tenantNames";
import { prefixWorkflowDef, stripWorkflowDef } from "../workflowDefs";
import { orThrow } from "../../../verdict";
import { VERSION, audit, checkedName, jsonBody, params, pathParam, relay } from "./edge";

export function metadataRoutes(r: Routes<ConductorEnv>): void {
  workflowDefRoutes(r);
  taskDefRoutes(r.with(adminOnly("task definitions")));
}

function workflowDefRoutes(r: Routes<ConductorEnv>): void {
  const writer = adminOnly("writing workflow definitions");

  r.get("/api/metadata/workflow", async (c) => {
    const caller = c.get("caller");
    const view = workflowDefView(caller.principal, caller.admin);
    const body = await c.get("conductor").listRewritten(["api", "metadata", "workflow"], view, (d) => {
      const def = stripWorkflowDef(d, caller.tenant, false);
      return def && (caller.admin || mayUseWorkflowDef(caller.principal, def.description)) ? def : undefined;
    });
    return c.body(body, 200, { "content-type": "application/json" });
  });

  r.get("/api/metadata/workflow/:name", async (c) => {
    const caller = c.get("caller");
    const name = checkedName(pathParam(c, "name"));
    const segments = ["api", "metadata", "workflow", prefixTenant(caller.tenant, name)];
    const def = await c.get("conductor").jsonOrNull("GET", segments, params(c, { version: VERSION }));
    const mine = stripWorkflowDef(def, caller.tenant, false);
    if (!mine || (!caller.admin && !mayUseWorkflowDef(caller.principal, mine.description))) throw notFound("no such workflow definition");
    return c.json(mine);
  });

  r.post("/api/metadata/workflow", writer, async (c) => {
    const def = orThrow(prefixWorkflowDef(await jsonBody(c), definitionOptions(c)));
    const res = await relay(c, c.get("conductor"), "POST", ["api", "metadata", "workflow"], undefined, def);
    audit(c, "workflowdef.create", String(def.name));
    return res;
  });

  r.put("/api/metadata/workflow", writer, async (c) => {
    const body = await jsonBody(c);
    if (!Array.isArray(body)) throw badRequest("body must be a JSON list of workflow definitions");
    const opts = definitionOptions(c);
    const defs = body.map((d, i) => {
      const out = prefixWorkflowDef(d, opts);
      if (!out.ok) throw new GatewayError(out.code, `[${i}]: ${out.reason}`);
      return out.value;
    });
    const res = await relay(c, c.get("conductor"), "PUT", ["api", "metadata", "workflow"], undefined, defs);
    audit(
      c,
      "workflowdef.update",
      defs
        .map((d) => String(d.name))
        .join(",")
        .slice(0, 500),
    );
    return res;
  });

  r.delete("/api/metadata/workflow/:name/:version", adminOnly("deleting workflow definitions"), async (c) => {
    const name = checkedName(pathParam(c, "name"));
    const version = pathParam(c, "version");
    if (!VERSION(version)) throw badRequest("version must be a positive whole number");
    const segments = ["api", "metadata", "workflow", prefixTenant(c.get("caller").tenant, name), version];
    const res = await relay(c, c.get("conductor"), "DELETE", segments);
    audit(c, "workflowdef.delete", `${name}:${version}`);
    return res;
  });
}

/** The writer's tenant, the allow-list of task types and the capabilities the writer's scopes grant. */
const definitionOptions = (c: ConductorContext) => ({
  tenant: c.get("caller").tenant,
  ownerEmail: c.get("caller").email,
  allowedTaskTypes: c.get("config").allowedSystemTasks,
  capabilities: grantedCapabilities(c.get("caller").principal.scopes),
});

/** Every route here is for admins (the view given is guarded). */
function taskDefRoutes(r: Routes<ConductorEnv>): void {
  r.get("/api/metadata/taskdefs", async (c) => {
    const tenant = c.get("caller").tenant;
    return c.json(await c.get("conductor").list(["api", "metadata", "taskdefs"], (d) => stripTaskDef(d, tenant) ?? undefined));
  });

  r.get("/api/metadata/taskdefs/:taskType", async (c) => {
    const tenant = c.get("caller").tenant;
    const raw = pathParam(c, "taskType");
    // A shared task type (GLOBAL___x) is read as it is; its own part is checked like any name.
    const type = isGlobalName(raw) ? (checkedName(raw.slice(GLOBAL_PREFIX.length), "taskType"), raw) : checkedName(raw, "taskType");
    const def = await c.get("conductor").jsonOrNull("GET", ["api", "metadata", "taskdefs", prefixTenant(tenant, type)]);
    const mine = stripTaskDef(def, tenant);
    if (!mine) throw notFound("no such task definition");
    return c.json(mine);
  });

  r.post("/api/metadata/taskdefs", async (c) => {
    const body = await jsonBody(c);
    if (!Array.isArray(body)) throw badRequest("body must be a JSON list of task definitions");
    const defs = taskDefsIn(c.get("caller"), body);
    const res = await relay(c, c.get("conductor"), "POST", ["api", "metadata", "taskdefs"], undefined, defs);
    audit(
      c,
      "taskdef.create",
      defs
        .map((d) => String(d.name))
        .join(",")
        .slice(0, 500),
    );
    return res;
  });

  r.put("/api/metadata/taskdefs", async (c) => {
    const [def] = taskDefsIn(c.get("caller"), [await jsonBody(c)]);
    const res = await relay(c, c.get("conductor"), "PUT", ["api", "metadata", "taskdefs"], undefined, def);
    audit(c, "taskdef.update", String(def!.name));
    return res;
  });

  r.delete("/api/metadata/taskdefs/:taskType", async (c) => {
    const type = checkedName(pathParam(c, "taskType"), "taskType");
    const res = await relay(c, c.get("conductor"), "DELETE", ["api", "metadata", "taskdefs", prefixTenant(c.get("caller").tenant, type)]);
    audit(c, "taskdef.delete", type);
    return res;
  });
}

/** Task definitions as the upstream stores them; the caller is their owner unless one is named. */
function taskDefsIn(caller: Caller, defs: unknown[]): Obj[] {
  return defs.map((d, i) => {
    const owner = isObj(d) && typeof d.ownerEmail === "string" && d.ownerEmail !== "" ? null : caller.email;
    const out = prefixTaskDef(d, caller.tenant, owner);
    if (!out.ok) throw badRequest(`[${i}]: ${out.reason}`);
    return out.value;
  });
}
