/**
 * External payload storage locations (large inputs and outputs kept outside Conductor): a WRITE location is minted
 * for the caller's tenant, and a READ is answered only for a path the tenant was shown or was given.
 */
import { waitUntil } from "../../../context";
import { badRequest, notFound } from "../../../errors";
import { isObj } from "../../../jsonValue";
import { grantPayloadPaths, mayReadPayloadPath } from "../payloadPaths";
import type { Routes } from "./router";
import { asAppContext, type ConductorEnv } from "../services";
import { malformed } from "../upstream";
import { params } from "./edge";

const PAYLOAD_TYPE = (v: string) => ["WORKFLOW_INPUT", "WORKFLOW_OUTPUT", "TASK_INPUT", "TASK_OUTPUT"].includes(v);

export function storageRoutes(r: Routes<ConductorEnv>): void {
  for (const where of ["workflow", "tasks"] as const) {
    r.get(`/api/${where}/externalstoragelocation`, async (c) => {
      const tenant = c.get("caller").tenant;
      const q = params(c, { path: "text", operation: (v) => v === "READ" || v === "WRITE", payloadType: PAYLOAD_TYPE });
      const operation = q.get("operation");
      if (!operation || !q.has("payloadType")) throw badRequest("operation and payloadType are required");
      const path = q.get("path") ?? "";
      if (operation === "READ" && (path === "" || !(await mayReadPayloadPath(c.env.KEY_CACHE, tenant, path)))) {
        throw notFound("no such payload");
      }
      if (operation === "WRITE") q.delete("path"); // the upstream picks a fresh path: a client cannot overwrite one
      const location = await c.get("conductor").json("GET", ["api", where, "externalstoragelocation"], q);
      if (!isObj(location) || typeof location.path !== "string") throw malformed();
      if (operation === "WRITE") waitUntil(asAppContext(c), grantPayloadPaths(c.env.KEY_CACHE, tenant, [location.path]));
      return c.json(location);
    });
  }
}
