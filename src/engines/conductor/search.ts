/**
 * Workflow search queries, scoped to the caller, in the grammar of the index Conductor searches. Pure.
 *
 * Conductor hands `query` to its index backend, and each backend has a grammar of its own
 * (`CONDUCTOR_INDEX_BACKEND`, docs/engines/conductor.md):
 *
 * - `elasticsearch` / `opensearch`: the recursive-descent parser of es7-persistence (the same in es8 and
 *   os-persistence-v2/v3), `dao/query/parser/Expression.java` and `internal/*.java`. An expression is a name-value
 *   or a parenthesised group, then optionally `AND`/`OR` and another expression: right-recursive, and whatever
 *   follows the first complete expression is ignored (Expression.fromString reads no further). So the gateway's
 *   conditions come FIRST, each joined by AND: the root is then `must(tenant, must(subject, client))` whatever the
 *   client's text does afterwards (a list `(...)` in ListConst ends at the first `)` even inside quotes, a name is
 *   read up to whitespace: the client's part may close groups the gateway never saw, and that no longer matters).
 *   The tenant is `workflowType STARTS_WITH 'T___'` (NameValue: a `prefixQuery`, exact); the subject
 *   `correlationId IN (s)` (a `termsQuery`, exact; `=` would be a Lucene `query_string`, where quotes and
 *   backslashes in a subject change the query).
 * - `postgres` / `sqlite`: `PostgresIndexQueryBuilder` / `SqliteIndexQueryBuilder` (postgres-persistence,
 *   sqlite-persistence `util/`): the query is split on ` AND `, each part must match
 *   `([a-zA-Z]+)\s?(=|>|<|IN)\s?(.*)` (or the whole search fails), `"'()` are removed from the value, which is then
 *   split on `,`; every condition is ANDed. There is no prefix operator: `=` with `*` becomes SQL `LIKE`, where `_`
 *   is a wildcard too, so `T___*` would match other tenants. The tenant is an exact list instead:
 *   `workflowType IN (T___a,T___b)` (`workflow_type = ANY(?)`), of the tenant's own workflow names (the definition
 *   listing). The client's part is read as the builder reads it and sent as the gateway writes it: each condition
 *   on a column the builder knows (a condition on another is dropped from its SQL but not from its parameters,
 *   which then bind to the wrong placeholders), values the builder can bind.
 * - `none` (Redis or no indexing: Conductor's NoopIndexDAO finds nothing): nothing is asked; the answer is empty.
 */
import type { TenantName } from "../../identity/principal";
import { allow, refuse, type Refused, type Verdict } from "../../verdict";
import { tenantPrefix } from "./tenantNames";

const MAX_QUERY_LENGTH = 4_000;

/** The index backends Conductor ships, as `CONDUCTOR_INDEX_BACKEND` names them. */
export const INDEX_BACKENDS = ["elasticsearch", "opensearch", "postgres", "sqlite", "none"] as const;
export type IndexBackend = (typeof INDEX_BACKENDS)[number];

/** Which grammar a backend reads a query with. */
export type SearchGrammar = "elasticsearch" | "sql" | "none";
export const grammarOf = (backend: IndexBackend): SearchGrammar =>
  backend === "postgres" || backend === "sqlite" ? "sql" : backend === "none" ? "none" : "elasticsearch";

/**
 * The longest query sent for the SQL grammar's tenant list: Conductor reads it from the request line, which
 * Spring Boot's Tomcat bounds (8 KB of headers by default) together with everything else.
 */
export const MAX_SQL_TENANT_CLAUSE = 6_000;

export type QueryProblem = "too_long" | "control" | "unbalanced" | "unterminated";

/** Why a client's search query cannot be embedded, or null when it can. */
export function searchQueryProblem(query: string): QueryProblem | null {
  if (query.length > MAX_QUERY_LENGTH) return "too_long";
  if (/[\x00-\x1f\x7f]/.test(query.replace(/[\t\n\r]/g, " "))) return "control";
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < query.length; i++) {
    const ch = query[i]!;
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return "unbalanced";
  }
  if (quote) return "unterminated";
  return depth === 0 ? null : "unbalanced";
}

