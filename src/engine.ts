/**
 * What an engine hands the gateway: the contract between an engine's folder (src/engines/<name>/) and the shared
 * code. The registry (src/engines/index.ts) lists one Engine per mount; src/app.ts, the composition root, mounts
 * each and passes the list to the shared routes that take engine hooks (admin, auth). Shared code depends on this
 * contract only, never on an engine's files, so an engine can be added or removed without touching it.
 */
import type { Hono } from "hono";
import type { AdminExtension } from "./admin/openapi";
import type { ConfigPiece } from "./configFields";
import type { AppContext, AppEnv } from "./context";
import type { Principal } from "./identity/principal";
import type { UpstreamTable } from "./services";

/** Besides what is below, an engine may add admin routes and hear of new tenants (AdminExtension). */
export interface Engine extends AdminExtension {
  /** Its name, the one its rate-limit route group has (`workers` for Conductor's task-worker mount). */
  name: string;
  /** Where its routes are mounted, e.g. `/prefect`; one Engine per mount. */
  mount: `/${string}`;
  /** Its routes, relative to `mount`; built once per isolate. */
  routes: () => Hono<AppEnv>;
  /**
   * Its piece of the configuration (src/engines/<name>/config.ts): its variables and its section of `Config`, which
   * src/readConfig.ts reads with the shared piece. Absent for a mount that reads another entry's section (Conductor's
   * task workers).
   */
  config?: ConfigPiece;
  /**
   * The upstreams it calls, by the name its config piece gives them in `config.upstreams`: each one's variable,
   * route prefix and the client headers it receives (its allow-list, with why each passes). Absent for a mount that
   * calls another entry's (Conductor's task workers).
   */
  upstreams?: UpstreamTable;
  /**
   * Whether this key's holder administers something of this engine, which lets the key be exchanged for a browser
   * session (`POST /auth/key`) like a flowgate admin's. Only asked for a principal that is not a flowgate admin.
   */
  opensSession?: (c: AppContext, p: Principal) => Promise<boolean>;
}
