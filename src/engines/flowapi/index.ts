/** FlowAPI, as the registry (src/engines/index.ts) lists it. */
import type { Engine } from "../../engine";
import { flowapiConfig, flowapiUpstreams } from "./config";
import { flowapiRoutes } from "./route";

export const flowapi: Engine = {
  name: "flowapi",
  mount: "/flowapi",
  routes: flowapiRoutes,
  config: flowapiConfig,
  upstreams: flowapiUpstreams,
};