/** A single-quoted literal for the Elasticsearch grammar (ConstValue.readString): `\` takes the next character as it is. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export interface SearchScope {
  backend: IndexBackend;
  tenant: TenantName;
  /** The subject whose executions alone may be found (a non-admin), or null for all of the tenant's. */
  ownExecutionsOf: string | null;
  /** The SQL grammar only: the tenant's workflow names as Conductor stores them (prefixed). */
  workflowNames?: readonly string[];
}

/**
 * The query sent upstream, or null when nothing can match (answer an empty result without asking). Refused with
 * a message naming the rule when the query, or the caller's scope, cannot be written exactly in the grammar.
 */
export function scopedSearchQuery(clientQuery: string, scope: SearchScope): Verdict<string | null> {
  const trimmed = clientQuery.trim();
  if (trimmed !== "") {
    const problem = searchQueryProblem(trimmed);
    if (problem) return refuse(`query: cannot be used (${problem})`);
  }
  switch (grammarOf(scope.backend)) {
    case "none":
      return allow(null);
    case "elasticsearch":
      return elasticsearchQuery(trimmed, scope);
    case "sql":
      return sqlQuery(trimmed, scope);
  }
}

/**
 * A value ListConst (es7 `internal/ListConst.java`) reads back exactly: it splits at `,`, ends at the first `)`,
 * trims each item, and reads bytes one by one as characters (so only ASCII survives unchanged).
 */
const ES_LIST_ITEM = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;
const esListItem = (v: string) => ES_LIST_ITEM.test(v) && !v.includes(",") && !v.includes(")");

function elasticsearchQuery(client: string, scope: SearchScope): Verdict<string> {
  const parts = [`workflowType STARTS_WITH ${quoteLiteral(tenantPrefix(scope.tenant))}`];
  if (scope.ownExecutionsOf !== null) {
    if (!esListItem(scope.ownExecutionsOf)) return refuse(subjectUnsearchable(scope.backend));
    parts.push(`correlationId IN (${scope.ownExecutionsOf})`);
  }
  if (client !== "") parts.push(`(${client})`);
  return allow(parts.join(" AND "));
}

const subjectUnsearchable = (backend: IndexBackend) =>
  `search: your subject cannot be written exactly in the query grammar of this Conductor's index (${backend}); ask an admin to search for you`;

/**
 * The columns the SQL builders know (VALID_FIELDS of PostgresIndexQueryBuilder.java, less `json_data` and the
 * full-text expression, which take no comparison with a text value), by the camelCase name `camelToSnake` reads.
 */
const SQL_COLUMNS = new Set([
  "workflow_id",
  "correlation_id",
  "workflow_type",
  "start_time",
  "end_time",
  "status",
  "task_id",
  "task_type",
  "task_def_name",
  "update_time",
  "parent_workflow_id",
  "classifier",
]);

const isLetter = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
/** Java's `\s`. */
const isSpace = (ch: string | undefined) => ch !== undefined && " \t\n\x0b\f\r".includes(ch);
/** The operator `(=|>|<|IN)` at `i`, or null. */
const operatorAt = (s: string, i: number): string | null => {
  const ch = s[i];
  return ch === "=" || ch === ">" || ch === "<" ? ch : s.startsWith("IN", i) ? "IN" : null;
};

/**
 * What `Condition`'s pattern finds in `part` (PostgresIndexQueryBuilder.java, CONDITION_REGEX
 * `([a-zA-Z]+)\s?(=|>|<|IN)\s?(.*)`, read with `find`): the name, the operator and the value, or null. Read in one
 * pass: the regex engine retries every start inside a run of letters and backtracks through it from each
 * (quadratic: 13 ms for 4,000 letters). The match starts at the first run of letters some operator follows (a later
 * start in the same run only shortens the name), with the longest name the greedy group leaves an operator after.
 */
