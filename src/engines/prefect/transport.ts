/**
 * How GraphQL arrives over HTTP, turned into GraphQL requests. Pure.
 * - POST application/json: one request object, or a batch (array) of them;
 * - POST application/graphql: the body is the document, `operationName` in the URL;
 * - GET ?query=&operationName=: queries only (the decision refuses anything else with 405).
 */
import type { GraphQLLimits, GraphQLRequest } from "./policy";
import { MAX_JSON_DEPTH } from "../../constants";
import { isObj } from "../../jsonValue";
import { jsonNestingExceeds } from "../../proxy/json";
import { allow, refuse, type Verdict } from "../../verdict";

export type Transport = { kind: "single"; request: GraphQLRequest } | { kind: "batch"; requests: GraphQLRequest[] };

type Result = Verdict<Transport>;

const bad = (message: string): Result => refuse(message);

function persistedHash(extensions: unknown): string | null | "invalid" {
  if (extensions === undefined || extensions === null) return null;
  if (!isObj(extensions)) return "invalid";
  const pq = extensions.persistedQuery;
  if (pq === undefined) return null;
  const hash = pq && typeof pq === "object" ? (pq as Record<string, unknown>).sha256Hash : undefined;
  return typeof hash === "string" && /^[0-9a-f]{64}$/i.test(hash) ? hash.toLowerCase() : "invalid";
}

/**
 * A request's variables as the upstream reads them: an object, or an object encoded as a JSON string (the 1.x
 * Python client sends `"variables": "{\"slug\": \"x\"}"`, and `"null"` for none). Absent or null is none;
 * anything else is refused, since the gateway forwards its own encoding of what it read.
 */
function variablesOf(raw: unknown): Record<string, unknown> | string {
  let v = raw;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return "variables is not valid JSON";
    }
  }
  if (v === undefined || v === null) return {};
  return isObj(v) ? v : "variables must be an object";
}

function fromObject(value: unknown): GraphQLRequest | string {
  if (!isObj(value)) return "each request must be a JSON object";
  const o = value;
  if (o.query !== undefined && o.query !== null && typeof o.query !== "string") return "query must be a string";
  if (o.operationName !== undefined && o.operationName !== null && typeof o.operationName !== "string") {
    return "operationName must be a string";
  }
  // Variables sent as a JSON string (the 1.x Python client does) are JSON the gateway and the upstream parse too.
  if (typeof o.variables === "string" && jsonNestingExceeds(o.variables, MAX_JSON_DEPTH))
    return `variables: JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
  const hash = persistedHash(o.extensions);
  if (hash === "invalid") return "extensions must be an object with a valid persistedQuery hash";
  const variables = variablesOf(o.variables);
  if (typeof variables === "string") return variables;
  return {
    query: (o.query as string | undefined) ?? "",
    operationName: (o.operationName as string | null | undefined) ?? null,
    persistedQueryHash: hash,
    variables,
  };
}

export function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

export function readTransport(
  method: string,
  contentType: string | null,
  body: string,
  params: URLSearchParams,
  limits: GraphQLLimits,
): Result {
  if (method === "GET") {
    let hash: string | null = null;
    const variables = params.get("variables");
    if (variables !== null && jsonNestingExceeds(variables, MAX_JSON_DEPTH))
      return bad(`variables: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    const ext = params.get("extensions");
    if (ext !== null) {
      if (jsonNestingExceeds(ext, MAX_JSON_DEPTH)) return bad(`extensions: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(ext);
      } catch {
        return bad("extensions is not valid JSON");
      }
      const h = persistedHash(parsed);
      if (h === "invalid") return bad("extensions must be an object with a valid persistedQuery hash");
      hash = h;
    }
    const vars = variablesOf(variables ?? undefined);
    if (typeof vars === "string") return bad(vars);
    return allow({
      kind: "single",
      request: {
        query: params.get("query") ?? "",
        operationName: params.get("operationName") || null,
        persistedQueryHash: hash,
        variables: vars,
      },
    });
  }
  if (method !== "POST") return refuse("use POST (or GET for queries)", "METHOD_NOT_ALLOWED");
  const type = mediaType(contentType);
  if (type === "application/graphql") {
    return allow({
      kind: "single",
      request: { query: body, operationName: params.get("operationName") || null, persistedQueryHash: null, variables: {} },
    });
  }
  if (type !== "application/json") return refuse("send application/json or application/graphql", "UNSUPPORTED_MEDIA_TYPE");
  if (jsonNestingExceeds(body, MAX_JSON_DEPTH)) return bad(`body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return bad("body is not valid JSON");
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return bad("empty batch");
    if (parsed.length > limits.maxBatch) return refuse(`batch larger than ${limits.maxBatch}`, "LIMIT_EXCEEDED");
    const requests: GraphQLRequest[] = [];
    for (const item of parsed) {
      const r = fromObject(item);
      if (typeof r === "string") return bad(r);
      requests.push(r);
    }
    return allow({ kind: "batch", requests });
  }
  const r = fromObject(parsed);
  return typeof r === "string" ? bad(r) : allow({ kind: "single", request: r });
}
