import { parse, print } from "graphql";
import { describe, expect, it } from "vitest";
import opsText from "../../fixtures/prefect/postman_ops_extracted.jsonl?raw";
import { asAdmin, call, createTestKey, envWith, recorded, stubUrl, uniqueTag, type CallOptions } from "../../helpers";
import { BYPASSES, type Bypass } from "./bypass";

const UI_SCOPES = ["query/*", "mutation/create_flow_run", "mutation/cancel_flow_run", "mutation/set_flow_run_states"];

/** What a GraphQL-over-HTTP client sends to get refusals as 401/403 (a client of application/json gets 200). */
const MODERN = { accept: "application/graphql-response+json" };

/** The one Prefect tenant of a single-tenant deployment (TENANT_ID set), which these tests use. */
const SINGLE_TENANT = { TENANT_ID: "6f3a1c2e-0000-4000-8000-000000000001" };

/**
 * An env whose Prefect upstream records under its own tag. Single-tenant mode: these tests are about what scopes
 * decide and what reaches the upstream; a recording stub cannot answer the multi-tenant mode's pre-reads, which
 * ./tenants.test.ts proves against an executing stand-in.
 */
function prefectEnv(extra: Record<string, unknown> = {}) {
  const tag = uniqueTag("prefect");
  return { tag, env: envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), ...SINGLE_TENANT, ...extra }) };
}

/** What the gateway sends for a client's request: its own printing of the operation, and the variables re-encoded. */
const serialized = (op: { query: string; operationName?: string | null; variables?: unknown }) =>
  JSON.stringify({
    query: print(parse(op.query)),
    ...(op.operationName ? { operationName: op.operationName } : {}),
    variables: op.variables ?? {},
  });

function send(b: Bypass, key: string | null, env: CallOptions["env"], accept: Record<string, string> = MODERN) {
  const headers: Record<string, string> = key ? { "x-api-key": key, ...accept } : { ...accept };
  const qs = b.query ? `?${new URLSearchParams(b.query)}` : "";
  if (b.json !== undefined) {
    headers["content-type"] = "application/json";
    return call(`/prefect/graphql${qs}`, { method: b.method ?? "POST", headers, body: JSON.stringify(b.json), env });
  }
  if (b.contentType) headers["content-type"] = b.contentType;
  return call(`/prefect/graphql${qs}`, { method: b.method ?? "POST", headers, body: b.method === "GET" ? undefined : b.text, env });
}

const uiOperations = opsText
  .split("\n")
  .filter((l) => l.trim().startsWith("{"))
  .map((l) => JSON.parse(l) as { operationName: string; query: string; variables: unknown });

