/**
 * FlowAPI's permission model, decided at the edge. Pure.
 *
 * A FlowAuth token's `user_claims` maps roles to scope lists. Running a query of top-level kind `K` at aggregation
 * unit `u` (`nonspatial` when it has none) needs, in ONE role, the action `run` and `u:K:q` for every `query_kind`
 * `q` nested anywhere in the query (including `K` itself). Polling needs `run`, fetching a result `get_result`,
 * each with the query's scopes; geography `get_result` and `u:geography:geography`; available dates `get_result`
 * and `nonspatial:available_dates:available_dates`.
 */
export type RoleClaims = Record<string, string[]>;

const WORD = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_DEPTH = 64;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The scopes a query spec needs (without the action), or why it cannot be run. */
export function queryScopes(spec: unknown): { scopes: string[] } | { refused: string } {
  if (!isObj(spec)) return { refused: "the query must be a JSON object" };
  const top = spec.query_kind;
  if (typeof top !== "string" || !WORD.test(top)) return { refused: "query_kind is missing or invalid" };
  const unit = spec.aggregation_unit === undefined || spec.aggregation_unit === null ? "nonspatial" : spec.aggregation_unit;
  if (typeof unit !== "string" || !WORD.test(unit)) return { refused: "aggregation_unit is invalid" };
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
  if (problem) return { refused: problem };
  return { scopes: [...kinds].map((q) => `${unit}:${top}:${q}`) };
}

/** Whether one role of the token holds the action and every scope. */
export function mayAct(roles: RoleClaims, action: string, scopes: readonly string[]): boolean {
  return Object.values(roles).some((granted) => granted.includes(action) && scopes.every((s) => granted.includes(s)));
}

/** `user_claims` read from a verified token, or null when it is not a map of role -> scope list. */
export function roleClaims(userClaims: unknown): RoleClaims | null {
  if (!isObj(userClaims)) return null;
  const out: RoleClaims = {};
  for (const [role, scopes] of Object.entries(userClaims)) {
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string")) return null;
    out[role] = scopes as string[];
  }
  return out;
}

export const geographyScope = (unit: string) => `${unit}:geography:geography`;
export const AVAILABLE_DATES_SCOPE = "nonspatial:available_dates:available_dates";
export const isWord = (s: string) => WORD.test(s);
