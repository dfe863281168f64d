/** Argo's variable (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { url } from "../../configFields";
import { CONTENT_NEGOTIATION } from "../../proxy/headers";
import type { UpstreamTable } from "../../services";

export const argoConfig = z.object({ ARGO_URL: url }).transform((v) => ({ upstreams: { argo: v.ARGO_URL } }));

/**
 * What reaches Argo Server (its Engine entry's `upstreams`), which runs with --auth-mode=server behind the gateway.
 * Its grpc-gateway copies `grpc-metadata-*` and `authorization` into gRPC metadata, which the server reads as
 * identity: neither passes. Besides content negotiation: conditional GETs (`if-none-match`, `if-modified-since`,
 * `cache-control`) keep the UI's static files cacheable; `last-event-id` lets an event stream resume.
 */
export const argoUpstreams: UpstreamTable = {
  argo: {
    variable: "ARGO_URL",
    routePrefix: "/argo",
    forwardedHeaders: [...CONTENT_NEGOTIATION, "if-none-match", "if-modified-since", "cache-control", "last-event-id"],
  },
};

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
