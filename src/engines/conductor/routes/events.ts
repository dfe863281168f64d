/**
 * Event handlers (admins only): only `conductor:<workflow>:<task>` events that start workflows, in the caller's
 * tenant (see ../events.ts for why nothing else is accepted).
 */
import { badRequest } from "../../../errors";
import { prefixEventHandler, stripEventHandler } from "../events";
import { idempotencyScope } from "../startWorkflow";
import type { Routes } from "./router";
import type { ConductorEnv } from "../services";
import { prefixTenant } from "../tenantNames";
import { orThrow } from "../../../verdict";
import { audit, checkedName, jsonBody, params, pathParam, relay } from "./edge";

/** Every route here is for admins (the view given is guarded). */
export function eventRoutes(r: Routes<ConductorEnv>): void {
  r.get("/api/event", async (c) => {
    const tenant = c.get("caller").tenant;
    return c.json(await c.get("conductor").list(["api", "event"], (h) => stripEventHandler(h, tenant) ?? undefined));
  });

  r.get("/api/event/:event", async (c) => {
    const tenant = c.get("caller").tenant;
    const m = /^conductor:([^:]+):([^:]+)$/.exec(pathParam(c, "event"));
    if (!m) throw badRequest("event: only conductor:<workflow>:<task> events exist here");
    const event = `conductor:${prefixTenant(tenant, checkedName(m[1]!, "event workflow"))}:${checkedName(m[2]!, "event task")}`;
    const q = params(c, { activeOnly: "bool" });
    return c.json(await c.get("conductor").list(["api", "event", event], (h) => stripEventHandler(h, tenant) ?? undefined, q));
  });

  for (const method of ["POST", "PUT"] as const) {
    r.on(method, "/api/event", async (c) => {
      const { tenant, subject } = c.get("caller");
      const scope = await idempotencyScope(tenant, subject);
      const handler = orThrow(prefixEventHandler(await jsonBody(c), { tenant, subject, idempotencyScope: scope }));
      const res = await relay(c, c.get("conductor"), method, ["api", "event"], undefined, handler);
      audit(c, method === "POST" ? "event.create" : "event.update", String(handler.name));
      return res;
    });
  }

  r.delete("/api/event/:name", async (c) => {
    const name = checkedName(pathParam(c, "name"));
    const res = await relay(c, c.get("conductor"), "DELETE", ["api", "event", prefixTenant(c.get("caller").tenant, name)]);
    audit(c, "event.delete", name);
    return res;
  });
}
