import { Kind, type DocumentNode, type SelectionSetNode } from "graphql";
import { describe, expect, it } from "vitest";
import { graphqlShapes } from "../../../bench/graphqlShapes";
import { DEFAULT_GRAPHQL_LIMITS } from "../../../src/constants";
import { answeredLocally, decideOperation, localAnswer } from "../../../src/engines/prefect/cli";
import {
  analyzeRequest,
  measureOperation,
  operationAst,
  parseDocument,
  selectOperation,
  type GraphQLRequest,
  type Operation,
} from "../../../src/engines/prefect/policy";
import { readTransport } from "../../../src/engines/prefect/transport";
import opsText from "../../fixtures/prefect/postman_ops_extracted.jsonl?raw";
import { BYPASSES } from "./bypass";
import { decideAsRoute, seen } from "./seen";

const UI_SCOPES = ["query/*", "mutation/create_flow_run", "mutation/cancel_flow_run", "mutation/set_flow_run_states"];
const req = (query: string, operationName: string | null = null): GraphQLRequest => ({ query, operationName, persistedQueryHash: null });
const decide = (query: string, scopes = UI_SCOPES, operationName: string | null = null, method: "GET" | "POST" = "POST") =>
  seen(decideAsRoute(req(query, operationName), scopes, DEFAULT_GRAPHQL_LIMITS, method));

