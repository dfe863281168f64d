/**
 * What a request costs, per route group: pure functions of what the route already knows. A plain request costs 1.
 */
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { LruCache } from "../cache/lru";
import {
  ANALYSIS_CACHE_MAX_CHARS,
  ANALYSIS_CACHE_TTL_MS,
  CONDUCTOR_START_COST,
  CONDUCTOR_WRITE_COST,
  type GraphQLLimits,
} from "../constants";

/**
 * How many times each root field executes, by real name (used when the guard's analysis does not say): once per distinct response key (`a: f` and `b: f` run f
 * twice; the same key selected twice, directly or through fragments, is merged by the server and runs once).
 * Fields under @skip / @include count: the variables that decide them are not looked at. Pure; null when the
 * document cannot be read (the route has refused it already).
 */
export function rootFieldExecutions(query: string, operationName: string | null, maxTokens: number): Map<string, number> | null {
  let doc;
  try {
    doc = parse(query, { noLocation: true, maxTokens });
  } catch {
    return null;
  }
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName === null ? (ops.length === 1 ? ops[0] : undefined) : ops.find((o) => o.name?.value === operationName);
  if (!op) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(d.name.value)) fragments.set(d.name.value, d);
  const keys = new Map<string, string>(); // response key -> real field name
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        if (!keys.has(key)) keys.set(key, sel.name.value);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!visited.has(sel.name.value)) {
        visited.add(sel.name.value);
        const frag = fragments.get(sel.name.value);
        if (frag) walk(frag.selectionSet);
      }
    }
  };
  walk(op.selectionSet);
  const counts = new Map<string, number>();
  for (const field of keys.values()) counts.set(field, (counts.get(field) ?? 0) + 1);
  return counts;
}

/** Executions by document, like the route's analysis cache (UIs resend the same few documents). */
const executionCache = new LruCache<Map<string, number> | null>(2_000, Date.now, ANALYSIS_CACHE_MAX_CHARS, (key) => key.length);

export interface PrefectOperationCost {
  query: string;
  operationName: string | null;
  /** From the guard's analysis: the operation type and its executed root fields (real names, no repeats). */
  type: "query" | "mutation" | "subscription";
  rootFields: readonly string[];
  /** From the guard's analysis when it gives them: each root field with its number of response keys (executions). */
  rootFieldUses?: readonly { name: string; responseKeys: number }[];
}

/** The weight of a root field: `type/field`, else `type/*`, else 1. `__typename` costs nothing. */
export function fieldWeight(weights: ReadonlyMap<string, number>, type: string, field: string): number {
  if (field === "__typename") return 0;
  return weights.get(`${type}/${field}`) ?? weights.get(`${type}/*`) ?? 1;
}

/**
 * A GraphQL request (one operation or a batch): the sum over operations of each executed root field's weight,
 * counted once per execution; every operation at least 1. A document the analysis could not read costs 1.
 */
export function prefectCost(
  ops: readonly (PrefectOperationCost | null)[],
  weights: ReadonlyMap<string, number>,
  limits: Pick<GraphQLLimits, "maxTokens">,
): number {
  let total = 0;
  for (const op of ops) {
    if (!op) {
      total += 1;
      continue;
    }
    let runs: Map<string, number> | null | undefined;
    if (op.rootFieldUses) runs = new Map(op.rootFieldUses.map((u) => [u.name, u.responseKeys]));
    else {
      const cacheKey = `${op.operationName ?? ""}\u0000${op.query}`;
      runs = executionCache.get(cacheKey);
      if (runs === undefined) {
        runs = rootFieldExecutions(op.query, op.operationName, limits.maxTokens);
        executionCache.set(cacheKey, runs, ANALYSIS_CACHE_TTL_MS);
      }
    }
    let cost = 0;
    for (const f of op.rootFields) cost += fieldWeight(weights, op.type, f) * Math.max(1, runs?.get(f) ?? 1);
    total += Math.max(1, cost);
  }
  return Math.max(1, total);
}

/**
 * The route's view: each request of the transport with the operation the guard analysed (none when it could not
 * analyse it). Only the operation type and its executed root fields are read from the analysis.
 */
export function prefectRequestCost(
  requests: readonly { query: string; operationName: string | null }[],
  operations: readonly (
    | {
        type: "query" | "mutation" | "subscription";
        rootFields: readonly string[];
        rootFieldUses?: readonly { name: string; responseKeys: number }[];
      }
    | undefined
  )[],
  config: { rateLimits: { prefectFieldCosts: ReadonlyMap<string, number> }; graphqlLimits: Pick<GraphQLLimits, "maxTokens"> },
): number {
  const ops = requests.map((r, i) => {
    const op = operations[i];
    return op
      ? { query: r.query, operationName: r.operationName, type: op.type, rootFields: op.rootFields, rootFieldUses: op.rootFieldUses }
      : null;
  });
  return prefectCost(ops, config.rateLimits.prefectFieldCosts, config.graphqlLimits);
}

/**
 * Conductor, by method: reads cost 1, writes CONDUCTOR_WRITE_COST. What sets executions going costs more, decided
 * where the route is registered (src/engines/conductor/routes/router.ts): a start, a synchronous execution, a
 * restart, retry or rerun CONDUCTOR_START_COST, a bulk request `conductorBulkCost`.
 */
export function conductorCost(method: string): number {
  return method === "GET" || method === "HEAD" || method === "OPTIONS" ? 1 : CONDUCTOR_WRITE_COST;
}

/**
 * Conductor's bulk operations (rest/.../WorkflowBulkResource.java), each cost per workflow id, the same as the
 * operation on one execution: restart and retry set executions going again like starts; pause, resume, terminate
 * and remove are writes.
 */
const BULK_COST_PER_ID: Readonly<Record<string, number>> = {
  pause: CONDUCTOR_WRITE_COST,
  resume: CONDUCTOR_WRITE_COST,
  restart: CONDUCTOR_START_COST,
  retry: CONDUCTOR_START_COST,
  terminate: CONDUCTOR_WRITE_COST,
  remove: CONDUCTOR_WRITE_COST,
  "terminate-remove": CONDUCTOR_WRITE_COST,
};

/** A bulk request on `ids` distinct workflow ids: each id at its operation's cost (an unknown operation as a start). */
export function conductorBulkCost(op: string, ids: number): number {
  return Math.max(1, ids) * (BULK_COST_PER_ID[op] ?? CONDUCTOR_START_COST);
}

/**
 * SUB_WORKFLOW tasks that a run-time task list (a worker's `dynamic_tasks`, a skipped task's output) forks: each is
 * an execution Conductor starts, so each costs a start, charged beside the request's own cost.
 */
export function runtimeStartsCost(subWorkflows: number): number {
  return subWorkflows * CONDUCTOR_START_COST;
}

/** Task workers: a batch poll may take `count` tasks and costs that; anything else 1. */
export function workerCost(path: string, count: string | undefined, maxPollCount: number): number {
  if (!/\/tasks\/poll\/batch\//.test(path)) return 1;
  const n = count !== undefined && /^\d{1,6}$/.test(count) ? Number(count) : 1;
  return Math.min(Math.max(1, n), maxPollCount);
}
