/**
 * THE decision of a `/prefect/graphql` request, pure: the route (./route.ts), explain (through the route), the
 * fuzz properties (test/fuzz/graphql.fuzz.test.ts) and the benchmarks (bench/pure.ts) all call this one function.
 * Its steps, in order:
 *   1. read the transport (POST JSON, batch, application/graphql, GET): requests and their variables;
 *   2. parse and analyse each document once (`parse`, which the route caches by text);
 *   3. decide each operation for the caller's scopes, the CLI's local fields apart (./cli.ts decideOperation);
 *   4. plan what goes upstream: the executed operation printed alone, fragments inlined, its variables
 *      re-encoded; in multi-tenant mode every read limited to the caller's tenant and every id a write names
 *      listed for the pre-read (./rewrite.ts, from the table in ./tenancy.ts). A plan that cannot be made is a
 *      refusal of its operation.
 * I/O (persisted-query hashes, the ids' pre-read, the upstream call) is the route's.
 */
import type { GraphQLLimits } from "../../constants";
import { allow, refuse, type Verdict } from "../../verdict";
import { answeredLocally, decideOperation } from "./cli";
import { analyzeDocument, type Decision, type GraphQLRequest, type OperationAst, type Parsed } from "./policy";
import { planForward, type ForwardPlan } from "./rewrite";
import { readTransport, type Transport } from "./transport";

/** The HTTP request as the route read it. */
export interface PrefectHttpRequest {
  method: string;
  contentType: string | null;
  body: string;
  params: URLSearchParams;
}

export interface PrefectCaller {
  scopes: readonly string[];
  /** The caller's Prefect tenant in multi-tenant mode; null in single-tenant mode (TENANT_ID set). */
  isolatedTenantId: string | null;
}

export interface PrefectDecision {
  transport: Transport;
  requests: GraphQLRequest[];
  /** Each request's executed operation (null when its document was refused before that). */
  asts: (OperationAst | null)[];
  decisions: Decision[];
  /** The whole request is the CLI's identity questions, answered by the gateway. */
  local: boolean;
  /** What goes upstream, one per request: only when every decision allows and nothing is answered locally. */
  forward: ForwardPlan[] | null;
}

export function decidePrefectRequest(
  http: PrefectHttpRequest,
  caller: PrefectCaller,
  limits: GraphQLLimits,
  parse: (r: GraphQLRequest) => Parsed = (r) => analyzeDocument(r, limits),
): Verdict<PrefectDecision> {
  // 1. transport
  const read = readTransport(http.method, http.contentType, http.body, http.params, limits);
  if (!read.ok) return read;
  const transport = read.value;
  const requests = transport.kind === "single" ? [transport.request] : transport.requests;
  const method = http.method === "GET" ? "GET" : "POST";
  // 2. parse once
  const parsed = requests.map(parse);
  const asts = parsed.map((p) => p.ast);
  // 3. scopes (and the CLI's local fields: answered here only if the WHOLE request is them)
  const local = answeredLocally(parsed.flatMap((p) => (p.analysis.ok ? [p.analysis.value] : [])));
  const decisions: Decision[] = parsed.map((p) =>
    p.analysis.ok ? decideOperation(p.analysis.value, caller.scopes, method, local) : p.analysis,
  );
  if (local || decisions.some((d) => !d.ok)) return allow({ transport, requests, asts, decisions, local, forward: null });
  // 4. the upstream's document, limited to the tenant
  const forward: ForwardPlan[] = [];
  let refused = false;
  for (let i = 0; i < requests.length; i++) {
    const plan = planForward(asts[i]!, requests[i]!.variables ?? {}, caller.isolatedTenantId, limits.maxCost);
    const d = decisions[i]!;
    if (plan.ok) forward.push(plan.value);
    else if (d.ok) {
      decisions[i] = { ...plan, operation: d.value };
      refused = true;
    }
  }
  return allow({ transport, requests, asts, decisions, local, forward: refused ? null : forward });
}

/** A refusal of the whole HTTP request, for callers that only need a yes or no (fuzz properties, benchmarks). */
export function firstRefusal(d: Verdict<PrefectDecision>): Verdict | null {
  if (!d.ok) return d;
  const r = d.value.decisions.find((x) => !x.ok);
  return r && !r.ok ? refuse(r.reason, r.code, r.details) : null;
}
