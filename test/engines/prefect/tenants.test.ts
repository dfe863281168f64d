/**
 * Two flowgate tenants (acme, globex) on ONE Prefect Server: neither can read, count, change, delete or run what is
 * the other's, through any root field, alias, fragment, variable, batch, GET or persisted query (issue 26).
 *
 * The upstream is an executable stand-in (./standin.ts: graphql-js over both tenants' rows, a schema built from
 * Prefect Server's metadata and SDL, filtering nothing by tenant like Prefect Server itself), served to the real
 * route by answering the Worker's outbound `fetch` for its URL. So every document the gateway sends is validated
 * against that schema and executed, and the answers are checked against which tenant owns each row.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, createTestKey, envWith } from "../../helpers";
import opsText from "../../fixtures/prefect/postman_ops_extracted.jsonl?raw";
import { a, b, prefectStandIn, twoTenants, type StandIn } from "./standin";

const STANDIN = "http://prefect-standin.test/graphql";
const SCOPES = ["query/*", "mutation/*"];

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

const env = envWith({ PREFECT_GRAPHQL_URL: STANDIN });
const singleTenantEnv = envWith({ PREFECT_GRAPHQL_URL: STANDIN, TENANT_ID: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12" });

let keys: { acme: string; globex: string } | null = null;
async function keyOf(tenant: "acme" | "globex"): Promise<string> {
  keys ??= {
    acme: (await createTestKey({ tenant: "acme", subject: "ann", scopes: SCOPES })).key,
    globex: (await createTestKey({ tenant: "globex", subject: "gus", scopes: SCOPES })).key,
  };
  return keys[tenant];
}

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function ask(tenant: "acme" | "globex", json: unknown, e = env): Promise<{ status: number; body: Answer & Answer[] }> {
  const res = await call("/prefect/graphql", { method: "POST", env: e, headers: { "x-api-key": await keyOf(tenant) }, json });
  return { status: res.status, body: (await res.json()) as Answer & Answer[] };
}

/** Every uuid in an answer. */
function idsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string" && /^[0-9a-f]{8}-/.test(v)) out.push(v);
  else if (Array.isArray(v)) for (const x of v) idsIn(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) idsIn(x, out);
  return out;
}
/** Whether an answer holds only acme's rows (and at least one). */
const onlyAcme = (v: unknown) => {
  const ids = idsIn(v);
  expect(ids.length).toBeGreaterThan(0);
  expect(ids.filter((i) => i.startsWith("bbbbbbbb") || i === B)).toEqual([]);
};
const okData = (r: { status: number; body: Answer }) => {
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  expect(r.status).toBe(200);
  return r.body.data!;
};

