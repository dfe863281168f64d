/**
 * The Prefect 1.x client (1.4.1), replayed request for request from its recorded conversation
 * (test/fixtures/clients/prefect-1.4.1.jsonl, see ../shared/reference/clients/README.md) through the real Worker to
 * a stand-in Prefect Server (test/setup/engines.ts). Each answer is checked for what the client's source needs
 * from it (PrefectHQ/prefect, tag 1.4.1; paths under src/prefect/):
 *
 * - client/client.py:557 `_send_request` calls `response.raise_for_status()`: any status >= 400 raises
 *   `requests.HTTPError`, shown as a bare "403 Client Error: Forbidden"; only for a 400 (client.py:559) does it
 *   first format the body's `errors` (utilities/graphql.py `format_graphql_request_error`). So refusals are 200.
 * - client/client.py:456 `graphql`: a 200 whose `errors` mention "UNAUTHENTICATED" raises `AuthorizationError`;
 *   client.py:465 any other `errors` raise `ClientError(result["errors"])`, whose text shows each message and its
 *   extensions. client.py:664: "API_ERROR" anywhere in `errors` makes `_request` resend the request six times.
 * - cli/auth.py:124-129 `login`: clears the tenant, then `AuthorizationError` from `_get_auth_tenant` prints
 *   "Unauthorized. Invalid Prefect Cloud API key."; a `requests.HTTPError` is not caught (a traceback).
 * - client/client.py:140-157 `_get_auth_tenant` reads `data.auth_info.tenant_id`; client.py:285 the `tenant_id`
 *   setter refuses a value that is not a UUID; client.py:630 `_request` sends it back as `X-PREFECT-TENANT-ID`.
 * - backend/tenant.py:115 `TenantView.from_tenant_id` → tenant.py:47 `_query_for_tenant` wants exactly one tenant
 *   with `id`, `slug`, `name` (tenant.py:107: none is an error); cli/auth.py:230 `list_tenants` marks the row
 *   whose `id == client.tenant_id` as active; cli/auth.py:296 `switch_tenants` turns `AuthorizationError` into
 *   "Unauthorized. Your API key is not valid for that tenant."
 * - client/client.py:1076 `create_project` sends `tenant_id=self.tenant_id` in its input; cli/create.py:72-74
 *   prints the `ClientError` and "Error creating project". client.py:448: `variables` go as `json.dumps(...)`.
 */
import { parse, print } from "graphql";
import { v5 as uuidV5 } from "uuid";
import { describe, expect, it, vi } from "vitest";
import recording from "../../fixtures/clients/prefect-1.4.1.jsonl?raw";
import { PREFECT_TENANT_NAMESPACE } from "../../../src/constants";
import { call, createTestKey, envWith, stubUrl, uniqueTag } from "../../helpers";
import { prefectStandIn } from "./standin";

interface Recorded {
  step: string;
  seq: number;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  rawBody: string;
  answered: number | null;
}

