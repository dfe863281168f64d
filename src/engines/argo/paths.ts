/**
 * Which namespace an Argo Server request touches. Pure.
 *
 * Every route the gateway serves is named here; anything else is `unknown` (404). The namespace may sit in the
 * path, in `listOptions.fieldSelector` (`metadata.namespace=X`), in a `namespace` query parameter, or in the body;
 * all of those must agree and be a workspace the caller may enter.
 */

export type ArgoTarget =
  /** One namespace (from the path or the query). */
  | { kind: "namespaced"; namespace: string; stream: boolean }
  /** A listing across namespaces: the answer's `items` are filtered to the caller's workspaces. */
  | { kind: "cluster-list" }
  /** An archived workflow by uid: its namespace is learnt from the upstream before anything is done. */
  | { kind: "archived"; uid: string }
  /** Not about any namespace (version, info, userinfo; reading cluster templates). */
  | { kind: "open" }
  /** Cluster-scoped changes: flowgate admins only. */
  | { kind: "cluster-admin" }
  | { kind: "refused"; status: 400 | 403; reason: string }
  | { kind: "unknown" };

/** Resources whose second path segment is the namespace: `/api/v1/<resource>/<namespace>/...`. */
const NAMESPACED = new Set(["workflows", "workflow-templates", "cron-workflows", "events", "workflow-events", "workflow-event-bindings", "sensors", "event-sources", "pipelines", "steps"]);
/** `/api/v1/stream/<resource>/<namespace>/...`. */
const STREAMED = new Set(["events", "sensors", "event-sources", "pipelines", "steps"]);
/** Listings whose answer is a stream of events, which cannot be filtered item by item. */
const WATCHES = new Set(["workflow-events"]);

/** A Kubernetes namespace name (DNS label). */
export const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `metadata.namespace=X` (or `==X`) in a field selector, or null; a malformed one is refused. */
export function selectorNamespaces(selector: string | null): string[] | { refused: string } {
  if (selector === null) return [];
  const out: string[] = [];
  for (const term of selector.split(",")) {
    const m = /^\s*metadata\.namespace\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) continue;
    if (m[1] === "!=") continue; // widens, never narrows: a cross-namespace answer is filtered anyway
    if (!NAMESPACE.test(m[2]!)) return { refused: "listOptions.fieldSelector: not a namespace" };
    out.push(m[2]!);
  }
  return out;
}

/** Namespaces named in the query (`namespace`, `listOptions.fieldSelector`). */
export function queryNamespaces(query: URLSearchParams): string[] | { refused: string } {
  const fromSelector = selectorNamespaces(query.get("listOptions.fieldSelector"));
  if (!Array.isArray(fromSelector)) return fromSelector;
  const out = [...fromSelector];
  for (const ns of query.getAll("namespace")) {
    if (ns === "") continue;
    if (!NAMESPACE.test(ns)) return { refused: "namespace: not a namespace" };
    out.push(ns);
  }
  return [...new Set(out)];
}

function withQuery(namespace: string | null, query: URLSearchParams, stream: boolean, listing: boolean): ArgoTarget {
  const inQuery = queryNamespaces(query);
  if (!Array.isArray(inQuery)) return { kind: "refused", status: 400, reason: inQuery.refused };
  if (namespace !== null) {
    if (inQuery.some((ns) => ns !== namespace)) return { kind: "refused", status: 400, reason: "the namespace in the query differs from the path" };
    return { kind: "namespaced", namespace, stream };
  }
  if (inQuery.length > 1) return { kind: "refused", status: 400, reason: "more than one namespace in the query" };
  if (inQuery.length === 1) return { kind: "namespaced", namespace: inQuery[0]!, stream };
  if (stream) return { kind: "refused", status: 403, reason: "watching every namespace is not allowed: name a workspace" };
  return listing ? { kind: "cluster-list" } : { kind: "refused", status: 403, reason: "name a workspace" };
}

/** The target of `<method> /api/v1/<segments...>?<query>`. */
export function argoTarget(method: string, segments: readonly string[], query: URLSearchParams): ArgoTarget {
  const [resource, second, third] = segments;
  if (resource === undefined) return { kind: "unknown" };
  if (["version", "info", "userinfo"].includes(resource) && segments.length === 1) return method === "GET" ? { kind: "open" } : { kind: "unknown" };
  if (resource === "cluster-workflow-templates") {
    if (method === "GET" || (method === "POST" && second === "lint")) return { kind: "open" };
    return { kind: "cluster-admin" };
  }
  if (resource === "archived-workflows") {
    if (second === undefined || second === "") return method === "GET" ? withQuery(null, query, false, true) : { kind: "unknown" };
    if (!/^[A-Za-z0-9-]{1,64}$/.test(second)) return { kind: "refused", status: 400, reason: "not a workflow uid" };
    return { kind: "archived", uid: second };
  }
  if (resource === "archived-workflows-label-keys" || resource === "archived-workflows-label-values") {
    const t = withQuery(null, query, false, false);
    return t.kind === "namespaced" || t.kind === "refused" ? t : { kind: "refused", status: 403, reason: "name a workspace" };
  }
  if (resource === "stream") {
    if (second === undefined || !STREAMED.has(second)) return { kind: "unknown" };
    if (third === undefined || third === "") return withQuery(null, query, true, false);
    if (!NAMESPACE.test(third)) return { kind: "refused", status: 400, reason: "not a namespace" };
    return withQuery(third, query, true, false);
  }
  if (!NAMESPACED.has(resource)) return { kind: "unknown" };
  const stream = WATCHES.has(resource) || segments.at(-1) === "log" || query.get("listOptions.watch") === "true";
  if (second === undefined || second === "") return method === "GET" ? withQuery(null, query, stream, true) : { kind: "refused", status: 400, reason: "a namespace is required" };
  if (!NAMESPACE.test(second)) return { kind: "refused", status: 400, reason: "not a namespace" };
  return withQuery(second, query, stream, false);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Namespaces a request body names: its own `namespace`, and `metadata.namespace` of the body and of each object it
 * carries (`workflow`, `template`, `cronWorkflow`, ...). They must all be the path's.
 */
export function bodyNamespaces(body: unknown): string[] {
  if (!isObj(body)) return [];
  const out: string[] = [];
  const add = (v: unknown) => {
    if (v !== undefined && v !== null && v !== "") out.push(String(v));
  };
  add(body.namespace);
  if (isObj(body.metadata)) add(body.metadata.namespace);
  for (const v of Object.values(body)) if (isObj(v) && isObj(v.metadata)) add(v.metadata.namespace);
  return [...new Set(out)];
}

/** The namespace of an Argo object (`metadata.namespace`), or null. */
export function namespaceOf(item: unknown): string | null {
  return isObj(item) && isObj(item.metadata) && typeof item.metadata.namespace === "string" ? item.metadata.namespace : null;
}