describe("Prefect GraphQL guard through the Worker", () => {
  it(`refuses every bypass attempt (${BYPASSES.length}) and the upstream sees none of them`, async () => {
    expect(BYPASSES.length).toBeGreaterThanOrEqual(40);
    const { key } = await createTestKey({ subject: "ui-user", scopes: UI_SCOPES });
    const { tag, env } = prefectEnv();
    for (const b of BYPASSES) {
      const res = await send(b, key, env);
      expect(res.status, b.name).toBe(b.status);
      const body = (await res.json()) as { errors?: { message: string; extensions: { code: string } }[] } | { errors: unknown[] }[];
      const errors = Array.isArray(body) ? body.flatMap((e) => e.errors) : body.errors;
      expect(errors?.length, b.name).toBeGreaterThan(0);
      // A client of application/json (the Prefect 1.x client sends */*) gets the refusal as a 200 with its code.
      const legacy = await send(b, key, env, { accept: "*/*" });
      expect(legacy.status, b.name).toBe(b.status === 403 ? 200 : b.status);
    }
    expect(await recorded(tag)).toEqual([]);
  });

  it("refuses every bypass attempt in multi-tenant mode too (TENANT_ID unset), the upstream seeing none", async () => {
    const { key } = await createTestKey({ subject: "ui-user", scopes: UI_SCOPES });
    const { tag, env } = prefectEnv({ TENANT_ID: undefined });
    for (const b of BYPASSES) {
      const res = await send(b, key, env);
      expect(res.status, b.name).toBe(b.status);
    }
    expect(await recorded(tag)).toEqual([]);
  });

  it("names the refused fields, by real name, in GraphQL's error shape", async () => {
    const { key } = await createTestKey({ subject: "ui-user", scopes: UI_SCOPES });
    const { env } = prefectEnv();
    const res = await call("/prefect/graphql", {
      method: "POST",
      env,
      headers: { "x-api-key": key, ...MODERN },
      json: {
        query: `mutation { create_flow_run: delete_flow(input:{flow_id:"x"}){success} ok: create_flow_run(input:{flow_id:"y"}){id} }`,
      },
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      errors: { message: string; extensions: { code: string; refusedFields: string[]; requestId: string } }[];
    };
    expect(body.errors[0]!.extensions).toMatchObject({ code: "FORBIDDEN", refusedFields: ["mutation/delete_flow"] });
    expect(body.errors[0]!.extensions.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("refuses a batch whole, with one error per element", async () => {
    const { key } = await createTestKey({ subject: "ui-user", scopes: UI_SCOPES });
    const { tag, env } = prefectEnv();
    const res = await call("/prefect/graphql", {
      method: "POST",
      env,
      headers: { "x-api-key": key, ...MODERN },
      json: [
        { query: "{ flow { id } }" },
        { query: `mutation { delete_flow(input:{flow_id:"x"}){success} }` },
        { query: "{ project { id } }" },
      ],
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] }[];
    expect(body.map((e) => e.errors[0]!.extensions.code)).toEqual(["BATCH_REFUSED", "FORBIDDEN", "BATCH_REFUSED"]);
    expect(await recorded(tag)).toEqual([]);
  });

  it("lets every real Prefect UI operation through, as the gateway's own serialization, with identity stripped", async () => {
    const { key } = await createTestKey({ subject: "ui-user", tenant: "acme", scopes: UI_SCOPES });
    const { tag, env } = prefectEnv();
    expect(uiOperations.length).toBe(18);
    for (const op of uiOperations) {
      const body = JSON.stringify(op);
      const res = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { "x-prefect-user-id": key, "content-type": "application/json", "x-tenant-id": "victim", from: "boss@victim" },
        body,
      });
      expect(res.status, op.operationName).toBe(200);
      expect(res.headers.get("x-request-id"), op.operationName).toBeTruthy();
    }
    const seen = await recorded(tag);
    expect(seen).toHaveLength(uiOperations.length);
    for (const [i, r] of seen.entries()) {
      expect(JSON.parse(r.body)).toEqual(JSON.parse(serialized(uiOperations[i]!)));
      expect(r.headers["x-prefect-user-id"]).toBeUndefined();
      expect(r.headers["x-tenant-id"]).toBeUndefined();
      expect(r.headers["from"]).toBeUndefined();
      expect(r.headers["x-flowgate-subject"]).toBe("ui-user");
      expect(r.path).toBe(`/rec/${tag}/graphql`);
    }
  });

  it("forwards GET queries with rebuilt parameters and application/graphql bodies", async () => {
    const { key } = await createTestKey({ subject: "reader", scopes: ["query/flow"] });
    const { tag, env } = prefectEnv();
    const get = await call(`/prefect/graphql?query=${encodeURIComponent("{ flow { id } }")}&junk=1`, {
      env,
      headers: { "x-api-key": key },
    });
    expect(get.status).toBe(200);
    const gql = await call("/prefect/graphql", {
      method: "POST",
      env,
      headers: { "x-api-key": key, "content-type": "application/graphql" },
      body: "{ flow { id } }",
    });
    expect(gql.status).toBe(200);
    const seen = await recorded(tag);
    expect(seen[0]!.method).toBe("GET");
    expect(seen[0]!.path).toBe(`/rec/${tag}/graphql?${new URLSearchParams({ query: print(parse("{ flow { id } }")) })}`);
    // An application/graphql body goes on as JSON: the gateway's encoding, never the client's bytes.
    expect(seen[1]!.body).toBe(serialized({ query: "{ flow { id } }" }));
    expect(seen[1]!.headers["content-type"]).toBe("application/json");
  });

  it("needs query/__schema (or query/*) for introspection; __typename is free", async () => {
    const { key } = await createTestKey({ subject: "narrow", scopes: ["query/flow"] });
    const { env } = prefectEnv();
    const ask = (query: string) =>
      call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": key, ...MODERN }, json: { query } });
    expect((await ask("{ __schema { types { name } } }")).status).toBe(403);
    expect((await ask('{ __type(name: "flow") { name } }')).status).toBe(403);
    expect((await ask("{ __typename flow { id } }")).status).toBe(200);
    const { key: wide } = await createTestKey({ subject: "wide", scopes: ["query/__schema"] });
    expect(
      (
        await call("/prefect/graphql", {
          method: "POST",
          env,
          headers: { "x-api-key": wide },
          json: { query: "{ __schema { queryType { name } } }" },
        })
      ).status,
    ).toBe(200);
  });

  it("matches wildcard scopes: mutation/create_* allows create_flow but not delete_flow", async () => {
    const { key } = await createTestKey({ subject: "creator", scopes: ["mutation/create_*"] });
    const { env } = prefectEnv();
    const ask = (query: string) =>
      call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": key, ...MODERN }, json: { query } });
    expect((await ask(`mutation { create_flow(input:{}) { id } create_project(input:{}) { id } }`)).status).toBe(200);
    expect((await ask(`mutation { delete_flow(input:{flow_id:"x"}) { success } }`)).status).toBe(403);
    expect((await ask(`{ flow { id } }`)).status).toBe(403);
  });

  describe("unauthenticated callers", () => {
    it("get 401 in GraphQL's shape unless public access is on", async () => {
      const { env } = prefectEnv();
      const res = await call("/prefect/graphql", { method: "POST", env, headers: MODERN, json: { query: "{ flow { id } }" } });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
    });

    it("hold PUBLIC_SCOPES when ALLOW_PUBLIC_ACCESS=true, and nothing more", async () => {
      const { tag, env } = prefectEnv({ ALLOW_PUBLIC_ACCESS: "true", PUBLIC_SCOPES: "query/flow" });
      expect((await call("/prefect/graphql", { method: "POST", env, json: { query: "{ flow { id } }" } })).status).toBe(200);
      expect((await call("/prefect/graphql", { method: "POST", env, headers: MODERN, json: { query: "{ project { id } }" } })).status).toBe(
        403,
      );
      expect(
        (
          await call("/prefect/graphql", {
            method: "POST",
            env,
            headers: MODERN,
            json: { query: `mutation { ${'create_flow_run(input:{flow_id:"x"}){id}'} }` },
          })
        ).status,
      ).toBe(403);
      expect(await recorded(tag)).toHaveLength(1);
    });

    it("an unknown key never gets public access", async () => {
      const { env } = prefectEnv({ ALLOW_PUBLIC_ACCESS: "true" });
      const res = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { "x-api-key": "not-a-real-key-at-all", ...MODERN },
        json: { query: "{ flow { id } }" },
      });
      expect(res.status).toBe(401);
    });
  });

  describe("Prefect CLI", () => {
    it("answers auth_info and tenant from TENANT_* without reaching the upstream", async () => {
      const { key } = await createTestKey({ subject: "cli-user", scopes: ["mutation/*"] });
      const { tag, env } = prefectEnv({ TENANT_ID: "6f3a1c2e-0000-4000-8000-000000000001", TENANT_NAME: "Acme", TENANT_SLUG: "acme" });
      const auth = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { authorization: `Bearer ${key}` },
        json: { query: "query { auth_info { tenant_id } }" },
      });
      expect(auth.status).toBe(200);
      expect(await auth.json()).toEqual({ data: { auth_info: { tenant_id: "6f3a1c2e-0000-4000-8000-000000000001" } } });
      const tenant = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { authorization: `Bearer ${key}` },
        json: {
          query: "query($id: uuid) { tenant(where: {id: {_eq: $id}}) { id slug t: name __typename } }",
          variables: { id: "6f3a1c2e-0000-4000-8000-000000000001" },
        },
      });
      expect(await tenant.json()).toEqual({
        data: { tenant: [{ id: "6f3a1c2e-0000-4000-8000-000000000001", slug: "acme", t: "Acme", __typename: "tenant" }] },
      });
      expect(await recorded(tag)).toEqual([]);
    });

    it("does not answer locally when auth_info hides beside another field (decided on the AST), nor forwards it", async () => {
      const { key } = await createTestKey({ subject: "cli-user", scopes: ["query/*"] });
      const { tag, env } = prefectEnv();
      const res = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { "x-api-key": key },
        json: { query: "{ auth_info { tenant_id } flow { id } }" },
      });
      // Issue 17: was forwarded whole (200); the upstream would answer auth_info for its own tenant.
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { extensions: { refusedFields: string[] } }[] }).errors[0]!.extensions.refusedFields).toEqual(
        ["query/auth_info"],
      );
      expect(await recorded(tag)).toHaveLength(0);
      const comment = await call("/prefect/graphql", {
        method: "POST",
        env,
        headers: { "x-api-key": key },
        json: { query: "# auth_info\n{ flow { id } }" },
      });
      expect(((await comment.json()) as { data: { upstream: string } }).data.upstream).toBe("prefect-stub");
    });

    it("never lets a local root reach the upstream, whatever it is batched with (issue 17)", async () => {
      const { key } = await createTestKey({ subject: "cli-user", scopes: ["query/flow"] });
      const { tag, env } = prefectEnv({ TENANT_ID: "6f3a1c2e-0000-4000-8000-000000000001", TENANT_NAME: "Acme", TENANT_SLUG: "acme" });
      const ask = (json: unknown) => call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": key }, json });
      // Only local roots and __typename: answered here, element by element.
      const both = await ask([{ query: "{ tenant { id } }" }, { query: "{ __typename }" }]);
      expect(both.status).toBe(200);
      expect(await both.json()).toEqual([
        { data: { tenant: [{ id: "6f3a1c2e-0000-4000-8000-000000000001" }] } },
        { data: { __typename: "Query" } },
      ]);
      // Local roots beside forwarded fields: refused whole, the local ones named.
      const mixed = await ask([{ query: "{ t: tenant { id } }" }, { query: "{ flow { id } }" }]);
      expect(mixed.status).toBe(400);
      const errors = ((await mixed.json()) as { errors: { extensions: { code: string; refusedFields?: string[] } }[] }[]).map(
        (e) => e.errors[0]!.extensions,
      );
      expect(errors).toEqual([
        expect.objectContaining({ code: "BAD_REQUEST", refusedFields: ["query/tenant"] }),
        expect.objectContaining({ code: "BATCH_REFUSED" }),
      ]);
      expect((await ask({ query: "{ ...F } fragment F on Query { tenant { id } flow { id } }" })).status).toBe(400);
      expect(await recorded(tag)).toEqual([]);
    });
  });

  describe("documents that expand far beyond their size (issue 17)", () => {
    const fanOut = (n: number) =>
      Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ${i === n - 1 ? "id" : `...F${i + 1} ...F${i + 1}`} }`).join(" ");

    it("refuses 27 fragments each spreading the next twice (1.3 KB, 2^26 fields) with 400 LIMIT_EXCEEDED, at once", async () => {
      const { key } = await createTestKey({ subject: "fan-out", scopes: ["query/*"] });
      const { tag, env } = prefectEnv();
      for (const query of [`query { flow { ...F0 } }`, `query { tenant { ...F0 } }`]) {
        const res = await call("/prefect/graphql", {
          method: "POST",
          env,
          headers: { "x-api-key": key },
          json: { query: `${query} ${fanOut(27)}` },
        });
        expect(res.status, query).toBe(400);
        expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("LIMIT_EXCEEDED");
      }
      expect(await recorded(tag)).toEqual([]);
    });

    it("takes GRAPHQL_MAX_COST from the configuration", async () => {
      const { key } = await createTestKey({ subject: "cost", scopes: ["query/*"] });
      const { tag, env } = prefectEnv({ GRAPHQL_MAX_COST: "3" });
      const ask = (query: string) => call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": key }, json: { query } });
      expect((await ask("{ flow { id name } }")).status).toBe(200);
      expect((await ask("{ flow { id name version } }")).status).toBe(400);
      expect(await recorded(tag)).toHaveLength(1);
    });
  });

  describe("audit trail", () => {
    it("records allowed and blocked mutations, without variables", async () => {
      const subject = uniqueTag("auditee");
      const { key, id } = await createTestKey({ subject, scopes: UI_SCOPES });
      const { env } = prefectEnv();
      const headers = { "x-api-key": key };
      await call("/prefect/graphql", {
        method: "POST",
        env,
        headers,
        json: {
          operationName: "CreateFlowRun",
          query: `mutation CreateFlowRun($id: UUID!) { create_flow_run(input:{flow_id:$id}) { id } }`,
          variables: { id: "secret-var-value" },
        },
      });
      await call("/prefect/graphql", {
        method: "POST",
        env,
        headers,
        json: { operationName: "Drop", query: `mutation Drop { delete_flow(input:{flow_id:"x"}) { success } }` },
      });
      await call("/prefect/graphql", { method: "POST", env, headers, json: { query: `{ flow { id } }` } });
      const res = await asAdmin(`/admin/audit?action=prefect.mutation&subject=${subject}`);
      const { events } = (await res.json()) as {
        events: { decision: string; target: string; actorKeyId: string; tenant: string; details: { rootFields: string[] } }[];
      };
      expect(events.map((e) => [e.decision, e.target]).sort()).toEqual([
        ["allowed", "CreateFlowRun"],
        ["refused", "Drop"],
      ]);
      expect(events.every((e) => e.actorKeyId === id && e.tenant === "acme")).toBe(true);
      expect(JSON.stringify(events)).not.toContain("secret-var-value");
      const blocked = (await (await asAdmin(`/admin/audit?action=prefect.mutation&decision=refused&subject=${subject}`)).json()) as {
        events: unknown[];
      };
      expect(blocked.events).toHaveLength(1);
    });
  });
});
