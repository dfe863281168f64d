/**
 * A seventh attacker's pass over issue 25 (attack28), Prefect: what the sixth pass left untried, through the gateway
 * against the executable stand-in (graphql-js over both tenants' rows, ./standin.ts). Each held.
 * - Introspection (`__schema`, `__type`) and root fields the scopes refuse, reached through aliases, inline
 *   fragments, fragment spreads, `@include(if: false)` / `@skip(if: true)` and batch elements: the scope is decided
 *   on the real field name of every selection, directives ignored.
 * - Aliases that collide with the tenant clause's own names (`tenant_id`, `where`, `_and`) or with the response key
 *   a `_by_pk` rewrite takes.
 * - `_or` / `_and` / `_not` nesting around the injected clause, literal and through variables of input-object type.
 * - `distinct_on` and `order_by` on relationships, aggregates through relationships (`nodes` included).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { call, createTestKey, envWith } from "../../helpers";
import { a, b, prefectStandIn, twoTenants, type StandIn } from "./standin";

const STANDIN = "http://prefect-standin.test/graphql";
let A = "";
let B = "";
let standIn: StandIn;
const realFetch = globalThis.fetch;
const env = envWith({ PREFECT_GRAPHQL_URL: STANDIN });
let key = "";
/** A key that may read flows only: no introspection, no other root field, no mutation. */
let flowsOnly = "";

beforeAll(async () => {
  A = "137fe27e-578f-5a00-aa0f-04b8eeec7f83";
  B = "0e50fbc7-22c7-572d-aaef-5edaea5a0b5f";
  key = (await createTestKey({ tenant: "acme", subject: "ann", scopes: ["query/*", "mutation/*"] })).key;
  flowsOnly = (await createTestKey({ tenant: "acme", subject: "ann", scopes: ["query/flow"] })).key;
});
beforeEach(() => {
  standIn = prefectStandIn(twoTenants(A, B));
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (req.url.startsWith(STANDIN)) return standIn.handle(req);
    return realFetch(input as RequestInfo, init);
  });
});
afterEach(() => vi.restoreAllMocks());

