/** Argo's variable (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { url } from "../../configFields";

export const argoConfig = z.object({ ARGO_URL: url }).transform((v) => ({ upstreams: { argo: v.ARGO_URL } }));

/**
 * The section joins `Config` (src/config.ts) through its interfaces, so the shared code has the type without
 * importing this engine.
 */
type Section = z.output<typeof argoConfig>;
type Upstreams = Section["upstreams"];
declare module "../../config" {
  interface EngineSections extends Omit<Section, "upstreams"> {}
  interface EngineUpstreams extends Upstreams {}
}