interface Upstreamed {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const conversation = recording
  .split("\n")
  .filter((l) => l.trim().startsWith("{"))
  .map((l) => JSON.parse(l) as Recorded);

/** The tenant id flowgate had at recording time (TENANT_ID), as the client sent it back from the second call on. */
const RECORDED_TENANT_ID = "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12";
/** The flow the recording runs (create_flow_run's flow_id). */
const RECORDED_FLOW_ID = "f1f1f1f1-0000-4000-8000-000000000001";
/** Where the executing stand-in (./standin.ts) answers the Worker's outbound fetch. */
const STANDIN = "http://prefect-standin.test/graphql";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const upstreamRecords = async (tag: string) => (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as Upstreamed[];

/** One recorded request as the client sent it, with the key (and the tenant id it was given) put in. */
function replay(r: Recorded, key: string, tenantId: string, env: ReturnType<typeof envWith>): Promise<Response> {
  const headers = new Headers();
  for (const [name, value] of r.headers) {
    // The URL names the host; the runtime frames the body (the length is checked equal below).
    if (name === "Host" || name === "Content-Length") continue;
    headers.append(name, value.replace("<key>", key).replace(RECORDED_TENANT_ID, tenantId));
  }
  const body = r.rawBody.replaceAll(RECORDED_TENANT_ID, tenantId);
  return call(`${r.path}${r.query ? `?${r.query}` : ""}`, { method: r.method, headers, body, env });
}

/** A key one character off: what a user who mistyped it sends. */
const mistype = (key: string) => key.slice(0, -1) + (key.endsWith("a") ? "b" : "a");

describe("the Prefect 1.x client, replayed", () => {
  it("the recording is what the README says: nine POSTs of JSON with Accept */* and the key as a bearer", () => {
    expect(conversation.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const r of conversation) {
      expect(r.method).toBe("POST");
      expect(r.path).toBe("/prefect/graphql");
      const h = new Map(r.headers);
      expect(h.get("Accept")).toBe("*/*");
      expect(h.get("Authorization")).toBe("Bearer <key>");
      expect(Number(h.get("Content-Length"))).toBe(new TextEncoder().encode(r.rawBody).length);
      // client.py `_request`: the tenant header from the second call of the login on.
      expect(h.has("X-PREFECT-TENANT-ID")).toBe(r.seq !== 1 && r.seq !== 9);
    }
  });

  const configurations = [
    { label: "each flowgate tenant its own Prefect tenant (TENANT_* unset)", vars: {} as Record<string, string> },
    {
      label: "the recording's own TENANT_ID, TENANT_NAME and TENANT_SLUG",
      vars: { TENANT_ID: RECORDED_TENANT_ID, TENANT_NAME: "Acme Org", TENANT_SLUG: "acme-org" },
    },
  ];

  for (const { label, vars } of configurations) {
    it(`gets what it needs from every answer: ${label}`, async () => {
      const tenantName = uniqueTag("acme");
      const { key } = await createTestKey({ tenant: tenantName, subject: "prefect-cli", scopes: ["query/*", "mutation/create_flow_run"] });
      const tag = uniqueTag("prefect");
      const expected = {
        // uuid's v5, tied to Python's uuid.uuid5 by test/unit/graphqlHttp.test.ts.
        id: vars.TENANT_ID ?? uuidV5(tenantName, PREFECT_TENANT_NAMESPACE),
        name: vars.TENANT_NAME ?? tenantName,
        slug: vars.TENANT_SLUG ?? tenantName.toLowerCase(),
      };
      // Multi-tenant mode runs against the executing stand-in holding this tenant's rows and another's (the
      // recording stub cannot answer the gateway's pre-read); single-tenant mode against the recording stub.
      const multi = vars.TENANT_ID === undefined;
      const other = "0ddba11e-0000-4000-8000-000000000000";
      const standIn = prefectStandIn({
        project: [
          { id: "c0c0c0c0-0000-4000-8000-000000000001", tenant_id: expected.id, name: "etl", created: "2026-11-02T09:00:00+00:00" },
          { id: "c0c0c0c0-0000-4000-8000-000000000002", tenant_id: other, name: "theirs", created: "2026-11-02T09:00:00+00:00" },
        ],
        flow: [
          { id: RECORDED_FLOW_ID, tenant_id: expected.id, project_id: "c0c0c0c0-0000-4000-8000-000000000001", name: "nightly" },
          {
            id: "f1f1f1f1-0000-4000-8000-000000000002",
            tenant_id: other,
            project_id: "c0c0c0c0-0000-4000-8000-000000000002",
            name: "theirs",
          },
        ],
      });
      if (multi) {
        const realFetch = globalThis.fetch;
        vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
          const req = new Request(input as RequestInfo, init);
          return req.url.startsWith(STANDIN) ? standIn.handle(req) : realFetch(input as RequestInfo, init);
        });
      }
      const env = envWith({ PREFECT_GRAPHQL_URL: multi ? STANDIN : stubUrl(`/prefect/${tag}/graphql`), ...vars });

      let tenantId = "";
      const answers = new Map<number, { status: number; contentType: string | null; body: GraphQLAnswer }>();
      for (const r of conversation) {
        const res = await replay(r, r.step.includes("mistyped") ? mistype(key) : key, tenantId, env);
        const body = (await res.json()) as GraphQLAnswer;
        answers.set(r.seq, { status: res.status, contentType: res.headers.get("content-type"), body });
        // What the client keeps from the login's first answer and sends back from then on.
        if (r.seq === 1) tenantId = (body.data?.auth_info as { tenant_id: string }).tenant_id;
      }

      // Every answer is a 200 (`raise_for_status` raises on anything else) in JSON (the client's `response.json()`).
      for (const [seq, a] of answers) {
        expect(a.status, `seq ${seq}`).toBe(200);
        expect(a.contentType, `seq ${seq}`).toMatch(/^application\/json/);
        expect(JSON.stringify(a.body.errors ?? []), `seq ${seq}`).not.toContain("API_ERROR");
      }

      // 1. `prefect auth login`: auth_info's tenant_id, a UUID (the client's tenant_id setter), without errors.
      expect(answers.get(1)!.body).toEqual({ data: { auth_info: { tenant_id: expected.id } } });
      expect(tenantId).toMatch(UUID);
      if (!vars.TENANT_ID) expect(tenantId.charAt(14)).toBe("5"); // name-based (version 5)

      // 2. The login's TenantView.from_tenant_id: exactly one tenant, that id, with its name and slug.
      expect(answers.get(2)!.body).toEqual({ data: { tenant: [{ id: tenantId, name: expected.name, slug: expected.slug }] } });

      // 3. `prefect auth list-tenants`: the key's own tenant, marked active because its id is the client's.
      expect(answers.get(3)!.body).toEqual({ data: { tenant: [{ slug: expected.slug, id: tenantId, name: expected.name }] } });

      // 4-6. `get projects`, `Client().graphql(flow)`, `create_flow_run`: the stand-in's own answers, passed on;
      //      in multi-tenant mode only this tenant's project and flow, and the run made in this tenant.
      expect((answers.get(4)!.body.data?.project as { name: string }[]).map((p) => p.name)).toEqual(["etl"]);
      expect(answers.get(5)!.body.data).toEqual({ flow: [{ id: RECORDED_FLOW_ID, name: "nightly" }] });
      const runId = (answers.get(6)!.body.data?.create_flow_run as { id: string }).id;
      expect(runId).toMatch(UUID);
      if (multi) expect(standIn.rows.flow_run!.find((r) => r.id === runId)!.tenant_id).toBe(expected.id);

      // 7. delete_flow outside the key's scopes: `errors` naming the refused field, not UNAUTHENTICATED, so
      //    `Client.graphql` raises `ClientError` showing "not allowed: mutation/delete_flow".
      const deleted = answers.get(7)!.body;
      expect(deleted.data).toBeUndefined();
      expect(deleted.errors![0]!.message).toBe("not allowed: mutation/delete_flow");
      expect(deleted.errors![0]!.extensions!.code).toBe("FORBIDDEN");
      expect(JSON.stringify(deleted.errors)).not.toContain("UNAUTHENTICATED");

      // 8. `prefect create project newproj`: the same, for create_project (cli/create.py prints the ClientError).
      expect(answers.get(8)!.body.errors![0]!.message).toBe("not allowed: mutation/create_project");
      expect(answers.get(8)!.body.errors![0]!.extensions!.code).toBe("FORBIDDEN");

      // 9. The mistyped key: `errors` carrying UNAUTHENTICATED, so `graphql` raises AuthorizationError and the
      //    login prints "Unauthorized. Invalid Prefect Cloud API key." instead of a traceback.
      const mistyped = answers.get(9)!.body;
      expect(mistyped.data).toBeUndefined();
      expect(mistyped.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");

      // The refused delete_flow and create_project never reached the upstream, nor did the local answers.
      if (multi) {
        // The three allowed operations, each limited to the tenant, and create_flow_run's one pre-read before it.
        const clause = `tenant_id: {_eq: "${expected.id}"}`;
        expect(standIn.received.map((r) => [r.query.replace(/\s+/g, " ").split(/[({]/)[1]!.trim(), r.query.includes(clause)])).toEqual([
          ["project", true],
          ["flow", true],
          ["t0: flow", false], // the pre-read: which tenant the flow is in
          ["$input: create_flow_run_input!)", false],
        ]);
        vi.restoreAllMocks();
        return;
      }
      // Single-tenant mode: the three allowed operations as the gateway serializes them (printed by graphql-js,
      // variables re-encoded), and neither the key nor the tenant header.
      const seen = await upstreamRecords(tag);
      expect(seen.map((s) => JSON.parse(s.body))).toEqual(
        [4, 5, 6].map((seq) => {
          const sent = JSON.parse(conversation[seq - 1]!.rawBody) as { query: string; variables: string };
          return { query: print(parse(sent.query)), variables: JSON.parse(sent.variables) ?? {} };
        }),
      );
      for (const s of seen) {
        expect(s.path).toBe("/graphql");
        expect(s.headers.authorization).toBeUndefined();
        expect(s.headers["x-prefect-tenant-id"]).toBeUndefined();
        expect(s.headers["x-flowgate-subject"]).toBe("prefect-cli");
        expect(s.headers["x-flowgate-tenant"]).toBe(tenantName);
      }
    });
  }
});

describe("Prefect tenant ids", () => {
  const ask = (key: string, env: ReturnType<typeof envWith>, query: string, headers: Record<string, string> = {}) =>
    call("/prefect/graphql", {
      method: "POST",
      env,
      headers: { authorization: `Bearer ${key}`, accept: "*/*", ...headers },
      json: { query },
    });
  const tenantIdOf = async (res: Response) =>
    ((await res.json()) as { data: { auth_info: { tenant_id: string } } }).data.auth_info.tenant_id;

  it("are stable per flowgate tenant and differ between tenants", async () => {
    const tag = uniqueTag("prefect");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/prefect/${tag}/graphql`) });
    const a = uniqueTag("alpha");
    const { key: a1 } = await createTestKey({ tenant: a, subject: "one", scopes: ["query/*"] });
    const { key: a2 } = await createTestKey({ tenant: a, subject: "two", scopes: ["query/*"] });
    const { key: b1 } = await createTestKey({ tenant: uniqueTag("beta"), subject: "three", scopes: ["query/*"] });
    const idA1 = await tenantIdOf(await ask(a1, env, "{ auth_info { tenant_id } }"));
    expect(idA1).toMatch(UUID);
    expect(await tenantIdOf(await ask(a2, env, "{ auth_info { tenant_id } }"))).toBe(idA1);
    expect(await tenantIdOf(await ask(a1, env, "{ auth_info { tenant_id } }"))).toBe(idA1);
    expect(await tenantIdOf(await ask(b1, env, "{ auth_info { tenant_id } }"))).not.toBe(idA1);
  });

  it("a tenant query naming another tenant's id finds nothing (TenantView then says so)", async () => {
    const tag = uniqueTag("prefect");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/prefect/${tag}/graphql`) });
    const { key: mine } = await createTestKey({ tenant: uniqueTag("mine"), subject: "me", scopes: ["query/*"] });
    const { key: theirs } = await createTestKey({ tenant: uniqueTag("theirs"), subject: "them", scopes: ["query/*"] });
    const otherId = await tenantIdOf(await ask(theirs, env, "{ auth_info { tenant_id } }"));
    const ownId = await tenantIdOf(await ask(mine, env, "{ auth_info { tenant_id } }"));
    const byId = (id: string) => ask(mine, env, `query { tenant(where: { id: { _eq: "${id}" } }) { id name slug } }`);
    expect(await (await byId(otherId)).json()).toEqual({ data: { tenant: [] } });
    expect(((await (await byId(ownId.toUpperCase())).json()) as { data: { tenant: { id: string }[] } }).data.tenant[0]!.id).toBe(ownId);
    const both = ask(mine, env, `query { tenant(where: { _and: [{ id: { _eq: "${ownId}" } }, { slug: { _eq: "not-mine" } }] }) { id } }`);
    expect(await (await both).json()).toEqual({ data: { tenant: [] } });
    expect(await upstreamRecords(tag)).toEqual([]);
  });

  it("switch-tenants by slug: a variable naming another slug finds nothing, its own slug finds its tenant", async () => {
    const tag = uniqueTag("prefect");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/prefect/${tag}/graphql`) });
    const name = uniqueTag("mine");
    const { key } = await createTestKey({ tenant: name, subject: "me", scopes: ["query/*"] });
    // client.py `switch_tenant`: `query($slug: String) { tenant(where: {slug: { _eq: $slug } }) { id } }`, with
    // `variables` JSON-encoded as a string (`Client.graphql` sends `json.dumps(variables)`).
    const query = "query($slug: String) {\n    tenant(where: {slug: { _eq: $slug } }) {\n        id\n    }\n}";
    const bySlug = async (slug: string, encode: boolean) => {
      const variables = encode ? JSON.stringify({ slug }) : { slug };
      const res = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { authorization: `Bearer ${key}`, accept: "*/*" },
        json: { query, variables },
      });
      return ((await res.json()) as { data: { tenant: { id: string }[] } }).data.tenant;
    };
    for (const encode of [true, false]) {
      expect(await bySlug("someone-else", encode)).toEqual([]);
      expect(await bySlug(name, encode)).toHaveLength(1);
    }
    // In a batch, each element with its own variables; over GET, the variables parameter.
    const batch = await call("/prefect/graphql", {
      method: "POST",
      env,
      headers: { authorization: `Bearer ${key}` },
      json: [
        { query, variables: { slug: "someone-else" } },
        { query, variables: { slug: name } },
      ],
    });
    expect(((await batch.json()) as { data: { tenant: unknown[] } }[]).map((a) => a.data.tenant.length)).toEqual([0, 1]);
    const get = await call(`/prefect/graphql?${new URLSearchParams({ query, variables: JSON.stringify({ slug: "someone-else" }) })}`, {
      env,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(await get.json()).toEqual({ data: { tenant: [] } });
    expect(await upstreamRecords(tag)).toEqual([]);
  });

  it("X-Prefect-Tenant-Id naming another tenant is refused before anything is read or forwarded; other values pass and are never forwarded", async () => {
    const tag = uniqueTag("prefect");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/prefect/${tag}/graphql`) });
    const { key } = await createTestKey({ tenant: uniqueTag("mine"), subject: "me", scopes: ["query/*", "mutation/*"] });
    const { key: theirs } = await createTestKey({ tenant: uniqueTag("theirs"), subject: "them", scopes: ["query/*"] });
    const ownId = await tenantIdOf(await ask(key, env, "{ auth_info { tenant_id } }"));
    const otherId = await tenantIdOf(await ask(theirs, env, "{ auth_info { tenant_id } }"));