describe("authorizeGraphQL decisions (pure)", () => {
  it("collects root fields through aliases, inline fragments and spreads, by real name", () => {
    const d = decide(
      `mutation { a: create_flow_run(input:{}) { id } ... on Mutation { cancel_flow_run(input:{}) { state } } ...F } fragment F on Mutation { set_flow_run_states(input:{}) { states { id } } }`,
    );
    expect(d.ok).toBe(true);
    if (d.ok) expect(d.operation.rootFields).toEqual(["create_flow_run", "cancel_flow_run", "set_flow_run_states"]);
  });

  it("refuses a mutation hidden in a fragment on Mutation", () => {
    const d = decide(`mutation { ...F } fragment F on Mutation { delete_flow(input:{}) { success } }`);
    expect(d).toMatchObject({ ok: false, refusal: { status: 403, refusedFields: ["mutation/delete_flow"] } });
  });

  it("picks the operation by operationName, not the first one", () => {
    const doc = `query Q { flow { id } } mutation M { delete_flow(input:{}) { success } }`;
    expect(decide(doc, UI_SCOPES, "Q").ok).toBe(true);
    expect(decide(doc, UI_SCOPES, "M")).toMatchObject({ ok: false, refusal: { status: 403 } });
    expect(decide(doc, UI_SCOPES, null)).toMatchObject({ ok: false, refusal: { status: 400 } });
  });

  it("does not follow a fragment only defined, never spread, in the executed operation", () => {
    const d = decide(`query Q { flow { id } } fragment Unused on Mutation { delete_flow(input:{}) { success } }`);
    expect(d.ok).toBe(true);
  });

  it("treats subscriptions as their own type", () => {
    expect(decide("subscription { flow_run { id } }", ["subscription/flow_run"]).ok).toBe(true);
    expect(decide("subscription { flow_run { id } }", ["query/*"]).ok).toBe(false);
  });

  it("refuses mutations over GET with 405 even when in scope", () => {
    expect(decide("mutation { create_flow_run(input:{}) { id } }", UI_SCOPES, null, "GET")).toMatchObject({
      ok: false,
      refusal: { status: 405 },
    });
  });

  it("lets an empty scope list do nothing but __typename", () => {
    expect(decide("{ __typename }", []).ok).toBe(true);
    expect(decide("{ flow { id } }", []).ok).toBe(false);
  });

  it("refuses every JSON bypass of the corpus at the policy level too (no transport involved)", () => {
    let checked = 0;
    for (const b of BYPASSES) {
      if (b.json === undefined || b.method || b.status === 413) continue; // 413 is the route's body limit
      const t = readTransport("POST", "application/json", JSON.stringify(b.json), new URLSearchParams(), DEFAULT_GRAPHQL_LIMITS);
      if (!t.ok) {
        checked++;
        continue;
      }
      const requests = t.value.kind === "single" ? [t.value.request] : t.value.requests;
      const decisions = requests.map((r) => decideAsRoute(r, UI_SCOPES, DEFAULT_GRAPHQL_LIMITS, "POST"));
      const persisted = requests.some((r) => r.persistedQueryHash && r.query);
      expect(decisions.some((d) => !d.ok) || persisted, b.name).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("never throws on garbage", () => {
    for (const q of [
      "{",
      "}",
      "query",
      "mutation {}",
      "\u0000",
      "{ a(b: $) }",
      "{ ...on }",
      "fragment F on Q { a }",
      "#",
      '"""',
      "{ a @ }",
    ]) {
      const d = decide(q);
      expect(d.ok, q).toBe(false);
    }
  });
});

/** Fragments F0..F(n-1) on `on`, each spreading the next twice: 2^n leaves once expanded. */
const fanOut = (n: number, on = "Query", leaf = "id") =>
  Array.from({ length: n }, (_, i) => `fragment F${i} on ${on} { ${i === n - 1 ? leaf : `...F${i + 1} ...F${i + 1}`} }`).join(" ");

/** Selections written in the document (spreads not followed): what a linear walk may visit once each. */
function selectionsIn(doc: DocumentNode): number {
  let n = 0;
  const walk = (set: SelectionSetNode | undefined): void => {
    for (const sel of set?.selections ?? []) {
      n++;
      if (sel.kind !== Kind.FRAGMENT_SPREAD) walk(sel.selectionSet);
    }
  };
  for (const d of doc.definitions) if (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION) walk(d.selectionSet);
  return n;
}

const analyze = (query: string, operationName: string | null = null, limits = DEFAULT_GRAPHQL_LIMITS) =>
  seen(analyzeRequest(req(query, operationName), limits));

describe("GraphQL analysis is linear in the document (issue 17, class 1)", () => {
  it("lets every real Prefect UI operation through, the costliest far under GRAPHQL_MAX_COST", () => {
    const ops = opsText
      .split("\n")
      .filter((l) => l.trim().startsWith("{"))
      .map((l) => JSON.parse(l) as { operationName: string; query: string });
    expect(ops.length).toBe(18);
    let costliest = { name: "", cost: 0 };
    for (const op of ops) {
      const a = analyze(op.query, op.operationName);
      expect(a.ok, op.operationName).toBe(true);
      if (a.ok && a.operation.cost > costliest.cost) costliest = { name: op.operationName, cost: a.operation.cost };
    }
    console.log(
      `costliest real UI operation: ${costliest.name}, ${costliest.cost} fields (GRAPHQL_MAX_COST ${DEFAULT_GRAPHQL_LIMITS.maxCost})`,
    );
    expect(costliest).toEqual({ name: "FlowRuns", cost: 85 }); // recorded in src/constants.ts
    expect(costliest.cost * 10).toBeLessThanOrEqual(DEFAULT_GRAPHQL_LIMITS.maxCost);
  });

  it("refuses the issue's 1.3 KB fan-out (2^26 fields) on its cost, at the root, under tenant and on Mutation", () => {
    for (const query of [
      `query { ...F0 } ${fanOut(27)}`,
      `query { tenant { ...F0 } } ${fanOut(27)}`,
      `mutation { ...F0 } ${fanOut(27, "Mutation", "create_flow_run(input:{}) { id }")}`,
    ]) {
      expect(analyze(query), query.slice(0, 30)).toMatchObject({ ok: false, refusal: { status: 400, code: "LIMIT_EXCEEDED" } });
    }
  });

  it("measures each fragment once: visits bounded by the selections written, cost as expanded and saturating", () => {
    for (const n of [10, 27, 60, 1_000]) {
      const parsed = parseDocument(`query { ...F0 } ${fanOut(n)}`, {
        ...DEFAULT_GRAPHQL_LIMITS,
        maxTokens: 1_000_000,
        maxDocumentBytes: 1_000_000,
      });
      if (!parsed.ok) throw new Error(parsed.reason);
      const selected = selectOperation(parsed.value, null);
      if (!selected.ok) throw new Error(selected.reason);
      const fragments = new Map(
        parsed.value.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
      );
      const m = measureOperation(selected.value, fragments);
      expect(m.ok).toBe(true);
      expect(m.visits).toBeLessThanOrEqual(selectionsIn(parsed.value));
      if (m.ok) expect(m.cost).toBe(Math.min(2 ** (n - 1), Number.MAX_SAFE_INTEGER));
    }
  });

  it("decides every worst shape of bench/graphqlShapes.ts, each fragment walked once", () => {
    const shapes = graphqlShapes();
    expect(shapes.length).toBeGreaterThanOrEqual(20);
    const verdicts: Record<string, string> = {};
    for (const s of shapes) {
      const a = analyze(s.query, s.operationName);
      verdicts[s.name] = a.ok ? "ok" : a.refusal.code;
      const parsed = parseDocument(s.query, DEFAULT_GRAPHQL_LIMITS);
      if (!parsed.ok) continue; // refused by a linear scan before any walk
      const selected = selectOperation(parsed.value, s.operationName);
      if (!selected.ok) continue;
      const fragments = new Map(
        parsed.value.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
      );
      expect(measureOperation(selected.value, fragments).visits, s.name).toBeLessThanOrEqual(selectionsIn(parsed.value));
    }
    expect(verdicts).toMatchObject({
      "fan-out x2, 27 fragments": "LIMIT_EXCEEDED",
      "fan-out x2 under tenant, 27 fragments": "LIMIT_EXCEEDED",
      "fan-out x2, document-sized": "LIMIT_EXCEEDED",
      "dense fragment graph (every fragment spreads all later ones)": "LIMIT_EXCEEDED",
      "fragment chain": "ok",
      "fragment cycle (long)": "BAD_REQUEST",
      "fragment cycle through inline fragment": "BAD_REQUEST",
      "deep fields": "LIMIT_EXCEEDED",
      "deep inline fragments": "LIMIT_EXCEEDED",
      "deep list value": "LIMIT_EXCEEDED",
      "deep but within the nesting limit": "ok",
      "many aliases": "LIMIT_EXCEEDED",
      "many repeated fields (one key)": "LIMIT_EXCEEDED",
      "many directives": "LIMIT_EXCEEDED",
      "too many tokens": "LIMIT_EXCEEDED",
      "many operations, operationName picks the last": "ok",
      "many operations, operationName picks none": "BAD_REQUEST",
    });
  });

  it("answers tenant locally through a fan-out of fragments with each response key resolved once", () => {
    // Past the cost limit the route never gets here; the local answer must be linear on its own all the same.
    const ast = operationAst(req(`query { t: tenant { ...F0 } }  ${fanOut(40, "tenant", "id slug")}`), DEFAULT_GRAPHQL_LIMITS);
    if (!ast) throw new Error("not parsed");
    expect(localAnswer(ast, { id: "tid", name: "Acme", slug: "acme" }, "u")).toEqual({ t: [{ id: "tid", slug: "acme" }] });
  });

  it("refuses fragment cycles wherever they close, and unknown fragments below the root", () => {
    for (const q of [
      "{ ...A } fragment A on Query { ...A }",
      "{ ...A } fragment A on Query { ... on Query { ...A } }",
      "{ ...A } fragment A on Query { flow { ...B } } fragment B on flow { id project { ...A } }",
      "{ flow { id ...Missing } }",
    ]) {
      expect(analyze(q), q).toMatchObject({ ok: false, refusal: { status: 400, code: "BAD_REQUEST" } });
    }
    // A cycle among fragments the executed operation never spreads is the upstream's to refuse.
    expect(analyze("{ flow { id } } fragment A on Query { ...B } fragment B on Query { ...A }").ok).toBe(true);
  });

  it("counts how often each root field runs: one per response key, repeated spreads merged", () => {
    const a = analyze(
      "{ a: flow { id } b: flow { id } flow { id } flow { name } ...F ...F ... { flow { id } } } fragment F on Query { flow { id } c: project { id } }",
    );
    expect(a.ok && a.operation.rootFieldUses).toEqual([
      { name: "flow", responseKeys: 3 },
      { name: "project", responseKeys: 1 },
    ]);
  });
});

describe("locally answered fields never reach the upstream (issue 17, class 2)", () => {
  const op = (query: string): Operation => {
    const a = analyze(query);
    if (!a.ok) throw new Error(a.refusal.message);
    return a.operation;
  };
  const decideAll = (queries: string[], scopes: string[], method: "GET" | "POST" = "POST") => {
    const ops = queries.map(op);
    const local = answeredLocally(ops);
    return { local, decisions: ops.map((o) => seen(decideOperation(o, scopes, method, local))) };
  };

  it("answers a request made only of local roots (and __typename) here, with no scope needed", () => {
    for (const batch of [
      ["{ tenant { id } }", "{ __typename }"],
      ["{ t: tenant { id } auth_info { tenant_id } __typename }"],
      ["{ auth_info { tenant_id } }", "{ tenant { slug } }"],
    ]) {
      const { local, decisions } = decideAll(batch, []);
      expect(local, batch.join()).toBe(true);
      expect(
        decisions.every((d) => d.ok),
        batch.join(),
      ).toBe(true);
    }
    expect(decideAll(["{ tenant { id } }"], [], "GET").decisions[0]!.ok).toBe(true);
  });

  it("refuses local roots mixed with forwarded fields, in one document or a batch, whatever the scopes", () => {
    for (const [batch, scopes] of [
      [["{ tenant { id } }", "{ flow { id } }"], ["query/*"]],
      [["{ auth_info { tenant_id } flow { id } }"], ["query/*"]],
      [["{ ...F } fragment F on Query { tenant { id } flow { id } }"], ["query/*"]],
      [
        ["{ tenant { id } }", "mutation { create_flow_run(input: {}) { id } }"],
        ["query/*", "mutation/*"],
      ],
      [["{ tenant { id } __schema { types { name } } }"], ["query/*"]],
    ] as const) {
      const { local, decisions } = decideAll([...batch], [...scopes]);
      expect(local, batch.join()).toBe(false);
      const refused = decisions.filter((d) => !d.ok);
      expect(refused.length, batch.join()).toBeGreaterThan(0);
      for (const d of refused) {
        expect(d).toMatchObject({ ok: false, refusal: { status: 400, code: "BAD_REQUEST" } });
        if (!d.ok) expect(d.refusal.refusedFields?.every((f) => f === "query/tenant" || f === "query/auth_info")).toBe(true);
      }
    }
  });

  it("goes by real names: an alias named tenant is forwarded and needs its field's scope", () => {
    const aliased = decideAll(["{ tenant: flow { id } }"], ["query/tenant"]);
    expect(aliased.local).toBe(false);
    expect(aliased.decisions[0]).toMatchObject({ ok: false, refusal: { status: 403, refusedFields: ["query/flow"] } });
    expect(decideAll(["{ __typename }"], []).decisions[0]!.ok).toBe(true);
  });

  it("answers local roots to queries only and forwards them in no operation, even to holders of subscription/*", () => {
    for (const q of ["subscription { tenant { id } }", "mutation { ...F } fragment F on Mutation { auth_info { tenant_id } }"]) {
      const { local, decisions } = decideAll([q], ["query/*", "mutation/*", "subscription/*"]);
      expect(local, q).toBe(false);
      expect(decisions[0], q).toMatchObject({ ok: false, refusal: { status: 400, code: "BAD_REQUEST" } });
    }
    expect(decideAll(["{ tenant { id } }", "subscription { tenant { id } }"], ["subscription/*"]).local).toBe(false);
  });
});
