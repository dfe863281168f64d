import { SignJWT, exportSPKI, generateKeyPair, importJWK } from "jose";
import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, recorded, stubUrl, uniqueTag, type CallOptions } from "../helpers";
import { conductorStack } from "../engines/conductor/harness";
import { parse, print } from "graphql";

interface Explanation {
  decision: "allowed" | "refused";
  status: number | null;
  principal: { subject: string; tenant?: string; keyId?: string; scopes: string[] } | null;
  reason: { code: string; message: string; refusedFields?: string[] };
  upstream: { method: string; url: string; headerNames: string[]; body: string | null } | null;
  audits: { action: string; decision: string }[];
}

async function explain(question: unknown, env?: CallOptions["env"]): Promise<Explanation> {
  const res = await asAdmin("/admin/explain", { method: "POST", json: question, env });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Explanation;
}

const gql = (query: string) => ({
  method: "POST",
  path: "/prefect/graphql",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ query }),
});

describe("POST /admin/explain", () => {
  it("explains a refused GraphQL mutation: the refused field, and nothing reaches the upstream or the audit trail", async () => {
    const tag = uniqueTag("explain");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`) });
    const { id, key } = await createTestKey({ subject: "analyst", scopes: ["query/*", "mutation/create_flow_run"] }, env);
    const answer = await explain({ keyId: id, request: gql('mutation { delete_flow(input: {flow_id: "x"}) { success } }') }, env);
    expect(answer).toMatchObject({
      decision: "refused",
      status: 403,
      principal: { subject: "analyst", keyId: id, scopes: ["query/*", "mutation/create_flow_run"] },
      reason: { code: "FORBIDDEN", refusedFields: ["mutation/delete_flow"] },
      upstream: null,
    });
    expect(answer.audits).toEqual([expect.objectContaining({ action: "prefect.mutation", decision: "refused" })]);
    expect(await recorded(tag)).toEqual([]);
    expect(JSON.stringify(answer)).not.toContain(key);
    // The real request is refused the same way.
    const live = await call("/prefect/graphql", {
      method: "POST",
      env,
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: gql('mutation { delete_flow(input: {flow_id: "x"}) { success } }').body,
    });
    expect((await live.json()) as unknown).toMatchObject({ errors: [{ extensions: { code: "FORBIDDEN" } }] });
    // An explained mutation is not written to the audit trail (the explanation itself is).
    const audit = (await (await asAdmin(`/admin/audit?action=prefect.mutation&subject=analyst`, { env })).json()) as { events: unknown[] };
    expect(audit.events).toHaveLength(1);
    const explains = (await (await asAdmin(`/admin/audit?action=admin.explain`, { env })).json()) as { events: { target: string }[] };
    expect(explains.events.map((e) => e.target)).toContain("POST /prefect/graphql");
  });

  it("explains an allowed query as the request the upstream would receive, without sending it", async () => {
    const tag = uniqueTag("explain");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`) });
    const { id } = await createTestKey({ subject: "reader", scopes: ["query/*"] }, env);
    const answer = await explain(
      { keyId: id, request: { ...gql("{ flow { id } }"), headers: { "content-type": "application/json", "x-tenant-id": "other" } } },
      env,
    );
    expect(answer).toMatchObject({ decision: "allowed", status: null, reason: { code: "FORWARDED" } });
    expect(answer.upstream).toMatchObject({ method: "POST", url: stubUrl(`/rec/${tag}/graphql`) });
    // The gateway's own serialization, limited to the key's Prefect tenant (multi-tenant mode).
    const acme = "137fe27e-578f-5a00-aa0f-04b8eeec7f83"; // Python: uuid.uuid5(uuid.UUID(PREFECT_TENANT_NAMESPACE), "acme")
    expect(JSON.parse(answer.upstream!.body!)).toEqual({
      query: print(parse(`{ flow(where: {tenant_id: {_eq: "${acme}"}}) { id } }`)),
      variables: {},
    });
    expect(answer.upstream!.headerNames).not.toContain("x-tenant-id");
    expect(await recorded(tag)).toEqual([]);
  });

  it("shows the tenant rewrite of a Conductor definition, and the RBAC refusal of a non-admin", async () => {
    const stack = await conductorStack("explain");
    const owner = await createTestKey({ tenant: "FACEBOOK", subject: "ann", roles: ["OWNER"], scopes: ["conductor"] }, stack.env);
    const bob = await createTestKey({ tenant: "FACEBOOK", subject: "bob", groups: ["ops"], scopes: ["conductor"] }, stack.env);
    const def = { name: "hello", version: 1, tasks: [{ name: "say_hello", taskReferenceName: "hi", type: "SIMPLE" }] };
    const request = {
      method: "POST",
      path: "/conductor/api/metadata/workflow",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(def),
    };
    const allowed = await explain({ keyId: owner.id, request }, stack.env);
    expect(allowed.decision).toBe("allowed");
    expect(allowed.upstream!.url).toMatch(/\/api\/metadata\/workflow$/);
    expect(JSON.parse(allowed.upstream!.body!)).toMatchObject({ name: "FACEBOOK___hello", tasks: [{ name: "FACEBOOK___say_hello" }] });
    const refused = await explain({ keyId: bob.id, request }, stack.env);
    expect(refused).toMatchObject({ decision: "refused", status: 403, reason: { code: "FORBIDDEN" } });
    expect(await stack.records()).toEqual([]);
  });

  it("explains a JWT: a bad token is a 401 naming why, a good one decides like a key", async () => {
    const tag = uniqueTag("explain");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), JWT_JWKS_URL: stubUrl(`/jwks/${tag}.json`) });
    const bad = await explain({ token: "not.a.jwt", request: gql("{ flow { id } }") }, env);
    expect(bad).toMatchObject({ decision: "refused", status: 401, reason: { code: "UNAUTHENTICATED" } });
    const jwk = await importJWK(inject("idpPrivateJwk") as Parameters<typeof importJWK>[0], "RS256");
    const token = await new SignJWT({ scope: "query/flow" })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setSubject("jwt-user")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(jwk);
    const good = await explain({ token, request: gql("{ flow { id } flow_run { id } }") }, env);
    expect(good).toMatchObject({ decision: "refused", principal: { subject: "jwt-user" }, reason: { refusedFields: ["query/flow_run"] } });
    expect(JSON.stringify(good)).not.toContain(token);
  });

  it("refuses questions that carry a credential in headers, name no credential, or name an unknown key", async () => {
    const bodies: [unknown, number][] = [
      [{ keyId: "abcdefabcdef", request: { method: "GET", path: "/whoami", headers: { Authorization: "Bearer x" } } }, 400],
      [{ request: { method: "GET", path: "/whoami" } }, 400],
      [{ keyId: "abcdefabcdef", token: "x", request: { method: "GET", path: "/whoami" } }, 400],
      [{ keyId: "abcdefabcdef", request: { method: "GET", path: "whoami" } }, 400],
      [{ keyId: "abcdefabcdef", request: { method: "GET", path: "/whoami" } }, 404],
    ];
    for (const [json, status] of bodies) {
      expect((await asAdmin("/admin/explain", { method: "POST", json })).status, JSON.stringify(json)).toBe(status);
    }
    const { key } = await createTestKey({ subject: "nobody", scopes: ["query/*"] });
    expect((await call("/admin/explain", { method: "POST", headers: { "x-api-key": key }, body: "{}" })).status).toBe(403);
  });

  it("explains only the engines' routes: an admin action described to it is refused, not carried out", async () => {
    const { id, key } = await createTestKey({ subject: "victim", scopes: ["query/*"] });
    const admin = (await (await asAdmin("/whoami")).json()) as { keyId: string };
    for (const path of [`/admin/keys/${id}`, `/prefect/../admin/keys/${id}`, "/auth/logout", "/console/", "/healthz"]) {
      const res = await asAdmin("/admin/explain", { method: "POST", json: { keyId: admin.keyId, request: { method: "DELETE", path } } });
      expect(res.status, path).toBe(400);
    }
    expect((await call("/whoami", { headers: { "x-api-key": key } })).status).toBe(200);
  });

  it("explains a revoked key as refused without running anything", async () => {
    const { id } = await createTestKey({ subject: "gone", scopes: ["query/*"] });
    expect((await asAdmin(`/admin/keys/${id}`, { method: "DELETE" })).status).toBe(200);
    expect(await explain({ keyId: id, request: gql("{ flow { id } }") })).toMatchObject({
      decision: "refused",
      status: 401,
      reason: { message: "API key revoked" },
    });
  });

  it("answers for Argo (workspace roles), task workers (scopes) and FlowAPI (FlowAuth tokens)", async () => {
    const tag = uniqueTag("explain");
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const env = envWith({
      ARGO_URL: stubUrl(`/argo/${tag}`),
      CONDUCTOR_URL: stubUrl(`/conductor/${tag}`),
      FLOWAPI_URL: stubUrl(`/flowapi/${tag}`),
      FLOWAPI_IDENTIFIER: "flowapi-test",
      FLOWAPI_PUBLIC_KEY: btoa(await exportSPKI(publicKey)),
    });
    expect(
      (await asAdmin("/admin/workspaces/alpha", { method: "PUT", env, json: { roles: ["data-eng"], hideForUnauthorized: false } })).status,
    ).toBeLessThan(300);
    const dev = await createTestKey({ subject: "dev", roles: ["data-eng"] }, env);
    const outsider = await createTestKey({ subject: "outsider", roles: ["sales"] }, env);
    const argo = (keyId: string) => explain({ keyId, request: { method: "GET", path: "/argo/api/v1/workflows/alpha" } }, env);
    expect(await argo(dev.id)).toMatchObject({
      decision: "allowed",
      upstream: { method: "GET", url: stubUrl(`/argo/${tag}/api/v1/workflows/alpha`) },
    });
    expect(await argo(outsider.id)).toMatchObject({ decision: "refused", status: 403, reason: { code: "FORBIDDEN" } });

    const poll = { method: "GET", path: "/workers/conductor/api/tasks/poll/batch/say_hello?workerid=w1&count=2&timeout=100" };
    const worker = await createTestKey({ tenant: "ops", subject: "w", scopes: ["worker/other_task"] }, env);
    expect(await explain({ keyId: worker.id, request: poll }, env)).toMatchObject({ decision: "refused", status: 403 });

    const claims = (userClaims: Record<string, string[]>) =>
      new SignJWT({ aud: "flowapi-test", sub: "analyst", user_claims: userClaims })
        .setProtectedHeader({ alg: "RS256" })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey);
    const run = {
      method: "POST",
      path: "/flowapi/api/0/run",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query_kind: "daily_location", date: "2016-01-01", method: "last", aggregation_unit: "admin3" }),
    };
    const allowed = await explain({ token: await claims({ r: ["run", "admin3:daily_location:daily_location"] }), request: run }, env);
    expect(allowed).toMatchObject({ decision: "allowed", upstream: { method: "POST", url: stubUrl(`/flowapi/${tag}/api/0/run`) } });
    const refused = await explain({ token: await claims({ r: ["run"] }), request: run }, env);
    expect(refused).toMatchObject({ decision: "refused", status: 403 });
  });
});

