/** FlowAPI's variable (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { url } from "../../configFields";
import { CONTENT_NEGOTIATION } from "../../proxy/headers";
import type { UpstreamTable } from "../../services";

// Its tokens' variables (FLOWAPI_IDENTIFIER, FLOWAPI_PUBLIC_KEY) are the shared piece's (src/config.ts): FlowAuth
// tokens are a credential, verified by identity (src/identity/flowauth.ts) like every other.
export const flowapiConfig = z.object({ FLOWAPI_URL: url }).transform((v) => ({ upstreams: { flowapi: v.FLOWAPI_URL } }));

/**
 * What reaches FlowAPI (its Engine entry's `upstreams`). Of the client's headers, content negotiation and
 * `authorization`: FlowAPI verifies the FlowAuth token again itself (the gateway has verified it first); nothing
 * else it reads is identity.
 */
export const flowapiUpstreams: UpstreamTable = {
  flowapi: { variable: "FLOWAPI_URL", routePrefix: "/flowapi", forwardedHeaders: [...CONTENT_NEGOTIATION, "authorization"] },
};

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
