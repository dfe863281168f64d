/** Prefect, as the registry (src/engines/index.ts) lists it. */
import type { Engine } from "../../engine";
import { prefectRoutes } from "./route";

export const prefect: Engine = {
  name: "prefect",
  mount: "/prefect",
  routes: prefectRoutes,
};