/**
 * Issue 25, class 7: explain's question is validated like every admin input. A header name that is not an HTTP
 * token answered 500 (`new Headers` threw); every field of the question is attacked the same way here: each bad
 * one is a 400 naming the field and the rule, never a 500, and never echoes a bad name.
 */
describe("POST /admin/explain: the question's input", () => {
  const admin = async () => ((await (await asAdmin("/whoami")).json()) as { keyId: string }).keyId;
  const ask = (keyId: string, request: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    asAdmin("/admin/explain", { method: "POST", json: { keyId, ...extra, request: { method: "GET", path: "/whoami", ...request } } });

  it("refuses header names that are not RFC 9110 tokens, values with CR, LF, NUL or controls, and twice-given names: 400, not 500", async () => {
    const keyId = await admin();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ "bad name": "x" }, /request\.headers a name is not a header name/],
      [{ "x:y": "x" }, /not a header name/],
      [{ "x\r\ny": "x" }, /not a header name/],
      [{ "": "x" }, /not a header name/],
      [{ zürich: "x" }, /not a header name/],
      [{ "(x)": "x" }, /not a header name/],
      [{ "x-a": "one\r\nx-injected: two" }, /x-a is not a header value/],
      [{ "x-a": "one\ntwo" }, /not a header value/],
      [{ "x-a": "nul\u0000" }, /not a header value/],
      [{ "x-a": "bell\u0007" }, /not a header value/],
      [{ "x-a": "euro €" }, /not a header value/],
      [{ "x-a": 5 }, /not a header value/],
      [{ "x-a": "x".repeat(8_193) }, /not a header value/],
      [{ "Content-Type": "application/json", "content-type": "text/plain" }, /content-type is given twice/],
      [{ "content-length": "3" }, /content-length is the connection's own/],
      [{ "Transfer-Encoding": "chunked" }, /is the connection's own/],
      [{ host: "evil.example" }, /is the connection's own/],
      [{ Cookie: "authorization=Bearer x" }, /must not carry a credential/],
      [Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, "v"])), /at most 100 headers/],
      [Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x-h${i}`, "v".repeat(8_000)])), /at most 65536 bytes of headers/],
      [["x-a", "b"] as unknown as Record<string, unknown>, /must be an object/],
    ];
    for (const [headers, message] of bad) {
      const res = await ask(keyId, { headers });
      const label = JSON.stringify(headers).slice(0, 80);
      expect(res.status, label).toBe(400);
      const error = (await res.json()) as { error: { code: string; message: string } };
      expect(error.error.code, label).toBe("BAD_REQUEST");
      expect(error.error.message, label).toMatch(message);
      expect(error.error.message, label).not.toContain("zürich");
    }
  });

  it("refuses a token that could not be a header, a path with raw controls or spaces, and an unknown method: 400", async () => {
    const keyId = await admin();
    const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [{}, { keyId: undefined, token: "eyJ.x\r\ninjected: 1" }, /token must be a bearer credential/],
      [{}, { keyId: undefined, token: "a b" }, /token must be a bearer credential/],
      [{ path: "/prefect/graphql x" }, {}, /request\.path must start with \//],
      [{ path: "/whoami\u0000" }, {}, /request\.path/],
      [{ path: "/whoami\nHost: x" }, {}, /request\.path/],
      [{ path: "/prefect/ü" }, {}, /request\.path/],
      [{ method: "TRACE" }, {}, /request\.method/],
      [{ method: "get" }, {}, /request\.method/],
      [{ method: "GET", body: "{}" }, {}, /request\.body GET and HEAD carry no body/],
      [{ method: "HEAD", body: "" }, {}, /request\.body GET and HEAD carry no body/],
      [{ path: `/${"a".repeat(8_192)}` }, {}, /request\.path/],
    ];
    for (const [request, extra, message] of cases) {
      const res = await ask(keyId, request, extra);
      const label = JSON.stringify({ request, extra }).slice(0, 80);
      expect(res.status, label).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, label).toMatch(message);
    }
  });

  it("takes every valid token name and obs-text value, and a header named __proto__ as a header like any other", async () => {
    const tag = uniqueTag("explainhdr");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`) });
    const { id: keyId } = await createTestKey({ subject: "hdr-reader", scopes: ["query/*"] }, env);
    const res = await asAdmin("/admin/explain", {
      method: "POST",
      env,
      json: {
        keyId,
        request: {
          ...gql("{ flow { id } }"),
          headers: { "content-type": "application/json", "x-!#$%&'*+-.^_`|~": "ok", ["__proto__"]: "v", "x-latin": "café\tà" },
        },
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const answer = (await res.json()) as Explanation;
    expect(answer.decision, JSON.stringify(answer.reason)).toBe("allowed");
    expect(await recorded(tag)).toEqual([]);
  });

  it("never shows an upstream's user:password: such a URL is refused by configuration, and explain's upstream holds none", async () => {
    const tag = uniqueTag("explaincred");
    const url = stubUrl(`/rec/${tag}/graphql`).replace("http://", "http://svc:s3cr3t-pw@");
    const env = envWith({ PREFECT_GRAPHQL_URL: url });
    // A key made under the good configuration: under the old rule, explain answered 200 with the URL in `upstream`.
    const { id } = await createTestKey({ subject: "cred-reader", scopes: ["query/*"] });
    const res = await asAdmin("/admin/explain", { method: "POST", env, json: { keyId: id, request: gql("{ flow { id } }") } });
    const text = await res.text();
    expect(res.status, text).toBe(500);
    expect(text).toContain("PREFECT_GRAPHQL_URL");
    expect(text).not.toContain("s3cr3t");
    expect(await recorded(tag)).toEqual([]);
  });
});
