/** Conductor's variables, its task workers' included (docs/configuration.md), and its section of the configuration. */
import { z } from "zod";
import { commaList, integer, oneOf, url } from "../../configFields";
import { CONTENT_NEGOTIATION } from "../../proxy/headers";
import type { UpstreamTable } from "../../services";
import { INDEX_BACKENDS } from "./search";
import { DEFAULT_ALLOWED_TASK_TYPES } from "./capabilities";

/**
 * The task types a workflow definition may use when ALLOWED_SYSTEM_TASKS is unset: those the capability table
 * (./capabilities.ts, the one place task types are described) marks `defaultAllowed`. A type in the variable that
 * the table does not know, or marks unsupported, is still refused where a definition uses it.
 */
const DEFAULT_SYSTEM_TASKS = [...DEFAULT_ALLOWED_TASK_TYPES];

export const conductorConfig = z
  .object({
    ALLOWED_SYSTEM_TASKS: commaList(DEFAULT_SYSTEM_TASKS),
    MAX_POLL_COUNT: integer(100, 1, 1000),
    MAX_POLL_TIMEOUT_MS: integer(30_000, 0, 600_000),
    CONDUCTOR_URL: url,
    SCHELLAR_URL: url,
    CONDUCTOR_UI_URL: url,
    // Which index Conductor searches (conductor.indexing.type and its persistence module): search queries are
    // written in that index's grammar (./search.ts).
    CONDUCTOR_INDEX_BACKEND: oneOf(INDEX_BACKENDS, "elasticsearch"),
  })
  .transform((v) => ({
    allowedSystemTasks: v.ALLOWED_SYSTEM_TASKS,
    maxPollCount: v.MAX_POLL_COUNT,
    maxPollTimeoutMs: v.MAX_POLL_TIMEOUT_MS,
    /** The grammar workflow search queries are written in (./search.ts). */
    conductorIndexBackend: v.CONDUCTOR_INDEX_BACKEND,
    upstreams: { conductor: v.CONDUCTOR_URL, schellar: v.SCHELLAR_URL },
    /** Where the Conductor UI's files are served from, to serve them on the gateway's origin (src/proxy/ui.ts). */
    uiUpstreams: { conductor: v.CONDUCTOR_UI_URL },
  }));

/**
 * The client headers Conductor receives: the routes build its requests themselves (accept, content-type); Spring
 * reads nothing else, and `x-authorization` (Orkes) must never pass. The Conductor UI's server gets the same.
 */
export const CONDUCTOR_FORWARDED_HEADERS = [...CONTENT_NEGOTIATION];

/**
 * What Conductor's entries call (its Engine entry's `upstreams`; the task workers' mount uses them too). Schellar
 * is Conductor's scheduler, served under Conductor's routes.
 */
export const conductorUpstreams: UpstreamTable = {
  conductor: { variable: "CONDUCTOR_URL", routePrefix: "/conductor", forwardedHeaders: CONDUCTOR_FORWARDED_HEADERS },
  schellar: { variable: "SCHELLAR_URL", routePrefix: "/conductor", forwardedHeaders: CONDUCTOR_FORWARDED_HEADERS },
};

/**
 * The section joins `Config` (src/config.ts) through its interfaces, so the shared code has the type without
 * importing this engine.
 */
type Section = z.output<typeof conductorConfig>;
type Upstreams = Section["upstreams"];
type UiUpstreams = Section["uiUpstreams"];
declare module "../../config" {
  interface EngineSections extends Omit<Section, "upstreams" | "uiUpstreams"> {}
  interface EngineUpstreams extends Upstreams {}
  interface EngineUiUpstreams extends UiUpstreams {}
}
