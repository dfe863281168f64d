/**
 * An attacker's pass over Prefect tenant isolation (issue 26): as tenant globex's key, against ONE Prefect upstream
 * (the executing stand-in, ./standin.ts) holding acme's rows too, through the real route. Each case is a way across
 * that ./tenants.test.ts does not try: what Prefect Server's own resolvers do with a field the gateway did not
 * check, and filters that follow relationships the classification says may cross tenants.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, createTestKey, envWith } from "../../helpers";
import { a, b, prefectStandIn, twoTenants, type StandIn } from "./standin";

const STANDIN = "http://prefect-standin.test/graphql";
const SCOPES = ["query/*", "mutation/*"];
const env = envWith({ PREFECT_GRAPHQL_URL: STANDIN });

// The Prefect tenant ids of acme and globex: Python's uuid.uuid5(uuid.UUID(PREFECT_TENANT_NAMESPACE), name).
const A = "137fe27e-578f-5a00-aa0f-04b8eeec7f83";
const B = "0e50fbc7-22c7-572d-aaef-5edaea5a0b5f";
let standIn: StandIn;
const realFetch = globalThis.fetch;

beforeEach(() => {
  standIn = prefectStandIn(twoTenants(A, B));
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (req.url.startsWith(STANDIN)) return standIn.handle(req);
    return realFetch(input as RequestInfo, init);
  });
});
afterEach(() => vi.restoreAllMocks());

let globexKey: string | null = null;
interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}
async function asGlobex(json: unknown): Promise<{ status: number; body: Answer }> {
  globexKey ??= (await createTestKey({ tenant: "globex", subject: "gus", scopes: SCOPES })).key;
  const res = await call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": globexKey }, json });
  return { status: res.status, body: (await res.json()) as Answer };
}
const refused = (r: { body: Answer }, named: string, what: string) => {
  expect(r.body.errors?.[0]?.extensions?.code, what).toBe("FORBIDDEN");
  expect(r.body.errors?.[0]?.message, what).toContain(named);
  expect(r.body.data ?? null, what).toBeNull();
};

describe("globex registering a flow into acme's version group", () => {
  // graphql/flows.py resolve_create_flow archives every other unarchived flow of the given version group, whatever
  // its tenant; api/flows.py create_flow's idempotency path answers that group's newest flow, whatever its tenant.
  it("is refused, and acme's flow stays unarchived", async () => {
    for (const [field, flow] of [
      ["create_flow", "{}"],
      ["create_flow_from_compressed_string", '"x"'],
    ] as const) {
      const literal = `mutation { ${field}(input: {project_id: "${b(1)}", serialized_flow: ${flow}, version_group_id: "vg-acme"}) { id } }`;
      refused(await asGlobex({ query: literal }), "no flow vg-acme in your tenant", field);
      const viaVariable = {
        query: `mutation($i: ${field}_input!) { ${field}(input: $i) { id } }`,
        variables: { i: { project_id: b(1), serialized_flow: field === "create_flow" ? {} : "x", version_group_id: "vg-acme" } },
      };
      refused(await asGlobex(viaVariable), "no flow vg-acme in your tenant", `${field} by variable`);
    }
    expect(standIn.rows.flow!.find((f) => f.id === a(3))!.archived).toBe(false);
    expect(standIn.rows.flow!.filter((f) => f.tenant_id === B)).toHaveLength(1);
  });

  it("is refused when the pre-read is answered with an error status, whatever its body holds", async () => {
    // The ids' pre-read answered 503 with a body that leaves acme's flow out of the version group: an error
    // status is not Prefect's answer to the gateway's question, so the group is not taken as new.
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      if (!req.url.startsWith(STANDIN)) return realFetch(input as RequestInfo, init);
      const text = await req.clone().text();
      if (!(JSON.parse(text) as { query: string }).query.startsWith("{\n  t0:")) return standIn.handle(req);
      const answer = (await (await standIn.handle(req)).json()) as { data: Record<string, Record<string, unknown>[]> };
      for (const k of Object.keys(answer.data)) answer.data[k] = answer.data[k]!.filter((row) => !("version_group_id" in row));
      return new Response(JSON.stringify(answer), { status: 503, headers: { "content-type": "application/json" } });
    });
    const r = await asGlobex({
      query: `mutation { create_flow(input: {project_id: "${b(1)}", serialized_flow: {}, version_group_id: "vg-acme"}) { id } }`,
    });
    expect(r.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(r.body.data ?? null).toBeNull();
    expect(standIn.rows.flow!.find((f) => f.id === a(3))!.archived).toBe(false);
    expect(standIn.received.filter((q) => q.query.startsWith("mutation"))).toEqual([]);
  });

  it("still lets globex register into its own group or a new one", async () => {
    for (const group of ["vg-globex", "vg-brand-new"]) {
      const r = await asGlobex({
        query: `mutation { create_flow(input: {project_id: "${b(1)}", serialized_flow: {}, version_group_id: "${group}"}) { id } }`,
      });
      expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
    }
    const noGroup = await asGlobex({ query: `mutation { create_flow(input: {project_id: "${b(1)}", serialized_flow: {}}) { id } }` });
    expect(noGroup.body.errors).toBeUndefined();
    expect(standIn.rows.flow!.find((f) => f.id === b(3))!.archived).toBe(true); // its own older version
    expect(standIn.rows.flow!.find((f) => f.id === a(3))!.archived).toBe(false);
  });
});

describe("globex filtering by a relationship that may reach acme's rows", () => {
  // flow_run.agent_id is set by the agent's own calls: nothing makes an agent's runs its tenant's (./tenancy.ts
  // refuses flow_run.agent for that reason). An acme run submitted by globex's agent:
  beforeEach(() => {
    standIn.rows.flow_run!.push({ id: a(40), tenant_id: A, flow_id: a(3), name: "acme-secret-run", state: "Running", agent_id: b(8) });
  });

  it("has the stand-in answer such a filter across tenants (the oracle the gateway must not open)", async () => {
    const { data } = (await standIn
      .handle(
        new Request(STANDIN, {
          method: "POST",
          body: JSON.stringify({ query: '{ agent(where: {flow_runs: {name: {_eq: "acme-secret-run"}}}) { id } }' }),
        }),
      )
      .then((r) => r.json())) as { data: { agent: { id: string }[] } };
    expect(data.agent).toEqual([{ id: b(8) }]);
  });

  it("is refused, literal or through a variable, in where and in order_by", async () => {
    const cases: [string, unknown][] = [
      ["literal where", { query: '{ agent(where: {flow_runs: {name: {_eq: "acme-secret-run"}}}) { id } }' }],
      ["count", { query: '{ agent_aggregate(where: {flow_runs: {name: {_like: "acme%"}}}) { aggregate { count } } }' }],
      [
        "where variable",
        {
          query: "query($w: agent_bool_exp) { agent(where: $w) { id } }",
          variables: { w: { _not: { flow_runs: { name: { _eq: "acme-secret-run" } } } } },
        },
      ],
      ["nested, from a same-tenant object", { query: '{ agent_config(where: {agents: {flow_runs: {name: {_eq: "x"}}}}) { id } }' }],
      ["agent_config.agents", { query: '{ agent_config(where: {agents: {name: {_eq: "acme-agent"}}}) { id } }' }],
      ["order_by an aggregate", { query: "{ agent(order_by: {flow_runs_aggregate: {count: desc}}) { id } }" }],
    ];
    for (const [what, json] of cases) {
      const r = await asGlobex(json);
      expect(r.body.errors?.[0]?.extensions?.code, what).toBe("FORBIDDEN");
      expect(r.body.errors?.[0]?.message, what).toMatch(/agent\.flow_runs|agent_config\.agents/);
    }
    expect(standIn.received).toEqual([]);
  });

  it("still lets globex list its agents with their (filtered) runs", async () => {
    const r = await asGlobex({ query: "{ agent { id flow_runs { id name } } }" });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data).toEqual({ agent: [{ id: b(8), flow_runs: [{ id: b(4), name: "globex-run" }] }] });
  });
});

describe("what held on the attacker's pass (kept as regressions)", () => {
  it("keeps acme's rows and ids out of globex's reads and writes", async () => {
    const empty: [string, unknown][] = [
      ["an alias named like a _by_pk", { query: `{ flow_run_by_pk: flow_run(where: {tenant_id: {_eq: "${A}"}}) { id } }` }],
      ["_by_pk with acme's id in upper case", { query: `{ flow_by_pk(id: "${a(3).toUpperCase()}") { id } }` }],
      ["a filter through the tenant relationship", { query: `{ flow(where: {tenant: {id: {_eq: "${A}"}}}) { id } }` }],
      ["_not of the tenant", { query: `{ log(where: {_not: {tenant_id: {_eq: "${B}"}}}) { id message } }` }],
      [
        "a where variable with a default, sent as a JSON string",
        { query: "query($w: flow_run_bool_exp = {}) { flow_run(where: $w) { id } }", variables: `{"w": {"tenant_id": {"_eq": "${A}"}}}` },
      ],
    ];
    for (const [what, json] of empty) {
      const r = await asGlobex(json);
      expect(r.body.errors, what).toBeUndefined();
      expect(JSON.stringify(r.body.data), what).not.toMatch(/aaaaaaaa|acme/);
    }
    const writes: [string, unknown][] = [
      [
        "states as one object, not a list",
        { query: `mutation { set_flow_run_states(input: {states: {flow_run_id: "${a(4)}", state: {type: "Failed"}}}) { states { id } } }` },
      ],
      [
        "a log as one object naming acme's task run",
        { query: `mutation { write_run_logs(input: {logs: {flow_run_id: "${b(4)}", task_run_id: "${a(6)}", message: "x"}}) { success } }` },
      ],
      [
        "duplicate keys in a variables string (the last is what is read and sent)",
        {
          query: "mutation($i: delete_flow_input!) { delete_flow(input: $i) { success } }",
          variables: `{"i": {"flow_id": "${b(3)}", "flow_id": "${a(3)}"}}`,
        },
      ],
      ["skipped, still checked", { query: `mutation { x: delete_flow(input: {flow_id: "${a(3)}"}) @skip(if: true) { success } }` }],
      ["an id in upper case", { query: `mutation { cancel_flow_run(input: {flow_run_id: "${a(4).toUpperCase()}"}) { state } }` }],
    ];
    for (const [what, json] of writes) refused(await asGlobex(json), "in your tenant", what);
    expect(standIn.rows.flow!.find((f) => f.id === a(3))).toBeDefined();
    expect(standIn.rows.flow_run!.find((r) => r.id === a(4))!.state).toBe("Running");
  });
});

describe("a second attacker's pass", () => {
  // Only the executed operation is printed: a fragment spread the tenant rewrite does not walk into (an Apollo
  // payload, introspection) must be inlined too, or Prefect answers "Unknown fragment" to a valid request.
  it("inlines fragments inside Apollo payloads and introspection (low: valid requests failed upstream)", async () => {
    const cases: [string, unknown, (d: Record<string, unknown>) => void][] = [
      [
        "a mutation's payload through a fragment",
        { query: `mutation { create_project(input: {name: "frag"}) { ...P } } fragment P on project_id_payload { id }` },
        (d) => expect((d.create_project as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/),
      ],
      [
        "a mutation's payload through a fragment, the input in a variable",
        {
          query: "mutation($i: create_project_input!) { create_project(input: $i) { ...P } } fragment P on project_id_payload { id }",
          variables: { i: { name: "frag2", tenant_id: A } },
        },
        (d) => expect((d.create_project as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/),
      ],
      [
        "a run's cancellation through a nested fragment",
        {
          query: `mutation { cancel_flow_run(input: {flow_run_id: "${b(4)}"}) { ...C } } fragment C on cancel_flow_run_payload { ... on cancel_flow_run_payload { state } }`,
        },
        (d) => expect(d.cancel_flow_run).toEqual({ state: "Cancelled" }),
      ],
      [
        "introspection through fragments",
        { query: `{ __type(name: "flow") { ...T } } fragment T on __Type { name fields { ...F } } fragment F on __Field { name }` },
        (d) => expect((d.__type as { name: string }).name).toBe("flow"),
      ],
    ];
    for (const [what, json, check] of cases) {
      const r = await asGlobex(json);
      expect(r.body.errors, what).toBeUndefined();
      check(r.body.data ?? {});
    }
    // Created in globex's tenant, whatever the variable said.
    expect(standIn.rows.project!.filter((p) => String(p.name).startsWith("frag")).map((p) => p.tenant_id)).toEqual([B, B]);
  });
});

describe("what held on the second attacker's pass (kept as regressions)", () => {
  let acmeKey: string | null = null;
  const asAcme = async (json: unknown) => {
    acmeKey ??= (await createTestKey({ tenant: "acme", subject: "ann", scopes: SCOPES })).key;
    const res = await call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": acmeKey }, json });
    return (await res.json()) as Answer;
  };

  it("limits subscriptions, introspection and the operation operationName picks like any query", async () => {
    const r = await asGlobex({ query: `query A { flow { name } } query B { log { message } }`, operationName: "B" });
    expect(r.body.data).toEqual({ log: [{ message: "globex secret log" }] });
    const sent = standIn.received.at(-1)!;
    expect(sent.query).not.toContain("query A");
    expect(sent.operationName).toBe("B");
    // Prefect's Apollo has no subscription transport; what reaches it is limited to the tenant all the same.
    await asGlobex({ query: `subscription { flow_by_pk(id: "${a(3)}") { id name } }` });
    expect(standIn.received.at(-1)!.query).toContain(`tenant_id: {_eq: "${B}"}`);
    const intro = await asGlobex({ query: `{ __schema { queryType { name } } __type(name: "tenant") { name } }` });
    expect(JSON.stringify(intro.body.data)).not.toMatch(/acme|aaaaaaaa/);
  });

  it("keeps an id's tenant in the cache, whichever tenant named it first", async () => {
    // acme's own heartbeat caches its run's tenant; globex naming that run is then refused without a pre-read.
    const beat = { query: `mutation { update_flow_run_heartbeat(input: {flow_run_id: "${a(4)}"}) { success } }` };
    expect((await asAcme(beat)).errors).toBeUndefined();
    const before = standIn.received.length;
    refused(await asGlobex(beat), "in your tenant", "a cached id of acme's");
    expect(standIn.received.length).toBe(before);
  });

  it("refuses acme's ids in any position a write carries them", async () => {
    const writes: [string, string][] = [
      [
        "a second state naming acme's run",
        `set_flow_run_states(input: {states: [{flow_run_id: "${b(4)}", state: {type: "Failed"}}, {flow_run_id: "${a(4)}", state: {type: "Failed"}}]}) { states { id } }`,
      ],
      [
        "acme's task run in a task state",
        `set_task_run_states(input: {states: [{task_run_id: "${a(6)}", state: {type: "Failed"}}]}) { states { id } }`,
      ],
      ["globex's run with acme's task", `get_or_create_task_run(input: {flow_run_id: "${b(4)}", task_id: "${a(5)}"}) { id }`],
      ["acme's run with globex's task", `get_or_create_task_run_info(input: {flow_run_id: "${a(4)}", task_id: "${b(5)}"}) { id }`],
      ["a task run heartbeat", `update_task_run_heartbeat(input: {task_run_id: "${a(6)}"}) { success }`],
      ["acme's agent", `delete_agent(input: {agent_id: "${a(8)}"}) { success }`],
      ["an artifact on acme's task run", `create_task_run_artifact(input: {task_run_id: "${a(6)}", kind: "link", data: {}}) { id }`],
      ["acme's flow group labels", `set_flow_group_labels(input: {flow_group_id: "${a(2)}", labels: ["x"]}) { success }`],
      ["acme's flow into globex's project", `update_flow_project(input: {flow_id: "${a(3)}", project_id: "${b(1)}"}) { id }`],
      ["globex's flow into acme's project", `update_flow_project(input: {flow_id: "${b(3)}", project_id: "${a(1)}"}) { id }`],
      ["acme's schedule", `set_schedule_active(input: {flow_id: "${a(3)}"}) { success }`],
      [
        "a run of acme's group with globex's idempotency key",
        `create_flow_run(input: {version_group_id: "vg-acme", idempotency_key: "k"}) { id }`,
      ],

      ["acme's id in braces", `delete_flow(input: {flow_id: "{${a(3)}}"}) { success }`],
      ["acme's id without hyphens", `delete_flow(input: {flow_id: "${a(3).replace(/-/g, "")}"}) { success }`],
    ];
    for (const [what, field] of writes) {
      const r = await asGlobex({ query: `mutation { ${field} }` });
      expect(r.body.errors?.[0]?.extensions?.code, what).toBe("FORBIDDEN");
      expect(r.body.data ?? null, what).toBeNull();
    }
    expect(standIn.received.filter((s) => s.query.startsWith("mutation"))).toEqual([]);
  });
});