    for (const named of [otherId, "00000000-0000-0000-0000-000000000000", ` ${otherId.toUpperCase()} `]) {
      for (const query of [
        "{ auth_info { tenant_id } }",
        "{ flow { id } }",
        `mutation { delete_flow(input: {flow_id: "x"}) { success } }`,
      ]) {
        const legacy = await ask(key, env, query, { "x-prefect-tenant-id": named });
        expect(legacy.status).toBe(200);
        const body = (await legacy.json()) as GraphQLAnswer;
        expect(body.data).toBeUndefined();
        expect(body.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
        expect(body.errors![0]!.message).toContain(ownId);
        const modern = await ask(key, env, query, { "x-prefect-tenant-id": named, accept: "application/graphql-response+json" });
        expect(modern.status).toBe(401);
      }
    }
    expect(await upstreamRecords(tag)).toEqual([]);

    // Its own id (any case), or a value that names no tenant (the 1.x UI before its tenant query), passes.
    for (const named of [ownId, ownId.toUpperCase(), "", "null", "undefined"]) {
      expect((await ask(key, env, "{ flow { id } }", { "x-prefect-tenant-id": named })).status).toBe(200);
    }
    const seen = await upstreamRecords(tag);
    expect(seen).toHaveLength(5);
    for (const s of seen) expect(s.headers["x-prefect-tenant-id"]).toBeUndefined();
  });

  it("an explicit TENANT_ID is every caller's, in lower case", async () => {
    const env = envWith({ TENANT_ID: "6F0C2B8E-1D3A-4C5E-9F7A-2B4C6D8E0F12" });
    const { key } = await createTestKey({ tenant: uniqueTag("any"), subject: "x", scopes: ["query/*"] });
    expect(await tenantIdOf(await ask(key, env, "{ auth_info { tenant_id } }"))).toBe(RECORDED_TENANT_ID);
  });

  it("a TENANT_ID that is not a UUID is a configuration error naming the variable", async () => {
    const res = await call("/prefect/graphql", {
      method: "POST",
      env: envWith({ TENANT_ID: "Default" }),
      json: { query: "{ auth_info { tenant_id } }" },
    });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; variables: string[]; message: string } };
    expect(body.error.code).toBe("BAD_CONFIGURATION");
    expect(body.error.variables).toEqual(["TENANT_ID"]);
    expect(body.error.message).not.toContain("Default");
  });
});

