/**
 * Schedules on Schellar (admins only): named `<workflowName>:<version>`, stored in the caller's tenant and started
 * with its task domain and the scheduling caller as correlation id (see ../schedules.ts).
 */
import { notFound } from "../../../errors";
import { orThrow } from "../../../verdict";
import type { Routes } from "./router";
import { parseScheduleName, prefixSchedule, scheduleUpstreamName, stripSchedule } from "../schedules";
import type { ConductorContext, ConductorEnv } from "../services";
import { audit, jsonBody, relay, pathParam } from "./edge";

/** The schedule name in the path, checked (`<workflowName>:<version>`). */
function scheduleName(c: ConductorContext): string {
  const raw = pathParam(c, "name");
  orThrow(parseScheduleName(raw));
  return raw;
}

/** Every route here is for admins (the view given is guarded). */
export function scheduleRoutes(r: Routes<ConductorEnv>): void {
  r.get("/schedule", async (c) => {
    const tenant = c.get("caller").tenant;
    return c.json(await c.get("schellar").list(["schedule"], (s) => stripSchedule(s, tenant) ?? undefined));
  });

  r.get("/schedule/:name", async (c) => {
    const tenant = c.get("caller").tenant;
    const name = scheduleName(c);
    const s = await c.get("schellar").jsonOrNull("GET", ["schedule", scheduleUpstreamName(tenant, name)]);
    const mine = stripSchedule(s, tenant);
    if (!mine) throw notFound("no such schedule");
    return c.json(mine);
  });

  r.post("/schedule", async (c) => {
    const schedule = orThrow(prefixSchedule(await jsonBody(c), c.get("caller")));
    const res = await relay(c, c.get("schellar"), "POST", ["schedule"], undefined, schedule);
    audit(c, "schedule.create", String(schedule.name));
    return res;
  });

  r.put("/schedule/:name", async (c) => {
    const name = scheduleName(c);
    const schedule = orThrow(prefixSchedule(await jsonBody(c), c.get("caller"), name));
    const res = await relay(c, c.get("schellar"), "PUT", ["schedule", String(schedule.name)], undefined, schedule);
    audit(c, "schedule.update", name);
    return res;
  });

  r.delete("/schedule/:name", async (c) => {
    const name = scheduleName(c);
    const res = await relay(c, c.get("schellar"), "DELETE", ["schedule", scheduleUpstreamName(c.get("caller").tenant, name)]);
    audit(c, "schedule.delete", name);
    return res;
  });
}
