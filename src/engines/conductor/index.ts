/**
 * Conductor, as the registry (src/engines/index.ts) lists it: two mounts from one folder. `/conductor` serves
 * people and programs managing workflows; `/workers` serves task workers (./workers/), which poll and update tasks
 * through Conductor's own SDKs with their own credentials, limits and tenant list. They are two entries, not one
 * entry with two mounts, so that every entry is one mount with one route group and app.ts stays a plain loop.
 */
import type { Engine } from "../../engine";
import { conductorConfig, conductorUpstreams } from "./config";
import { conductorRoutes } from "./route";
import { workersRoutes } from "./workers/route";
import { forgetTenantList } from "./workers/tenants";

export const conductor: Engine = {
  name: "conductor",
  mount: "/conductor",
  routes: conductorRoutes,
  config: conductorConfig,
  upstreams: conductorUpstreams,
};

export const conductorWorkers: Engine = {
  name: "workers",
  mount: "/workers",
  routes: workersRoutes,
  // Its variables (MAX_POLL_COUNT, MAX_POLL_TIMEOUT_MS, CONDUCTOR_URL) are in Conductor's piece, above.
  // A worker serving `*` polls for every tenant: a new tenant must reach that list.
  onTenantsChanged: (c) => forgetTenantList(c.env.KEY_CACHE),
};
