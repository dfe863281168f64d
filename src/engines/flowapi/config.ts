/** FlowAPI's variables (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { optionalString, url } from "../../configFields";

export const flowapiConfig = z
  .object({
    FLOWAPI_IDENTIFIER: optionalString,
    FLOWAPI_PUBLIC_KEY: optionalString,
    FLOWAPI_URL: url,
  })
  .transform((v) => ({
    /** FlowAuth token verification: the identifier tokens are issued for, and the key that signs them. */
    flowapi: { identifier: v.FLOWAPI_IDENTIFIER, publicKey: v.FLOWAPI_PUBLIC_KEY },
    upstreams: { flowapi: v.FLOWAPI_URL },
  }));

/**
 * The section joins `Config` (src/config.ts) through its interfaces, so the shared code has the type without
 * importing this engine.
 */
type Section = z.output<typeof flowapiConfig>;
type Upstreams = Section["upstreams"];
declare module "../../config" {
  interface EngineSections extends Omit<Section, "upstreams"> {}
  interface EngineUpstreams extends Upstreams {}
}
