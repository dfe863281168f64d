import { describe, expect, it } from "vitest";
import { DEFAULT_GRAPHQL_LIMITS } from "../../../src/constants";
import { decideRequest, type GraphQLRequest } from "../../../src/engines/prefect/policy";
import { readTransport } from "../../../src/engines/prefect/transport";
import { BYPASSES } from "./bypass";

const UI_SCOPES = ["query/*", "mutation/create_flow_run", "mutation/cancel_flow_run", "mutation/set_flow_run_states"];
const req = (query: string, operationName: string | null = null): GraphQLRequest => ({ query, operationName, persistedQueryHash: null });
const decide = (query: string, scopes = UI_SCOPES, operationName: string | null = null, method: "GET" | "POST" = "POST") =>
  decideRequest(req(query, operationName), scopes, DEFAULT_GRAPHQL_LIMITS, method);

describe("authorizeGraphQL decisions (pure)", () => {
  it("collects root fields through aliases, inline fragments and spreads, by real name", () => {
    const d = decide(`mutation { a: create_flow_run(input:{}) { id } ... on Mutation { cancel_flow_run(input:{}) { state } } ...F } fragment F on Mutation { set_flow_run_states(input:{}) { states { id } } }`);
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
    expect(decide("mutation { create_flow_run(input:{}) { id } }", UI_SCOPES, null, "GET")).toMatchObject({ ok: false, refusal: { status: 405 } });
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
      if ("refusal" in t) {
        checked++;
        continue;
      }
      const requests = t.transport.kind === "single" ? [t.transport.request] : t.transport.requests;
      const decisions = requests.map((r) => decideRequest(r, UI_SCOPES, DEFAULT_GRAPHQL_LIMITS, "POST"));
      const persisted = requests.some((r) => r.persistedQueryHash && r.query);
      expect(decisions.some((d) => !d.ok) || persisted, b.name).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("never throws on garbage", () => {
    for (const q of ["{", "}", "query", "mutation {}", "\u0000", "{ a(b: $) }", "{ ...on }", "fragment F on Q { a }", "#", "\"\"\"", "{ a @ }"]) {
      const d = decide(q);
      expect(d.ok, q).toBe(false);
    }
  });
});
