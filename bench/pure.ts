/**
 * Per-call CPU of the gateway's two heaviest pure paths, timed call by call in Node (the same V8 as workerd, with
 * a clock fine enough to give percentiles; workerd's clock stands still during a request by design):
 * - the GraphQL guard on a 20 KB document: read the body, parse, decide (uncached: every call parses), and in
 *   multi-tenant mode with the parse cached (the decision plus the tenant rewrite, src/engines/prefect/decide.ts);
 * - the Conductor listing rewrite of 1,000 definitions (about 1 MB): parsed, stripped, label-filtered, serialized;
 * - the GraphQL analysis of the worst documents we can build (bench/graphqlShapes.ts: fragment fan-out, nesting,
 *   aliases, directives, tokens, strings, variables, operations), uncached: the slowest of them (by median) is reported.
 * Run by `npm run bench` (results in bench/results/latest.json under `pure`), or alone: `npx tsx bench/pure.ts`.
 */
import { DEFAULT_GRAPHQL_LIMITS } from "../src/constants.ts";
import { decidePrefectRequest, firstRefusal } from "../src/engines/prefect/decide.ts";
import { analyzeDocument, analyzeRequest, authorizeOperation } from "../src/engines/prefect/policy.ts";
import { readTransport } from "../src/engines/prefect/transport.ts";
import { graphqlShapes } from "./graphqlShapes.ts";
import { stripWorkflowDef } from "../src/engines/conductor/workflowDefs.ts";
import { mayUseWorkflowDef } from "../src/engines/conductor/rbac.ts";
import type { ScopePattern } from "../src/formats/scopes.ts";

export interface PureFigures {
  name: string;
  calls: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function time(name: string, calls: number, once: () => unknown | Promise<unknown>): Promise<PureFigures> {
  for (let i = 0; i < Math.min(50, calls); i++) await once(); // warm up the JIT
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await once();
    samples.push((performance.now() - t0) * 1000);
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    calls,
    p50Us: Math.round(percentile(samples, 50)),
    p99Us: Math.round(percentile(samples, 99)),
    maxUs: Math.round(samples.at(-1)!),
  };
}

export async function measurePure(graphqlBody: string, listing: string): Promise<PureFigures[]> {
  const scopes = ["query/*"] as ScopePattern[];
  // The route's one decision function (src/engines/prefect/decide.ts): read, parse, decide, plan the forward.
  const guard = () => {
    const d = decidePrefectRequest(
      { method: "POST", contentType: "application/json", body: graphqlBody, params: new URLSearchParams() },
      { scopes, isolatedTenantId: null },
      DEFAULT_GRAPHQL_LIMITS,
    );
    if (firstRefusal(d)) throw new Error("bench document refused");
  };
  // The usual case: UIs resend the same documents, so the route finds the analysis cached by document text and
  // only reads the body and decides (src/engines/prefect/route.ts).
  const first = readTransport("POST", "application/json", graphqlBody, new URLSearchParams(), DEFAULT_GRAPHQL_LIMITS);
  if (!first.ok || first.value.kind !== "single") throw new Error("bench document refused");
  const analysis = analyzeRequest(first.value.request, DEFAULT_GRAPHQL_LIMITS);
  if (!analysis.ok) throw new Error("bench document refused");
  const cached = new Map([[first.value.request.query, analysis.value]]);
  const guardCached = () => {
    const t = readTransport("POST", "application/json", graphqlBody, new URLSearchParams(), DEFAULT_GRAPHQL_LIMITS);
    if (!t.ok || t.value.kind !== "single") throw new Error("bench document refused");
    const op = cached.get(t.value.request.query);
    if (!op || !authorizeOperation(op, scopes, "POST").ok) throw new Error("bench document refused");
  };
  // Multi-tenant mode (TENANT_ID unset), the document's parse cached as the route caches it: the decision plus the
  // tenant rewrite (compiled once per document and tenant) and the upstream body's variables, per request.
  const parsedOnce = analyzeDocument(first.value.request, DEFAULT_GRAPHQL_LIMITS);
  const guardTenant = () => {
    const d = decidePrefectRequest(
      { method: "POST", contentType: "application/json", body: graphqlBody, params: new URLSearchParams() },
      { scopes, isolatedTenantId: "137fe27e-578f-5a00-aa0f-04b8eeec7f83" },
      DEFAULT_GRAPHQL_LIMITS,
      () => parsedOnce,
    );
    if (firstRefusal(d) || !d.ok || !d.value.forward) throw new Error("bench document refused");
    return d.value.forward[0]!.queryJson.length + JSON.stringify(d.value.forward[0]!.variables).length;
  };
  const bytes = new TextEncoder().encode(listing);
  const caller = { kind: "api_key" as const, subject: "u", roles: [], groups: ["OPS"], scopes: [] as ScopePattern[] };
  // What the route does: parse the answer's bytes, strip and filter each definition, serialize.
  const rewrite = async () => {
    const answer = (await new Response(bytes).json()) as unknown[];
    const out: unknown[] = [];
    for (const d of answer) {
      const def = stripWorkflowDef(d, "bench", false);
      if (def && mayUseWorkflowDef(caller, def.description)) out.push(def);
    }
    return new TextEncoder().encode(JSON.stringify(out));
  };
  // Every worst shape decided (allowed or refused) from its text, each timed on its own; the slowest is kept.
  let worst: PureFigures | null = null;
  for (const shape of graphqlShapes()) {
    const request = { query: shape.query, operationName: shape.operationName, persistedQueryHash: null };
    const f = await time(`graphql worst shape: ${shape.name}`, 200, () => analyzeRequest(request, DEFAULT_GRAPHQL_LIMITS));
    if (!worst || f.p50Us > worst.p50Us) worst = f; // p50: on a shared machine p99 measures the neighbours
  }
  return [
    await time("graphql-20kb guard (uncached: parse)", 2_000, guard),
    await time("graphql-20kb guard (cached analysis)", 2_000, guardCached),
    await time("graphql-20kb guard, multi-tenant rewrite (cached parse)", 2_000, guardTenant),
    await time("conductor 1 MB listing rewrite", 200, rewrite),
    ...(worst ? [worst] : []),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { graphqlBody, workflowDefListing } = await import("./fixtures.ts");
  for (const f of await measurePure(graphqlBody(20_000), workflowDefListing(1_000))) console.log(f);
}
