/**
 * `/conductor/api/*` -> CONDUCTOR_URL and `/conductor/schedule*` -> SCHELLAR_URL: many tenants on one Conductor.
 *
 * Every route is written out, by area (./routes/): a path no area names answers 404, so nothing reaches the
 * upstream without its rewrite. For each request: authentication -> `conductorServices` (the caller: scope
 * `conductor`, a tenant, admin or not; and the upstream clients) -> `adminOnly` where an area is for admins -> the
 * pure policy of this folder (prefix, refuse, RBAC) -> the upstream -> the answer filtered to the caller's tenant
 * (and, for non-admins, to their own executions) and stripped of the tenant's prefix.
 */
import { CONDUCTOR_FORWARDED_HEADERS } from "./config";
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { notFound } from "../../errors";
import { authenticated, requirePrincipal } from "../../pipeline";
import { serveUi } from "../../proxy/ui";
import { chargeRateLimit } from "../../ratelimit/enforce";
import { requestServices } from "../../services";
import { eventRoutes } from "./routes/events";
import { Routes, type Step } from "./routes/router";
import { metadataRoutes } from "./routes/metadata";
import { scheduleRoutes } from "./routes/schedules";
import { storageRoutes } from "./routes/storage";
import { taskRoutes } from "./routes/tasks";
import { workflowRoutes } from "./routes/workflows";
import { adminOnly, asAppContext, conductorServices, type ConductorEnv } from "./services";
import { tokenLogin } from "./token";

/** A UI page or file: plain names only, so the UI server reads the path exactly as the gateway checked it. */
const UI_PATH = /^\/conductor(\/[A-Za-z0-9_.~-]+)*\/?$/;
/**
 * What the UI server must never be asked for. The official UI image's nginx (conductor-oss docker/ui, and the
 * combined docker/server) proxies `/api`, `/actuator` and `/swagger-ui` to the Conductor server with no identity,
 * matching its locations by prefix on the decoded path: `/conductor/%61pi/admin/config` or
 * `/conductor/actuator/env` handed to it would reach Conductor for every tenant. `/conductor/schedule*` is
 * Schellar's, this route's own.
 */
const NOT_THE_UI = /^\/conductor\/(api|actuator|swagger|schedule)/;

/** Whether a request path (as sent, undecoded) may go to the Conductor UI server. */
const isConductorUiPath = (path: string): boolean => UI_PATH.test(path) && !NOT_THE_UI.test(path);

export function conductorRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  // The SDKs' login takes no credential (it is how one is obtained), so it comes before authentication.
  r.post("/api/token", tokenLogin);
  r.use("*", authenticated({ gatewayToken: true }), requestServices);

  // Areas in this order: a fixed path (`/api/workflow/externalstoragelocation`) before a parameter would take it.
  // Each route is charged to the rate limits where it is registered (routes/router.ts), by what it does.
  const plain = Routes.charged<ConductorEnv, AppEnv>(r, conductorCharge);
  const api = plain.with(conductorServices);
  metadataRoutes(api);
  storageRoutes(api);
  workflowRoutes(api);
  eventRoutes(api.with(adminOnly("event handlers")));
  taskRoutes(api, plain);
  scheduleRoutes(api.with(adminOnly("schedules")));

  // The Conductor UI's pages and files (CONDUCTOR_UI_URL), on the gateway's origin; never an API path.
  r.get("*", async (c, next) => {
    if (!isConductorUiPath(new URL(c.req.url).pathname)) return next();
    await chargeRateLimit(c, "conductor", 1);
    const ui = await serveUi(c, {
      forwardedHeaders: CONDUCTOR_FORWARDED_HEADERS,
      upstream: c.get("config").uiUpstreams.conductor,
      routePrefix: "/conductor",
      name: "Conductor UI",
    });
    return ui ?? next();
  });

  // Anything else is not served: 404 before any upstream is asked.
  // Unknown paths answer only a caller with a credential: nothing under /conductor answers anonymously.
  r.all("*", async (c) => {
    requirePrincipal(c);
    await chargeRateLimit(c, "conductor", 1);
    throw notFound("no such Conductor route on this gateway");
  });
  return r;
}

/** The step that charges a route's fixed cost to the caller's limits on the Conductor route group. */
function conductorCharge(cost: number): Step<ConductorEnv> {
  return async (c, next) => {
    await chargeRateLimit(asAppContext(c), "conductor", cost);
    await next();
  };
}
