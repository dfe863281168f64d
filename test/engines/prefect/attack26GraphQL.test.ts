/**
 * A fifth attacker's pass over issue 25 (attack26), Prefect: GraphQL tricks tenants.test.ts does not use, against
 * the executable stand-in (graphql-js over both tenants' rows, ./standin.ts). Each held.
 * - A variable named `__proto__` (a valid GraphQL name): were the gateway's re-encoded variables a plain object,
 *   `out["__proto__"] = <patched where>` would set its prototype, JSON.stringify would drop it, and graphql-js would
 *   run the declared default, unpatched. `bindForward` builds them on null-prototype objects.
 * - One where variable used at the root and inside another table's relationship filter, and under `_not`.
 * - A fragment defined in one element of a batch and spread in another (each element is its own document).
 * - Variables coerced by type: one id where the schema takes a list, a list where it takes one.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { call, createTestKey, envWith } from "../../helpers";
import { b, prefectStandIn, twoTenants, type StandIn } from "./standin";

const STANDIN = "http://prefect-standin.test/graphql";
let A = "";
let B = "";
let standIn: StandIn;
const realFetch = globalThis.fetch;
const env = envWith({ PREFECT_GRAPHQL_URL: STANDIN });
let key = "";

beforeAll(async () => {
  // Python's uuid.uuid5(uuid.UUID(PREFECT_TENANT_NAMESPACE), name) for acme and globex.
  A = "137fe27e-578f-5a00-aa0f-04b8eeec7f83";
  B = "0e50fbc7-22c7-572d-aaef-5edaea5a0b5f";
  key = (await createTestKey({ tenant: "acme", subject: "ann", scopes: ["query/*", "mutation/*"] })).key;
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

const ask = async (json: unknown) => {
  const res = await call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": key }, json });
  return { status: res.status, text: await res.text() };
};
/** Nothing of globex's in an answer, whatever its status. */
const noGlobex = (text: string) => {
  expect(text).not.toContain("bbbbbbbb");
  expect(text).not.toContain(B);
  expect(text).not.toContain("globex");
};

describe("GraphQL tricks against the tenant clause (attack26: held)", () => {
  it("a where variable named __proto__, with a default naming everything, is patched like any other", async () => {
    const r = await ask({ query: 'query($__proto__: flow_bool_exp = {name: {_ilike: "%"}}) { flow(where: $__proto__) { id name } }' });
    noGlobex(r.text);
    const sent = ask({
      query: "query($constructor: flow_run_bool_exp) { flow_run(where: $constructor) { id } }",
      variables: { constructor: { id: { _eq: b(4) } } },
    });
    noGlobex((await sent).text);
  });

  it("one where variable at the root, in a relationship filter and under _not", async () => {
    const r = await ask({
      query: `query($w: flow_bool_exp) { flow(where: $w) { id } flow_run(where: {flow: $w}) { id }
              project { flows(where: {_not: $w}) { id } } }`,
      variables: { w: { tenant_id: { _eq: B } } },
    });
    noGlobex(r.text);
  });

  it("a fragment defined in one element of a batch and spread in another is not found", async () => {
    const r = await ask([{ query: "query A { ...F }" }, { query: "query B { flow { id } } fragment F on Query { flow_run { id } }" }]);
    expect(r.status).toBeGreaterThanOrEqual(400);
    noGlobex(r.text);
  });

  it("ids coerced by type: a single id for a list, a list for a single id", async () => {
    const one = await ask({ query: "query($ids: [uuid!]) { flow_run(where: {id: {_in: $ids}}) { id } }", variables: { ids: b(4) } });
    noGlobex(one.text);
    const many = await ask({ query: "query($id: uuid!) { flow_run_by_pk(id: $id) { id } }", variables: { id: [b(4)] } });
    noGlobex(many.text);
  });
});
