/** Argo, as the registry (src/engines/index.ts) lists it: its routes, its admin routes and its session hook. */
import type { Engine } from "../../engine";
import { argoConfig, argoUpstreams } from "./config";
import { administersAnyWorkspace, registerWorkspaceListing, registerWorkspaceRoutes } from "./admin";
import { argoRoutes } from "./route";

export const argo: Engine = {
  name: "argo",
  mount: "/argo",
  routes: argoRoutes,
  config: argoConfig,
  upstreams: argoUpstreams,
  adminRoutes: { ownAccess: registerWorkspaceRoutes, adminOnly: registerWorkspaceListing },
  // A workspace's admin manages it in the console, so their key may open a browser session.
  opensSession: administersAnyWorkspace,
};
