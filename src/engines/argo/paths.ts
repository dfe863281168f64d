/**
 * Which namespace an Argo Server request touches. Pure.
 *
 * Every route the gateway serves is named here; anything else is `unknown` (404). The namespace may sit in the
 * path, in `listOptions.fieldSelector` (`metadata.namespace=X`), in a `namespace` query parameter, or in the body;
 * all of those must agree and be a workspace the caller may enter.
 */
import { isObj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";

export type ArgoTarget =
  /** One namespace (from the path or the query). */
  | { kind: "namespaced"; namespace: string; stream: boolean }
  /**
   * A listing across namespaces: the answer's `items` are filtered to the caller's workspaces, or to `within` when
   * the query names one (Argo's sensor and event-source listings ignore `listOptions`, so a query's namespace is
   * no promise about the answer).
   */
  | { kind: "cluster-list"; within?: string }
  /** An archived workflow by uid: its namespace is learnt from the upstream before anything is done. */
  | { kind: "archived"; uid: string }
  /** Not about any namespace (version, info, userinfo; reading cluster templates). */
  | { kind: "open" }
  /** Cluster-scoped changes, and reads Argo answers from every namespace whatever the request names: admins only. */
  | { kind: "cluster-admin" }
  | { kind: "unknown" };

/** A target, or why no caller may make the request: 400 when it is malformed, 403 when it asks too widely. */
export type ArgoDecision = Verdict<ArgoTarget>;

const malformed = (reason: string): ArgoDecision => refuse(reason, "BAD_REQUEST");
const tooWide = (reason: string): ArgoDecision => refuse(reason, "FORBIDDEN");

/** Resources whose second path segment is the namespace: `/api/v1/<resource>/<namespace>/...`. */
const NAMESPACED = new Set([
  "workflows",
  "workflow-templates",
  "cron-workflows",
  "events",
  "workflow-events",
  "workflow-event-bindings",
  "sensors",
  "event-sources",
  "pipelines",
  "steps",
]);
/** `/api/v1/stream/<resource>/<namespace>/...`. */
const STREAMED = new Set(["events", "sensors", "event-sources", "pipelines", "steps"]);
/** Listings whose answer is a stream of events, which cannot be filtered item by item. */
const WATCHES = new Set(["workflow-events"]);

/** A Kubernetes namespace name (DNS label). */
export const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** What a field selector says of namespaces: those it selects (`=`, `==`), and whether it excludes one (`!=`). */
export interface SelectedNamespaces {
  readonly equal: readonly string[];
  readonly excludes: boolean;
}

/**
 * The namespaces in `listOptions.fieldSelector`, read as Argo reads them (argo-workflows server/utils/list_options.go
 * `BuildListOptions`: the selector split on `,`, each term matched by exact prefix `metadata.namespace!=`, `==`,
 * `=`). A term naming the namespace in any other form (spaces, case, another operator) is refused, and so is a `\`
 * (Kubernetes' field selectors read `\,` as an escaped comma, Argo's split does not).
 */
export function selectorNamespaces(selector: string | null): Verdict<SelectedNamespaces> {
  if (selector === null) return allow({ equal: [], excludes: false });
  if (selector.includes("\\")) return refuse("listOptions.fieldSelector: a backslash is not accepted");
  const equal: string[] = [];
  let excludes = false;
  for (const term of selector.split(",")) {
    const m = /^metadata\.namespace(==|=|!=)(.*)$/.exec(term);
    if (!m) {
      // The field a term selects on is what stands before its operator (a name may hold the word).
      if (/namespace/i.test(term.split(/!=|=/)[0]!))
        return refuse("listOptions.fieldSelector: name the namespace as metadata.namespace=<name>");
      continue;
    }
    if (!NAMESPACE.test(m[2]!)) return refuse("listOptions.fieldSelector: not a namespace");
    if (m[1] === "!=") excludes = true;
    else equal.push(m[2]!);
  }
  return allow({ equal, excludes });
}

/** Namespaces named in a decided query (src/engines/argo/query.ts): `namespace`, `listOptions.fieldSelector`. */
export function queryNamespaces(query: URLSearchParams): Verdict<SelectedNamespaces> {
  const fromSelector = selectorNamespaces(query.get("listOptions.fieldSelector"));
  if (!fromSelector.ok) return fromSelector;
  const equal = [...fromSelector.value.equal];
  const ns = query.get("namespace");
  if (ns !== null && ns !== "") {
    if (!NAMESPACE.test(ns)) return refuse("namespace: not a namespace");
    equal.push(ns);
  }
  return allow({ equal: [...new Set(equal)], excludes: fromSelector.value.excludes });
}

function withQuery(namespace: string | null, query: URLSearchParams, stream: boolean, listing: boolean): ArgoDecision {
  const named = queryNamespaces(query);
  if (!named.ok) return named;
  const { equal: inQuery, excludes } = named.value;
  // `metadata.namespace!=X` makes Argo list every namespace but X, whatever the path names: only a cross-namespace
  // listing, whose answer is filtered, may carry it.
  const namespaced = (ns: string): ArgoDecision =>
    excludes
      ? tooWide("metadata.namespace!= reaches other workspaces: name a workspace with =")
      : allow({ kind: "namespaced", namespace: ns, stream });
  if (namespace !== null) {
    if (inQuery.some((ns) => ns !== namespace)) return malformed("the namespace in the query differs from the path");
    return namespaced(namespace);
  }
  if (inQuery.length > 1) return malformed("more than one namespace in the query");
  if (inQuery.length === 1 && listing && !stream)
    return excludes ? namespaced(inQuery[0]!) : allow({ kind: "cluster-list", within: inQuery[0]! });
  if (inQuery.length === 1) return namespaced(inQuery[0]!);
  if (stream) return tooWide("watching every namespace is not allowed: name a workspace");
  return listing ? allow({ kind: "cluster-list" }) : tooWide("name a workspace");
}

/** The target of `<method> /api/v1/<segments...>?<query>`, the query as decided (src/engines/argo/query.ts). */
export function argoTarget(method: string, segments: readonly string[], query: URLSearchParams): ArgoDecision {
  const [resource, second, third] = segments;
  const unknown = allow<ArgoTarget>({ kind: "unknown" });
  if (resource === undefined) return unknown;
  if (["version", "info", "userinfo"].includes(resource) && segments.length === 1)
    return method === "GET" ? allow({ kind: "open" }) : unknown;
  if (resource === "cluster-workflow-templates") {
    if (method === "GET" || (method === "POST" && second === "lint")) return allow({ kind: "open" });
    return allow({ kind: "cluster-admin" });
  }
  if (resource === "archived-workflows") {
    if (second === undefined || second === "") return method === "GET" ? withQuery(null, query, false, true) : unknown;
    if (!/^[A-Za-z0-9-]{1,64}$/.test(second)) return malformed("not a workflow uid");
    return allow({ kind: "archived", uid: second });
  }
  if (resource === "archived-workflows-label-keys" || resource === "archived-workflows-label-values") {
    // Argo reads these from the archive of every namespace and does not use the `namespace` parameter
    // (server/workflowarchive/archived_workflow_server.go ListArchivedWorkflowLabelKeys/Values): a workspace
    // named in the query bounds nothing, and the answer (bare keys or values) cannot be filtered.
    const named = queryNamespaces(query);
    if (!named.ok) return named;
    return method === "GET" ? allow({ kind: "cluster-admin" }) : unknown;
  }
  if (resource === "stream") {
    if (second === undefined || !STREAMED.has(second)) return unknown;
    if (third === undefined || third === "") return withQuery(null, query, true, false);
    if (!NAMESPACE.test(third)) return malformed("not a namespace");
    return withQuery(third, query, true, false);
  }
  if (!NAMESPACED.has(resource)) return unknown;
  const stream = WATCHES.has(resource) || segments.at(-1) === "log" || query.get("listOptions.watch") === "true";
  if (second === undefined || second === "")
    return method === "GET" ? withQuery(null, query, stream, true) : malformed("a namespace is required");
  if (!NAMESPACE.test(second)) return malformed("not a namespace");
  return withQuery(second, query, stream, false);
}

/**
 * The path segments Argo receives for a request decided to act in `namespace`: an empty namespace segment (a
 * listing or watch whose namespace the query alone names) is filled with it. Argo scopes a request by the path's
 * namespace, while some of its handlers drop `listOptions` (ListSensors, ListEventSources) or replace its field
 * selector (WatchWorkflows, given `metadata.name=`, resolves `@latest` over the path's namespace, every namespace
 * when it is empty): the selector is no bound, the path is.
 */
export function segmentsIn(segments: readonly string[], namespace: string): string[] {
  const out = [...segments];
  const at = out[0] === "stream" ? 2 : NAMESPACED.has(out[0] ?? "") ? 1 : -1;
  if (at > 0 && (out[at] === undefined || out[at] === "")) out[at] = namespace;
  return out;
}

/**
 * Namespaces a request body names: its own `namespace`, and `metadata.namespace` of the body and of each object it
 * carries (`workflow`, `template`, `cronWorkflow`, ...). They must all be the path's.
 */
export function bodyNamespaces(body: unknown): string[] {
  if (!isObj(body)) return [];
  const out: string[] = [];
  // A namespace that is not a string is kept in its JSON form, so it differs from every path's namespace.
  const add = (v: unknown) => {
    if (v !== undefined && v !== null && v !== "") out.push(typeof v === "string" ? v : JSON.stringify(v));
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