describe("Prefect tenants on one server (multi-tenant mode: TENANT_ID unset)", () => {
  it("lists, counts and follows relationships within the caller's tenant only", async () => {
    const data = okData(
      await ask("acme", {
        query: `{ flow { id tenant_id project { id name } flow_runs { id logs { id message } } }
                  flow_run_aggregate { aggregate { count } nodes { id } }
                  project { id flows_aggregate { aggregate { count } } flows { id } }
                  log { id message } task_run { id flow_run { id } task { id } } }`,
      }),
    );
    onlyAcme(data);
    expect((data.flow_run_aggregate as { aggregate: { count: number } }).aggregate.count).toBe(1);
    expect(JSON.stringify(data)).not.toContain("globex");
  });

  it("through aliases, inline and named fragments, and @include", async () => {
    const data = okData(
      await ask("acme", {
        query: `query Q($yes: Boolean = true) { x: flow { ...F } ... on Query { y: flow_run { id } } ...R @include(if: $yes) }
                fragment F on flow { id name } fragment R on Query { z: log { id message } }`,
      }),
    );
    onlyAcme(data);
    expect(Object.keys(data).sort()).toEqual(["x", "y", "z"]);
  });

  it("ANDs the tenant into a where given literally or through a variable (even one naming the other tenant)", async () => {
    const lit = okData(await ask("acme", { query: `{ flow(where: {_or: [{tenant_id: {_eq: "${B}"}}, {name: {_ilike: "%"}}]}) { id } }` }));
    onlyAcme(lit);
    const v = okData(
      await ask("acme", {
        query: "query($w: flow_run_bool_exp) { flow_run(where: $w) { id } }",
        variables: { w: { _or: [{ tenant_id: { _eq: B } }, { id: { _eq: b(4) } }, { state: { _eq: "Running" } }] } },
      }),
    );
    onlyAcme(v);
    const theirs = okData(
      await ask("acme", { query: "query($w: log_bool_exp) { log(where: $w) { id } }", variables: { w: { id: { _eq: b(7) } } } }),
    );
    expect(theirs).toEqual({ log: [] });
    // A where variable left out still gets the tenant, and so does one whose default names the other tenant.
    onlyAcme(okData(await ask("acme", { query: "query($w: flow_bool_exp) { flow(where: $w) { id } }" })));
    const byDefault = `query($w: flow_bool_exp = {tenant_id: {_eq: "${B}"}}) { flow(where: $w) { id } }`;
    expect(okData(await ask("acme", { query: byDefault }))).toEqual({ flow: [] });
  });

  it("answers _by_pk for the caller's rows only, in the _by_pk shape", async () => {
    const mine = okData(await ask("acme", { query: `query($id: uuid!) { flow_run_by_pk(id: $id) { id name } }`, variables: { id: a(4) } }));
    expect(mine).toEqual({ flow_run_by_pk: { id: a(4), name: "acme-run" } });
    const theirs = okData(await ask("acme", { query: `{ r: flow_run_by_pk(id: "${b(4)}") { id name } }` }));
    expect(theirs).toEqual({ r: null });
  });

  it("in a batch, a GET and a persisted query alike", async () => {
    const batch = await ask("acme", [{ query: "{ flow { id } }" }, { query: "{ log { id message } }" }]);
    expect(batch.status).toBe(200);
    for (const e of batch.body) onlyAcme(e.data);
    const get = await call(`/prefect/graphql?query=${encodeURIComponent("{ flow_run { id name } }")}`, {
      env,
      headers: { "x-api-key": await keyOf("acme") },
    });
    onlyAcme(okData({ status: get.status, body: (await get.json()) as Answer }));
    const text = "{ project { id name } }";
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
      .map((x) => x.toString(16).padStart(2, "0"))
      .join("");
    const persisted = await ask("acme", { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    onlyAcme(okData(persisted));
  });

  it("refuses, naming it, whatever is not known to be tenant-safe (deny by default)", async () => {
    for (const [query, named] of [
      ["{ utility_traversal { task_id } }", "query/utility_traversal"],
      ["{ flow_run { agent { id } } }", "flow_run.agent"],
      ["{ flow(foo: 1) { id } }", "argument foo"],
      ['mutation { insert_flow(objects: {name: "x"}) { affected_rows } }', "mutation/insert_flow"],
      ['mutation { update_tenant_name(input: {tenant_id: "x", name: "y"}) { id } }', "mutation/update_tenant_name"],
      ["{ flow { id mystery { id } } }", "flow.mystery"],
      ["{ flow { ... on flow_run { id } } }", "a fragment on flow_run"],
      ['{ flow_run(where: {agent: {name: {_eq: "globex-agent"}}}) { id } }', "flow_run.agent"],
      ["query($w: flow_run_bool_exp) { flow_run(where: {_or: [$w]}) { id } }", "flow_run.agent"],
      ["{ flow_run(order_by: {agent: {name: asc}}) { id } }", "flow_run.agent"],
    ] as const) {
      const r = await ask("acme", { query, variables: { w: { agent: { name: { _eq: "globex-agent" } } } } });
      expect(r.status, query).toBe(200); // a 1.x-style client (application/json) reads refusals from a 200
      expect(r.body.errors?.[0]?.extensions?.code, query).toBe("FORBIDDEN");
      expect(r.body.errors?.[0]?.message, query).toContain(named);
    }
    expect(standIn.received).toEqual([]);
  });

  it("runs the Prefect UI's real operations, each seeing only its tenant", async () => {
    const ops = opsText
      .split("\n")
      .filter((l) => l.trim().startsWith("{"))
      .map((l) => JSON.parse(l) as { operationName: string; query: string; variables: Record<string, unknown> });
    const ids: Record<string, Record<string, string>> = {
      CreateFlowRun: { id: a(3) },
      Flow: { id: a(2) },
      TableFlowRuns: { flow_group_id: a(2) },
      TableFlowRunsCount: { flow_group_id: a(2) },
      FlowRuns: {},
      FlowRun: { id: a(4) },
      CancelFlowRun: { flowRunId: a(4) },
    };
    for (const op of ops) {
      const variables = { ...op.variables, ...(ids[op.operationName] ?? {}) };
      if (op.operationName === "FlowRuns" && "flow_group_id" in variables) variables.flow_group_id = a(2);
      const r = await ask("acme", { ...op, variables });
      const data = okData(r);
      expect(JSON.stringify(data), op.operationName).not.toContain("bbbbbbbb");
      expect(JSON.stringify(data), op.operationName).not.toContain("globex");
    }
    // What the UI lists (projects, flows, agents) is acme's, and there is some.
    onlyAcme(
      okData(
        await ask(
          "acme",
          ops.find((o) => o.operationName === "Projects"),
        ),
      ),
    );
    onlyAcme(
      okData(
        await ask(
          "acme",
          ops.find((o) => o.operationName === "Agents"),
        ),
      ),
    );
    onlyAcme(okData(await ask("acme", { ...ops.find((o) => o.operationName === "FlowRun")!, variables: { id: a(4) } })));
    // And globex, on the same server, sees its own.
    const theirs = okData(
      await ask(
        "globex",
        ops.find((o) => o.operationName === "Projects"),
      ),
    );
    expect(idsIn(theirs)).toEqual([b(1), B]);
    expect(okData(await ask("globex", { ...ops.find((o) => o.operationName === "FlowRun")!, variables: { id: a(4) } }))).toEqual({
      flow_run_by_pk: null,
    });
  });
});

describe("Prefect writes checked against their target's tenant", () => {
  const refusedHere = (r: { status: number; body: Answer }, what: string) => {
    expect(r.body.errors?.[0]?.extensions?.code, what).toBe("FORBIDDEN");
    expect(r.body.data ?? null, what).toBeNull();
  };

  it("refuses changing, deleting or running the other tenant's objects, and nothing changes", async () => {
    const attempts: [string, unknown][] = [
      ["delete_flow", { query: `mutation { delete_flow(input: {flow_id: "${b(3)}"}) { success } }` }],
      [
        "delete_flow by variable",
        { query: "mutation($i: delete_flow_input!) { delete_flow(input: $i) { success } }", variables: { i: { flow_id: b(3) } } },
      ],
      [
        "cancel_flow_run",
        { query: "mutation($id: UUID!) { cancel_flow_run(input: {flow_run_id: $id}) { state } }", variables: { id: b(4) } },
      ],
      ["create_flow_run", { query: `mutation { create_flow_run(input: {flow_id: "${b(3)}"}) { id } }` }],
      ["create_flow_run by version group", { query: 'mutation { create_flow_run(input: {version_group_id: "vg-globex"}) { id } }' }],
      // Version groups are strings Postgres compares exactly: acme's "vg-acme" does not vouch for globex's "VG-ACME".
      [
        "create_flow_run by a version group in another case",
        { query: 'mutation { create_flow_run(input: {version_group_id: "VG-ACME"}) { id } }' },
      ],
      [
        "set_flow_run_states, one of two",
        {
          query: "mutation($s: [set_flow_run_state_input!]!) { set_flow_run_states(input: {states: $s}) { states { id } } }",
          variables: {
            s: [
              { flow_run_id: a(4), state: { type: "Failed" } },
              { flow_run_id: b(4), state: { type: "Failed" } },
            ],
          },
        },
      ],
      ["write_run_logs", { query: `mutation { write_run_logs(input: {logs: [{flow_run_id: "${b(4)}", message: "x"}]}) { success } }` }],
      ["delete_project", { query: `mutation { delete_project(input: {project_id: "${b(1)}"}) { success } }` }],
      ["an id in a variable's default", { query: `mutation($id: UUID! = "${b(3)}") { delete_flow(input: {flow_id: $id}) { success } }` }],
      [
        "an input in a variable's default",
        { query: `mutation($i: delete_flow_input! = {flow_id: "${b(3)}"}) { delete_flow(input: $i) { success } }` },
      ],
      ["mapped_children of another tenant's task run", { query: `{ mapped_children(task_run_id: "${b(6)}") { state_counts } }` }],
      [
        "get_task_run_info by variable",
        { query: "query($t: UUID!) { get_task_run_info(task_run_id: $t) { id state } }", variables: { t: b(6) } },
      ],
      ["an id that does not exist", { query: `mutation { delete_flow(input: {flow_id: "${a(99)}"}) { success } }` }],
      [
        "aliased, beside an allowed one",
        {
          query: `mutation { ok: cancel_flow_run(input: {flow_run_id: "${a(4)}"}) { state } x: delete_flow(input: {flow_id: "${b(3)}"}) { success } }`,
        },
      ],
    ];
    standIn.rows.flow!.push({
      id: b(30),
      tenant_id: B,
      project_id: b(1),
      version_group_id: "VG-ACME",
      name: "globex-upper",
      archived: false,
    });
    for (const [what, json] of attempts) refusedHere(await ask("acme", json), what);
    // Nothing of globex's changed, and only pre-reads reached the server.
    expect(standIn.rows.flow!.filter((f) => f.tenant_id === B)).toHaveLength(2);
    expect(standIn.rows.flow_run!.filter((r) => r.tenant_id === B)).toHaveLength(1);
    expect(standIn.rows.flow_run!.find((r) => r.id === b(4))!.state).toBe("Running");
    expect(standIn.rows.flow_run!.find((r) => r.id === a(4))!.state).toBe("Running");
    expect(standIn.rows.log!.filter((l) => l.tenant_id === B)).toHaveLength(1);
    expect(standIn.received.every((r) => r.query.startsWith("{") && r.query.includes("tenant_id"))).toBe(true);
  });

  it("refuses a batch whole when one element names the other tenant's id, one error per element", async () => {
    const r = await ask("acme", [
      { query: `mutation { cancel_flow_run(input: {flow_run_id: "${a(4)}"}) { state } }` },
      { query: `mutation { delete_flow(input: {flow_id: "${b(3)}"}) { success } }` },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.map((e) => e.errors?.[0]?.extensions?.code)).toEqual(["BATCH_REFUSED", "FORBIDDEN"]);
    expect(r.body[1]!.errors![0]!.message).toContain(`no flow ${b(3)} in your tenant`);
    expect(standIn.rows.flow_run!.find((x) => x.id === a(4))!.state).toBe("Running");
    expect(standIn.rows.flow!.filter((f) => f.tenant_id === B)).toHaveLength(1);
  });

  it("lets the caller's own writes through, with one pre-read per request, cached by id", async () => {
    // An id no earlier test named (the isolate keeps ids' tenants briefly).
    const heartbeat = { query: `mutation { update_task_run_heartbeat(input: {task_run_id: "${a(6)}"}) { success } }` };
    okData(await ask("acme", heartbeat));
    expect(standIn.received.map((r) => r.query.split("(")[0]!.trim())).toEqual([
      "{\n  t0: task_run",
      "mutation {\n  update_task_run_heartbeat",
    ]);
    okData(await ask("acme", heartbeat));
    expect(standIn.received).toHaveLength(3); // the id's tenant is known: no second pre-read
    const s = {
      query: "mutation($s: [set_flow_run_state_input!]!) { set_flow_run_states(input: {states: $s}) { states { id status } } }",
      variables: { s: [{ flow_run_id: a(4), state: { type: "Success" } }] },
    };
    okData(await ask("acme", s));
    expect(standIn.rows.flow_run!.find((r) => r.id === a(4))!.state).toBe("Success");
    const run = okData(await ask("acme", { query: `mutation { create_flow_run(input: {flow_id: "${a(3)}"}) { id } }` }));
    const id = (run.create_flow_run as { id: string }).id;
    expect(standIn.rows.flow_run!.find((r) => r.id === id)!.tenant_id).toBe(A);
  });

  it("creates in the caller's tenant, whatever tenant_id the client sent", async () => {
    const lit = okData(await ask("acme", { query: `mutation { create_project(input: {tenant_id: "${B}", name: "sneaky"}) { id } }` }));
    const viaVar = okData(
      await ask("acme", {
        query: "mutation($p: create_project_input!) { create_project(input: $p) { id } }",
        variables: { p: { tenant_id: B, name: "sneaky2" } },
      }),
    );
    for (const d of [lit, viaVar]) {
      const id = (d.create_project as { id: string }).id;
      expect(standIn.rows.project!.find((p) => p.id === id)!.tenant_id).toBe(A);
    }
    expect(standIn.rows.project!.filter((p) => p.tenant_id === B)).toHaveLength(1);
  });
});

describe("single-tenant mode (TENANT_ID set)", () => {
  it("leaves reads to the scopes: the one Prefect tenant is every caller's", async () => {
    const data = okData(await ask("acme", { query: "{ flow { id } }" }, singleTenantEnv));
    expect(idsIn(data).sort()).toEqual([a(3), b(3)]);
  });
});
