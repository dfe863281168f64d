/** Prefect's variables (docs/configuration.md) and its section of the configuration. */
import { z } from "zod";
import { ANALYSIS_CACHE_MAX_ENTRIES, UUID_PATTERN } from "../../constants";
import { boolean, integer, optionalString, scopeList, url } from "../../configFields";
import { CONTENT_NEGOTIATION } from "../../proxy/headers";
import type { UpstreamTable } from "../../services";

export const prefectConfig = z
  .object({
    ALLOW_PUBLIC_ACCESS: boolean(false),
    PUBLIC_SCOPES: scopeList("query/*"),
    // Unset, each comes from the caller's flowgate tenant (./tenant.ts); set, it is every caller's.
    TENANT_ID: optionalString.refine((s) => s === undefined || UUID_PATTERN.test(s), "must be a UUID (8-4-4-4-12 hex digits)"),
    TENANT_NAME: optionalString,
    TENANT_SLUG: optionalString,
    GRAPHQL_ANALYSIS_CACHE_ENTRIES: integer(ANALYSIS_CACHE_MAX_ENTRIES, 0, 100_000),
    PREFECT_GRAPHQL_URL: url,
    PREFECT_UI_URL: url,
  })
  .transform((v) => ({
    /** Whether a request without credential is served (as the anonymous principal, with PUBLIC_SCOPES). */
    allowPublicAccess: v.ALLOW_PUBLIC_ACCESS,
    publicScopes: v.PUBLIC_SCOPES,
    /** Explicit Prefect tenant answers for every caller; what is unset comes from the caller's flowgate tenant. */
    prefectTenant: { id: v.TENANT_ID?.toLowerCase(), name: v.TENANT_NAME, slug: v.TENANT_SLUG },
    /** Documents whose analysis each isolate keeps (0: parse every request). */
    graphqlAnalysisCacheEntries: v.GRAPHQL_ANALYSIS_CACHE_ENTRIES,
    upstreams: { prefect: v.PREFECT_GRAPHQL_URL },
    /** Where the Prefect UI's files are served from, to serve them on the gateway's origin (src/proxy/ui.ts). */
    uiUpstreams: { prefect: v.PREFECT_UI_URL },
  }));

/**
 * The client headers Prefect receives: Prefect Server's GraphQL (Apollo in front of Hasura) reads the body and its
 * content type; its identity headers (`x-hasura-*`, `x-prefect-*`) are exactly what must never pass. The Prefect
 * UI's server gets the same.
 */
export const PREFECT_FORWARDED_HEADERS = [...CONTENT_NEGOTIATION];

/** What reaches Prefect (its Engine entry's `upstreams`). */
export const prefectUpstreams: UpstreamTable = {
  prefect: { variable: "PREFECT_GRAPHQL_URL", routePrefix: "/prefect", forwardedHeaders: PREFECT_FORWARDED_HEADERS },
};

/**
 * The section joins `Config` (src/config.ts) through its interfaces, so the shared code has the type without
 * importing this engine.
 */
type Section = z.output<typeof prefectConfig>;
type Upstreams = Section["upstreams"];
type UiUpstreams = Section["uiUpstreams"];
declare module "../../config" {
  interface EngineSections extends Omit<Section, "upstreams" | "uiUpstreams"> {}
  interface EngineUpstreams extends Upstreams {}
  interface EngineUiUpstreams extends UiUpstreams {}
}
