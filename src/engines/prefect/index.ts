/** Prefect, as the registry (src/engines/index.ts) lists it. */
import type { Engine } from "../../engine";
import { prefectConfig, prefectUpstreams } from "./config";
import { prefectRoutes } from "./route";

export const prefect: Engine = {
  name: "prefect",
  mount: "/prefect",
  routes: prefectRoutes,
  config: prefectConfig,
  upstreams: prefectUpstreams,
};
