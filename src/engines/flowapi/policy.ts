/**
 * FlowAPI's permission model, decided at the edge. Pure.
 *
 * A FlowAuth token's `user_claims` maps roles to scope lists. Running a query of top-level kind `K` whose
 * aggregation unit is `u` (`nonspatial` when it has none) needs, in ONE role, the action `run` and `u:K:q` for every
 * `query_kind` `q` nested anywhere in the query (including `K` itself). Polling needs `run`, fetching a result
 * `get_result`, each with the query's scopes; geography `get_result` and `u:geography:geography`; available dates
 * `get_result` and `nonspatial:available_dates:available_dates`.
 *
 * The unit is the one FlowAPI asks FlowMachine for (`get_aggregation_unit`: the loaded query object's
 * `aggregation_unit`, None read as `nonspatial`). A query kind with an `aggregation_unit` parameter has its own; an
 * aggregate built over a sub-query takes its sub-query's (FlowMachine's exposed query classes, `UNIT_FROM` below)
 * and refuses one given beside it (a dump-only field); any other kind has none.
 */
import type { FlowAuthRoles } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { repeatedKey } from "../../proxy/json";
import { allow, refuse, type Verdict } from "../../verdict";

export type RoleClaims = FlowAuthRoles;

const WORD = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_DEPTH = 64;

/**
 * Query kinds whose aggregation unit is their sub-query's, and which parameter holds it (`[0]`: the first of a
 * list). From FlowMachine's `*Exposed.aggregation_unit` in flowmachine/core/server/query_schemas/.
 */
const UNIT_FROM: Record<string, { field: string; first?: true }> = {
  spatial_aggregate: { field: "locations" },
  joined_spatial_aggregate: { field: "locations" },
  labelled_spatial_aggregate: { field: "locations" },
  flows: { field: "from_location" },
  labelled_flows: { field: "from_location" },
  modal_location: { field: "locations", first: true },
  location_visits: { field: "locations", first: true },
  majority_location: { field: "subscriber_location_weights" },
  coalesced_location: { field: "preferred_location" },
  active_at_reference_location_counts: { field: "unique_locations" },
  unmoving_at_reference_location_counts: { field: "locations" },
  unique_visitor_counts: { field: "unique_subscriber_counts" },
  aggregate_network_objects: { field: "total_network_objects" },
};

/** The aggregation unit of one (sub-)query, null when it has none, or why FlowMachine would not load it. */
export function aggregationUnit(query: Obj, depth = 0): Verdict<string | null> {
  if (depth > MAX_DEPTH) return refuse("the query is nested too deeply");
  const kind = query.query_kind;
  const from = typeof kind === "string" && Object.hasOwn(UNIT_FROM, kind) ? UNIT_FROM[kind] : undefined;
  if (from) {
    if (query.aggregation_unit !== undefined) return refuse(`${String(kind)} takes its aggregation unit from ${from.field}, not beside it`);
    const holder = from.first && Array.isArray(query[from.field]) ? (query[from.field] as unknown[])[0] : query[from.field];
    if (!isObj(holder)) return refuse(`${String(kind)} needs a query in ${from.field}`);
    const inner = aggregationUnit(holder, depth + 1);
    if (!inner.ok) return inner;
    if (inner.value === null) return refuse(`${String(kind)}: the query in ${from.field} has no aggregation unit`);
    return inner;
  }
  const own = query.aggregation_unit;
  if (own === undefined || own === null) return allow(null);
  if (typeof own !== "string" || !WORD.test(own)) return refuse("aggregation_unit is invalid");
  return allow(own);
}

/** The scopes a query spec needs (without the action), or why it cannot be run (a 400). */
export function queryScopes(spec: unknown): Verdict<string[]> {
  if (!isObj(spec)) return refuse("the query must be a JSON object");
  const top = spec.query_kind;
  if (typeof top !== "string" || !WORD.test(top)) return refuse("query_kind is missing or invalid");
  const derived = aggregationUnit(spec);
  if (!derived.ok) return derived;
  const unit = derived.value ?? "nonspatial";
  const kinds = new Set<string>();
  let problem: string | null = null;
  const walk = (v: unknown, depth: number) => {
    if (problem) return;
    if (depth > MAX_DEPTH) return void (problem = "the query is nested too deeply");
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    if (!isObj(v)) return;
    if ("query_kind" in v) {
      if (typeof v.query_kind !== "string" || !WORD.test(v.query_kind)) return void (problem = "a nested query_kind is invalid");
      kinds.add(v.query_kind);
    }
    for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(spec, 0);
  if (problem) return refuse(problem);
  return allow([...kinds].map((q) => `${unit}:${top}:${q}`));
}

/** Whether one role of the token holds the action and every scope. */
export function mayAct(roles: RoleClaims, action: string, scopes: readonly string[]): boolean {
  return Object.values(roles).some((granted) => granted.includes(action) && scopes.every((s) => granted.includes(s)));
}

export const geographyScope = (unit: string) => `${unit}:geography:geography`;
export const AVAILABLE_DATES_SCOPE = "nonspatial:available_dates:available_dates";
export const isWord = (s: string) => WORD.test(s);

/**
 * How FlowAPI reads a body (docs/security.md, "How each engine reads a request", FlowAPI): Quart's `request.json`,
 * Python's `json.loads` into a dict, where a key given twice in one object keeps its last value, keys match exactly
 * after JSON unescaping (`"query\u005fkind"` is `query_kind`), integer literals are exact (Python ints) and `NaN`
 * or `Infinity` are numbers. The gateway sends its own `JSON.stringify` of the value it checked, so FlowAPI reads
 * exactly that; what follows refuses the requests whose value would not survive that re-encoding unchanged, or
 * that a reader could take two ways.
 */

/**
 * Why `value` (parsed from a client's JSON) would reach FlowAPI changed by re-encoding, or null: an integer beyond
 * 2^53 (JavaScript rounds it, Python keeps it exact) or a number beyond a double's range (read as Infinity here,
 * re-encoded as null).
 */
export function inexactNumber(value: unknown, depth = 0): string | null {
  if (depth > MAX_DEPTH) return "the query is nested too deeply";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "a number is beyond the range FlowAPI and the gateway read alike";
    if (Number.isInteger(value) && !Number.isSafeInteger(value))
      return "an integer beyond ±2^53 (FlowAPI reads it exactly, the gateway cannot)";
    return null;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const p = inexactNumber(v, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (isObj(value)) {
    for (const v of Object.values(value)) {
      const p = inexactNumber(v, depth + 1);
      if (p) return p;
    }
  }
  return null;
}

/**
 * A run's body as FlowAPI will read it, or why not: a JSON object with no key given twice and every number exact;
 * `encoded` is the gateway's own serialization of that value, the only body sent.
 */
export function runBody(text: string, spec: unknown): Verdict<{ spec: Obj; encoded: string }> {
  if (!isObj(spec)) return refuse("the query must be a JSON object");
  const repeated = repeatedKey(text);
  if (repeated !== null)
    return refuse(`key ${JSON.stringify(repeated.slice(0, 64))} is given twice in one object (FlowAPI would keep the last)`);
  const inexact = inexactNumber(spec);
  if (inexact) return refuse(inexact);
  return allow({ spec, encoded: JSON.stringify(spec) });
}