const ask = async (json: unknown, apiKey = key) => {
  const res = await call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": apiKey }, json });
  return { status: res.status, text: await res.text() };
};
/** Refused by the gateway: a 1.x-style client reads a refusal from a 200 with a FORBIDDEN error; nothing was sent. */
const refused = (r: { status: number; text: string }) => {
  expect(r.status).toBe(200);
  expect((JSON.parse(r.text) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  expect(standIn.received).toHaveLength(0);
};
/** Nothing of globex's in an answer, whatever its status. */
const noGlobex = (text: string) => {
  expect(text).not.toContain("bbbbbbbb");
  expect(text).not.toContain(B);
  expect(text).not.toContain("globex");
};

describe("scopes through aliases, fragments, directives and batches (attack28: held)", () => {
  const refusedForFlowsOnly = [
    "{ flow { id } s: __schema { queryType { name } } }",
    '{ flow { id } ... on Query { __type(name: "flow") { name } } }',
    "query { flow { id } ...F } fragment F on Query { __schema { types { name } } }",
    "query($no: Boolean = false) { flow { id } __schema @include(if: $no) { queryType { name } } }",
    "{ flow { id } flow_run @skip(if: true) { id } }",
    "{ flow: flow_run { id } }",
    "{ flow { id } ... @include(if: false) { log { message } } }",
  ];
  for (const query of refusedForFlowsOnly) {
    it(`refuses ${query.slice(0, 70)}`, async () => {
      refused(await ask({ query }, flowsOnly));
    });
  }

  it("a batch with one refused element sends nothing", async () => {
    const r = await ask([{ query: "{ flow { id } }" }, { query: "{ __schema { queryType { name } } }" }], flowsOnly);
    expect(r.status).toBe(200);
    expect(r.text).toContain("FORBIDDEN");
    expect(standIn.received).toHaveLength(0);
  });

  it("a mutation hidden in a fragment on Mutation is refused to a read-only key", async () => {
    const r = await ask({ query: 'mutation { ...M } fragment M on Mutation { create_project(input: {name: "x"}) { id } }' }, flowsOnly);
    refused(r);
  });
});

describe("GraphQL shapes around the injected tenant clause (attack28: held)", () => {
  it("aliases named like the clause's own fields change nothing", async () => {
    const r = await ask({
      query: `{ tenant_id: flow(where: {_or: [{tenant_id: {_eq: "${B}"}}, {id: {_is_null: false}}]}) { tenant_id: id where: name }
               _and: flow_run { id } where: log { message } }`,
    });
    expect(r.status).toBe(200);
    noGlobex(r.text);
    expect(r.text).toContain(a(3));
  });

  it("a _by_pk's response key taken by another field cannot turn another tenant's rows into its answer", async () => {
    const r = await ask({ query: `{ flow_run_by_pk: flow_run_by_pk(id: "${b(4)}") { id } x: flow_run_by_pk(id: "${a(4)}") { id } }` });
    noGlobex(r.text);
    const clash = await ask({ query: `{ flow_run_by_pk(id: "${a(4)}") { id } flow_run_by_pk: flow_run { id } }` });
    noGlobex(clash.text);
  });

  it("_or, _and and _not around the clause, literal and in input-object variables", async () => {
    const r = await ask({
      query: `query($o: flow_run_bool_exp!, $n: flow_run_bool_exp!, $f: flow_bool_exp) {
        a: flow_run(where: {_or: [$o, {id: {_is_null: false}}]}) { id }
        b: flow_run(where: {_not: $n}) { id }
        c: flow_run(where: {_and: [{_or: [$o]}, {flow: $f}]}) { id }
        d: flow_run(where: $o) { id flow { id tenant_id } }
        e: flow_run_aggregate(where: {_or: [$o, $n]}) { aggregate { count } nodes { id } } }`,
      variables: {
        o: { _or: [{ tenant_id: { _eq: B } }, { tenant_id: { _neq: B } }] },
        n: { tenant_id: { _eq: A } },
        f: { _or: [{ tenant_id: { _eq: B } }, { _not: { tenant_id: { _eq: A } } }] },
      },
    });
    expect(r.status).toBe(200);
    noGlobex(r.text);
    expect(r.text).toContain(a(4));
  });

  it("a variable's filter that follows a crossing relationship is refused, however deep", async () => {
    for (const o of [{ agent: { tenant_id: { _eq: B } } }, { _or: [{ _and: [{ _not: { agent: { name: { _eq: "globex-agent" } } } }] }] }]) {
      refused(await ask({ query: "query($o: flow_run_bool_exp!) { flow_run(where: {_or: [$o]}) { id } }", variables: { o } }));
    }
  });

  it("distinct_on, order_by and aggregates through relationships", async () => {
    const r = await ask({
      query: `{ project { flows(distinct_on: [tenant_id], order_by: [{flow_group: {name: asc}}]) { id tenant_id }
                          flows_aggregate(distinct_on: [tenant_id]) { aggregate { count(columns: [tenant_id], distinct: true) } nodes { id tenant_id
                            flow_runs_aggregate { aggregate { count } nodes { id task_runs { id } } } } } }
                tenant_id: flow_group { flows(order_by: {flow_runs_aggregate: {count: desc}}) { id } } }`,
    });
    // Whatever the stand-in makes of the ordering (it does not rank), no globex row can come back.
    noGlobex(r.text);
    standIn.received.length = 0;
    refused(await ask({ query: "{ flow_run(order_by: {agent: {name: asc}}) { id } }" }));
    refused(await ask({ query: "{ agent_config { agents(order_by: {flow_runs_aggregate: {count: desc}}) { id } } }" }));
  });
});
