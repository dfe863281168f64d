/**
 * Workflow search queries, scoped to the caller. Pure.
 *
 * The client's query is kept as written inside parentheses and ANDed with the gateway's own conditions, so it can
 * narrow a search but never widen it: a query whose parentheses or quotes do not balance (which could close the
 * gateway's parenthesis early) is refused instead.
 */
import type { TenantName } from "../../identity/principal";
import { allow, refuse, type Verdict } from "../../verdict";
import { tenantPrefix } from "./tenantNames";

const MAX_QUERY_LENGTH = 4_000;

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

/** A single-quoted literal: backslashes and quotes escaped, so no value can end the literal early. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/**
 * The query sent upstream: `(<client query>) AND workflowType STARTS_WITH 'T___'`, plus
 * `AND correlationId = '<subject>'` for callers who may only see their own executions.
 */
export function scopedSearchQuery(clientQuery: string, tenant: TenantName, ownExecutionsOf: string | null): Verdict<string> {
  const trimmed = clientQuery.trim();
  if (trimmed !== "") {
    const problem = searchQueryProblem(trimmed);
    if (problem) return refuse(`query: cannot be used (${problem})`);
  }
  const parts = trimmed === "" ? [] : [`(${trimmed})`];
  parts.push(`workflowType STARTS_WITH ${quoteLiteral(tenantPrefix(tenant))}`);
  if (ownExecutionsOf !== null) parts.push(`correlationId = ${quoteLiteral(ownExecutionsOf)}`);
  return allow(parts.join(" AND "));
}