export function readCondition(part: string): [name: string, op: string, value: string] | null {
  let start = 0;
  while (start < part.length) {
    if (!isLetter(part.charCodeAt(start))) {
      start++;
      continue;
    }
    let end = start;
    while (end < part.length && isLetter(part.charCodeAt(end))) end++;
    for (let nameEnd = end; nameEnd > start; nameEnd--) {
      // `\s?` is greedy: a space before the operator is taken first (only after the run: inside it come letters).
      const spaced = isSpace(part[nameEnd]) ? operatorAt(part, nameEnd + 1) : null;
      const op = spaced ?? operatorAt(part, nameEnd);
      if (op === null) continue;
      let at = (spaced === null ? nameEnd : nameEnd + 1) + op.length;
      if (isSpace(part[at])) at++;
      // `.` stops at a line terminator.
      const value = /^[^\n\r\u2028\u2029]*/.exec(part.slice(at))![0];
      return [part.slice(start, nameEnd), op, value];
    }
    start = end;
  }
  return null;
}

/** camelToSnake: `\B([A-Z])` -> `_$1`, lower-cased. */
const camelToSnake = (s: string) => s.replace(/\B([A-Z])/g, "_$1").toLowerCase();

/** Java's `String.split(",")`: trailing empty strings are removed. */
function javaSplitComma(s: string): string[] {
  const out = s.split(",");
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

/** A value the SQL builders carry unchanged: none of the characters they remove or split on, no LIKE star. */
const sqlExactValue = (v: string) => /^[\x21-\x7e]+$/.test(v) && !/["'(),*]/.test(v);

function sqlQuery(client: string, scope: SearchScope): Verdict<string | null> {
  const prefix = tenantPrefix(scope.tenant);
  const names = (scope.workflowNames ?? []).filter((n) => n.startsWith(prefix) && sqlExactValue(n));
  // No definition of the tenant can be named exactly: none of its executions can be found.
  if (names.length === 0) return allow(null);
  const tenantClause = `workflowType IN (${names.join(",")})`;
  if (tenantClause.length > MAX_SQL_TENANT_CLAUSE) {
    return refuse(
      `search: this tenant has too many workflow definitions to list in a query to this Conductor's index (${scope.backend}); ask an admin to raise the index backend`,
    );
  }
  const parts = [tenantClause];
  if (scope.ownExecutionsOf !== null) {
    if (!sqlExactValue(scope.ownExecutionsOf)) return refuse(subjectUnsearchable(scope.backend));
    parts.push(`correlationId = ${scope.ownExecutionsOf}`);
  }
  if (client !== "") {
    if (!/^[\x20-\x7e]*$/.test(client)) return refuse("query: only printable ASCII is read alike by this Conductor's index");
    for (const part of client.split(" AND ")) {
      const condition = sqlCondition(part);
      if (typeof condition !== "string") return condition;
      parts.push(condition);
    }
  }
  return allow(parts.join(" AND "));
}

/**
 * One ` AND `-separated part of a client's query, read as `Condition(String)` reads it, written back as the gateway
 * writes it (`attribute OP v1,v2`; a list in parentheses), or a refusal naming the rule.
 */
function sqlCondition(part: string): string | Refused {
  const m = readCondition(part);
  if (!m) return refuse(`query: "${part.slice(0, 80)}" is not a condition this Conductor's index reads (name =, >, < or IN value)`);
  const [name, op, raw] = m;
  const column = camelToSnake(name);
  if (!SQL_COLUMNS.has(column)) return refuse(`query: ${name} is not a field this Conductor's index searches`);
  const values = javaSplitComma(raw.replace(/["'()]/g, ""));
  if (values.length === 0 || values.some((v) => v === "")) return refuse(`query: ${name} needs a value`);
  if (op !== "IN" && values.length > 1) return refuse(`query: ${name} ${op} takes one value (a list needs IN)`);
  if (column.endsWith("_time") && !/^-?[0-9]{1,18}$/.test(values[0]!)) {
    return refuse(`query: ${name} takes a time in epoch milliseconds`);
  }
  return op === "IN" ? `${name} IN (${values.join(",")})` : `${name} ${op} ${values[0]}`;
}
