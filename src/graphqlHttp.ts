/**
 * GraphQL over HTTP: which media type a GraphQL client gets, and with which status the gateway's own answers go
 * out. Pure.
 *
 * The GraphQL-over-HTTP specification (graphql/graphql-over-http, spec/GraphQLOverHTTP.md) gives refusals their
 * 4xx statuses only to clients that accept `application/graphql-response+json`: for such a body the client knows
 * the answer is GraphQL's whatever the status. A client that accepts only `application/json` (a "legacy client":
 * the Prefect 1.x Python client sends `Accept: *\/*`, the 1.x UI's Apollo client `*\/*` or nothing) is answered as
 * the specification sets for that media type: 200 for every well-formed request, the refusal in `errors` with its
 * code (`UNAUTHENTICATED`, `FORBIDDEN`), and 400 for a request the gateway cannot read (bad JSON, invalid GraphQL,
 * over a limit). 405, 413, 415 and 429 say something about HTTP itself (method, size, media type, rate), so every
 * client gets them as they are; 5xx stay what they are.
 *
 * Why 200 matters in practice: the Prefect 1.x client raises on every non-2xx status and reads `errors` only from
 * a 200 (or formats them for a 400): see test/engines/prefect/clients.test.ts.
 *
 * Not Hono's `accepts()` (hono/accepts): its default match breaks a tie of q by the header's order (so
 * `application/json, application/graphql-response+json` would get JSON), never lets `*\/*` match, and reads a
 * malformed q (`q=abc`, `q=1.5`) as 1; 6 of the 23 cases in test/unit/graphqlHttp.test.ts would come out otherwise.
 */

export const GRAPHQL_RESPONSE_MEDIA = "application/graphql-response+json";
export const JSON_MEDIA = "application/json";
export type GraphQLMedia = typeof GRAPHQL_RESPONSE_MEDIA | typeof JSON_MEDIA;

/** How well one Accept entry matches a media type: 3 exact, 2 `type/*`, 1 `*\/*`, 0 not at all. */
function specificity(range: string, media: string): number {
  if (range === media) return 3;
  if (range === "*/*") return 1;
  const slash = range.indexOf("/");
  if (slash > 0 && range.slice(slash) === "/*" && media.startsWith(range.slice(0, slash + 1))) return 2;
  return 0;
}

/** A qvalue per RFC 9110 §12.4.2 (`0` to `1`, at most three decimals); null for anything else. */
function qvalue(v: string): number | null {
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return null;
  return Number(v);
}

/**
 * The q each media type gets from an Accept header: the q of the most specific entry matching it (RFC 9110
 * §12.5.1), with how specific that entry was. Entries that do not parse are ignored.
 */
function preferences(accept: string): Map<GraphQLMedia, { q: number; specificity: number }> {
  const best = new Map<GraphQLMedia, { q: number; specificity: number }>();
  for (const entry of accept.split(",")) {
    const [rangePart, ...params] = entry.split(";");
    const range = rangePart!.trim().toLowerCase();
    if (!range.includes("/")) continue;
    let q: number | null = 1;
    for (const p of params) {
      const eq = p.indexOf("=");
      if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === "q") q = qvalue(p.slice(eq + 1).trim());
    }
    if (q === null) continue;
    for (const media of [GRAPHQL_RESPONSE_MEDIA, JSON_MEDIA] as const) {
      const s = specificity(range, media);
      const held = best.get(media);
      if (s > 0 && (!held || s > held.specificity)) best.set(media, { q, specificity: s });
    }
  }
  return best;
}

/**
 * The media type of the gateway's GraphQL answers for a request's `Accept`: `application/graphql-response+json`
 * when the client names it and prefers it at least as much as `application/json`; otherwise `application/json`.
 * No Accept, `*\/*` and `application/*` (both types equally acceptable, neither named) are legacy clients. An Accept
 * that allows neither is disregarded (the specification allows it) in favour of `application/json`, which every
 * GraphQL client reads.
 */
export function negotiateGraphQLMedia(accept: string | null | undefined): GraphQLMedia {
  if (!accept) return JSON_MEDIA;
  const prefs = preferences(accept);
  const modern = prefs.get(GRAPHQL_RESPONSE_MEDIA);
  const legacy = prefs.get(JSON_MEDIA);
  if (!modern || modern.q === 0) return JSON_MEDIA;
  if (!legacy || legacy.q < modern.q) return GRAPHQL_RESPONSE_MEDIA;
  // Equal preference: the specification's own type when the client named it, else (both by wildcard) JSON.
  return legacy.q === modern.q && modern.specificity === 3 ? GRAPHQL_RESPONSE_MEDIA : JSON_MEDIA;
}

/** The status of a gateway-made GraphQL error answer (`status` is the refusal's own) for a client of `media`. */
export function graphqlStatus(status: number, media: GraphQLMedia): number {
  if (media === GRAPHQL_RESPONSE_MEDIA) return status;
  // For application/json, a refused credential or operation is still a well-formed request answered in `errors`.
  return status === 401 || status === 403 ? 200 : status;
}

/** A gateway-made GraphQL answer (an error or a local answer) in the negotiated media type. */
export function graphqlResponse(body: unknown, status: number, media: GraphQLMedia): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": `${media}; charset=utf-8` } });
}