describe("GraphQL over HTTP statuses on /prefect/graphql", () => {
  const MODERN = "application/graphql-response+json";
  const post = (env: ReturnType<typeof envWith>, headers: Record<string, string>, json: unknown) =>
    call("/prefect/graphql", { method: "POST", env, headers, json });

  it("refusals keep 401/403 for clients accepting application/graphql-response+json, and are 200 with the code for application/json, */* or no Accept", async () => {
    const tag = uniqueTag("prefect");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/prefect/${tag}/graphql`) });
    const { key } = await createTestKey({ subject: "reader", scopes: ["query/*"] });
    const forbidden = { query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` };
    const cases: [string | null, "modern" | "legacy"][] = [
      [MODERN, "modern"],
      [`${MODERN}, application/json;q=0.9`, "modern"],
      [`application/json;q=0.5, ${MODERN}`, "modern"],
      [`application/json, ${MODERN}`, "modern"],
      [`${MODERN}, */*`, "modern"],
      [`${MODERN};charset=utf-8`, "modern"],
      ["APPLICATION/GRAPHQL-RESPONSE+JSON", "modern"],
      ["application/json", "legacy"],
      ["*/*", "legacy"],
      ["application/*", "legacy"],
      [null, "legacy"],
      ["text/html", "legacy"],
      [`${MODERN};q=0.5, application/json`, "legacy"],
      [`${MODERN};q=0, */*`, "legacy"],
      [`${MODERN};q=0.5, */*`, "legacy"],
      [`${MODERN};q=2`, "legacy"],
    ];
    for (const [accept, kind] of cases) {
      const headers: Record<string, string> = accept === null ? {} : { accept };
      const refused = await post(env, { ...headers, "x-api-key": key }, forbidden);
      const anonymous = await post(env, headers, { query: "{ flow { id } }" });
      const unknown = await post(env, { ...headers, "x-api-key": "fgk_notarealkeyatall" }, { query: "{ flow { id } }" });
      const media = kind === "modern" ? MODERN : "application/json";
      expect([refused.status, anonymous.status, unknown.status], String(accept)).toEqual(
        kind === "modern" ? [403, 401, 401] : [200, 200, 200],
      );
      for (const res of [refused, anonymous, unknown])
        expect(res.headers.get("content-type"), String(accept)).toBe(`${media}; charset=utf-8`);
      expect(((await refused.json()) as GraphQLAnswer).errors![0]!.extensions!.code).toBe("FORBIDDEN");
      expect(((await anonymous.json()) as GraphQLAnswer).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
      expect(((await unknown.json()) as GraphQLAnswer).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
      // WWW-Authenticate goes with a 401 only.
      expect(anonymous.headers.get("www-authenticate") !== null, String(accept)).toBe(kind === "modern");
    }
    expect(await upstreamRecords(tag)).toEqual([]);
  });

  it("400, 405, 413 and 415 are the same for every client; a batch refusal follows the same rule", async () => {
    const tag = uniqueTag("prefect");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/prefect/${tag}/graphql`) });
    const { key } = await createTestKey({ subject: "reader", scopes: ["query/*"] });
    for (const accept of [MODERN, "application/json", "*/*"]) {
      const h = { accept, "x-api-key": key };
      expect(
        (await call("/prefect/graphql", { method: "POST", env, headers: { ...h, "content-type": "application/json" }, body: "{not json" }))
          .status,
      ).toBe(400);
      expect((await post(env, h, { query: "mutation { delete_flow(" })).status).toBe(400);
      expect((await post(env, h, { query: `{ flow ${"{ a ".repeat(30)}${"} ".repeat(30)}}` })).status).toBe(400);
      expect((await call(`/prefect/graphql?query=${encodeURIComponent("mutation { x }")}`, { env, headers: h })).status).toBe(405);
      expect((await call("/prefect/graphql", { method: "PUT", env, headers: h, json: { query: "{ flow { id } }" } })).status).toBe(405);
      expect((await post(env, h, { query: "{ flow { id } }", pad: "x".repeat(1_100_000) })).status).toBe(413);
      expect(
        (await call("/prefect/graphql", { method: "POST", env, headers: { ...h, "content-type": "text/plain" }, body: "{}" })).status,
      ).toBe(415);
      const batch = await post(env, h, [
        { query: "{ flow { id } }" },
        { query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` },
      ]);
      expect(batch.status).toBe(accept === MODERN ? 403 : 200);
      expect(batch.headers.get("content-type")).toBe(`${accept === MODERN ? MODERN : "application/json"}; charset=utf-8`);
      const errors = ((await batch.json()) as GraphQLAnswer[]).map((e) => e.errors![0]!.extensions!.code);
      expect(errors).toEqual(["BATCH_REFUSED", "FORBIDDEN"]);
    }
    expect(await upstreamRecords(tag)).toEqual([]);
  });

  it("the access log says refused for a refusal answered as 200", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
    try {
      const env = envWith({ LOG_LEVEL: "info" });
      const { key } = await createTestKey({ subject: uniqueTag("logged"), scopes: ["query/*"] });
      const single = await post(env, { "x-api-key": key }, { query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` });
      const batch = await post(env, { "x-api-key": key }, [{ query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` }]);
      expect([single.status, batch.status]).toEqual([200, 200]);
      const access = lines
        .map((l) => JSON.parse(l) as { event: string; requestId: string; decision?: string })
        .filter((l) => l.event === "request");
      for (const res of [single, batch]) {
        expect(access.find((l) => l.requestId === res.headers.get("x-request-id"))?.decision).toBe("refused");
      }
    } finally {
      spy.mockRestore();
    }
  });

  it("answers made here keep the CORS headers for the UI's origin", async () => {
    const env = envWith({ CORS_ORIGINS: "https://prefect-ui.example" });
    const { key } = await createTestKey({ subject: "ui", scopes: ["query/*"] });
    const origin = { origin: "https://prefect-ui.example", "x-prefect-user-id": key };
    const refused = await post(env, origin, { query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` });
    const batch = await post(env, origin, [{ query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` }]);
    const local = await post(env, origin, { query: "{ auth_info { tenant_id } }" });
    for (const res of [refused, batch, local]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://prefect-ui.example");
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
  });

  it("local answers come in the negotiated media type", async () => {
    const { key } = await createTestKey({ subject: "cli", scopes: ["query/*"] });
    const env = envWith({});
    const modern = await post(env, { accept: MODERN, "x-api-key": key }, { query: "{ auth_info { tenant_id } }" });
    expect(modern.status).toBe(200);
    expect(modern.headers.get("content-type")).toBe(`${MODERN}; charset=utf-8`);
    const legacy = await post(env, { "x-api-key": key }, { query: "{ auth_info { tenant_id } }" });
    expect(legacy.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });
});
