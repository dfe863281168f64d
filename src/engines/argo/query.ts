/**
 * The query string of an Argo request, decided: each parameter read under every spelling Argo Server takes, and the
 * query rebuilt from the parameters the route has, in their one spelling. Pure.
 *
 * How Argo reads a query (grpc-gateway v1.16, runtime/query.go `defaultQueryParser.Parse`): Go's
 * `url.ParseQuery`; for each key, in map order (random), the dotted path is matched segment by segment against
 * the proto field's name or its JSON name (so `listOptions.fieldSelector`, `list_options.field_selector` and
 * their mixes are one field where the two differ), `key[x]=y` puts `x` first among the values, a scalar takes the
 * first value of its key, and a path parameter's name is skipped. So a field given in two spellings is set twice
 * in random order, and a name the gateway does not know may still be a field: a parameter not in the route's list
 * below is refused (400), a field given in two spellings or twice (where it takes one value) is refused, and only
 * the rebuilt query reaches Argo.
 */
import { allow, refuse, type Verdict } from "../../verdict";

type Kind = "string" | "bool" | "int" | "repeated";
type Params = Readonly<Record<string, Kind>>;

const prefixed = (prefix: string, fields: Params): Params =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}.${k}`, v]));

/** k8s.io/apimachinery meta/v1 ListOptions, as every listing takes it (`listOptions.*`). */
const LIST: Params = prefixed("listOptions", {
  labelSelector: "string",
  fieldSelector: "string",
  watch: "bool",
  allowWatchBookmarks: "bool",
  resourceVersion: "string",
  resourceVersionMatch: "string",
  timeoutSeconds: "int",
  limit: "int",
  continue: "string",
  sendInitialEvents: "bool",
});
/** meta/v1 DeleteOptions (`deleteOptions.*`). */
const DELETE: Params = prefixed("deleteOptions", {
  gracePeriodSeconds: "int",
  "preconditions.uid": "string",
  "preconditions.resourceVersion": "string",
  orphanDependents: "bool",
  propagationPolicy: "string",
  dryRun: "repeated",
  ignoreStoreReadErrorWithClusterBreakingPotential: "bool",
});
/** core/v1 PodLogOptions. */
const podLog = (prefix: string): Params =>
  prefixed(prefix, {
    container: "string",
    follow: "bool",
    previous: "bool",
    sinceSeconds: "int",
    "sinceTime.seconds": "int",
    "sinceTime.nanos": "int",
    timestamps: "bool",
    tailLines: "int",
    limitBytes: "int",
    insecureSkipTLSVerifyBackend: "bool",
    stream: "string",
  });
const GET_OPTIONS: Params = { "getOptions.resourceVersion": "string" };

/**
 * The query parameters of each route, from Argo Server's API (argo-workflows api/openapi-spec/swagger.json, the
 * `in: query` parameters of each path; its protos are pkg/apiclient/<service>/*.proto). A `{x}` segment is a path
 * parameter (a listing's namespace may be empty: every namespace). A route not here takes no query. The archived
 * workflow's `name` is left out: the gateway decides on the uid, and `name` would make Argo look up another one.
 */
const ROUTES: readonly [method: string, pattern: string, params: Params][] = [
  ["GET", "archived-workflows", { ...LIST, namePrefix: "string", namespace: "string", nameFilter: "string" }],
  ["GET", "archived-workflows-label-keys", { namespace: "string" }],
  ["GET", "archived-workflows-label-values", { ...LIST, namespace: "string" }],
  ["GET", "archived-workflows/{uid}", { namespace: "string" }],
  ["DELETE", "archived-workflows/{uid}", { namespace: "string" }],
  ["GET", "cluster-workflow-templates", LIST],
  ["GET", "cluster-workflow-templates/{name}", GET_OPTIONS],
  ["DELETE", "cluster-workflow-templates/{name}", DELETE],
  ["GET", "cron-workflows/{namespace}", LIST],
  ["GET", "cron-workflows/{namespace}/{name}", GET_OPTIONS],
  ["DELETE", "cron-workflows/{namespace}/{name}", DELETE],
  ["GET", "event-sources/{namespace}", LIST],
  ["DELETE", "event-sources/{namespace}/{name}", DELETE],
  ["GET", "sensors/{namespace}", LIST],
  ["GET", "sensors/{namespace}/{name}", GET_OPTIONS],
  ["DELETE", "sensors/{namespace}/{name}", DELETE],
  ["GET", "stream/event-sources/{namespace}", LIST],
  [
    "GET",
    "stream/event-sources/{namespace}/logs",
    { name: "string", eventSourceType: "string", eventName: "string", grep: "string", ...podLog("podLogOptions") },
  ],
  ["GET", "stream/events/{namespace}", LIST],
  ["GET", "stream/sensors/{namespace}", LIST],
  ["GET", "stream/sensors/{namespace}/logs", { name: "string", triggerName: "string", grep: "string", ...podLog("podLogOptions") }],
  ["GET", "workflow-event-bindings/{namespace}", LIST],
  ["GET", "workflow-events/{namespace}", { ...LIST, fields: "string" }],
  ["GET", "workflow-templates/{namespace}", { namePattern: "string", ...LIST }],
  ["GET", "workflow-templates/{namespace}/{name}", GET_OPTIONS],
  ["DELETE", "workflow-templates/{namespace}/{name}", DELETE],
  ["GET", "workflows/{namespace}", { ...LIST, fields: "string", nameFilter: "string", createdAfter: "string", finishedBefore: "string" }],
  ["GET", "workflows/{namespace}/{name}", { ...GET_OPTIONS, fields: "string", uid: "string" }],
  ["DELETE", "workflows/{namespace}/{name}", { ...DELETE, force: "bool" }],
  ["GET", "workflows/{namespace}/{name}/log", { podName: "string", ...podLog("logOptions"), grep: "string", selector: "string" }],
  ["GET", "workflows/{namespace}/{name}/{podName}/log", { ...podLog("logOptions"), grep: "string", selector: "string" }],
];

/** `listOptions` -> `list_options`: the proto-style spelling grpc-gateway also takes for a segment. */
const snake = (segment: string) => segment.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Every spelling of a dotted name (each segment as written or in snake case) -> the name. */
function spellings(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    let forms = [""];
    for (const seg of name.split(".")) {
      const alts = [...new Set([seg, snake(seg)])];
      forms = forms.flatMap((f) => alts.map((a) => (f === "" ? a : `${f}.${a}`)));
    }
    for (const f of forms) out.set(f, name);
  }
  return out;
}

/** A route's parameters and every spelling of them, made once (not on each request). */
interface RouteQuery {
  params: Params;
  names: ReadonlyMap<string, string>;
}
const NO_QUERY: RouteQuery = { params: {}, names: new Map() };
const TABLE = ROUTES.map(([method, pattern, params]) => ({
  method,
  parts: pattern.split("/"),
  query: { params, names: spellings(Object.keys(params)) } satisfies RouteQuery,
}));

/**
 * The parameters `method /api/v1/<segments>` takes (none when the route takes no query). A trailing `/` after a
 * fixed name (`archived-workflows/`, as the UI asks) is the same route.
 */
function routeQuery(method: string, segments: readonly string[]): RouteQuery {
  const m = method === "HEAD" ? "GET" : method;
  const trimmed = segments.at(-1) === "" ? segments.slice(0, -1) : null;
  for (const { method: routeMethod, parts, query } of TABLE) {
    if (routeMethod !== m) continue;
    const matches = (s: readonly string[]) => parts.length === s.length && parts.every((p, i) => p.startsWith("{") || p === s[i]);
    if (matches(segments) || (trimmed !== null && !parts.at(-1)!.startsWith("{") && matches(trimmed))) return query;
  }
  return NO_QUERY;
}

/** Go's `strconv.ParseBool`, which grpc-gateway uses for a bool field: the values it takes, as true or false. */
const BOOLS: Readonly<Record<string, string>> = {
  "1": "true",
  t: "true",
  T: "true",
  TRUE: "true",
  true: "true",
  True: "true",
  "0": "false",
  f: "false",
  F: "false",
  FALSE: "false",
  false: "false",
  False: "false",
};

/**
 * The query of `method /api/v1/<segments>`, decided: each parameter under its one name, in the route's order, bools
 * as `true`/`false`; or why Argo could read it otherwise (400).
 */
export function decideQuery(method: string, segments: readonly string[], query: URLSearchParams): Verdict<URLSearchParams> {
  const { params, names } = routeQuery(method, segments);
  const given = new Map<string, { spelling: string; values: string[] }>();
  for (const [key, value] of query) {
    const name = names.get(key);
    if (name === undefined) return refuse(`query parameter "${key}" is not one this Argo route takes`, "BAD_REQUEST");
    const seen = given.get(name);
    if (seen && seen.spelling !== key)
      return refuse(`query parameter "${name}" is given as "${seen.spelling}" and as "${key}"`, "BAD_REQUEST");
    if (seen && params[name] !== "repeated") return refuse(`query parameter "${name}" is given more than once`, "BAD_REQUEST");
    if (seen) seen.values.push(value);
    else given.set(name, { spelling: key, values: [value] });
  }
  const out = new URLSearchParams();
  for (const [name, kind] of Object.entries(params)) {
    for (const value of given.get(name)?.values ?? []) {
      if (kind === "bool" && BOOLS[value] === undefined) return refuse(`query parameter "${name}" is not true or false`, "BAD_REQUEST");
      if (kind === "int" && !/^-?\d{1,18}$/.test(value)) return refuse(`query parameter "${name}" is not an integer`, "BAD_REQUEST");
      out.append(name, kind === "bool" ? BOOLS[value]! : value);
    }
  }
  return allow(out);
}
