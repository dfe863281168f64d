/**
 * Issue 17, class 7: JSON nested deeper than MAX_JSON_DEPTH is a 400 on every route that reads JSON (the Conductor
 * and worker routes are in test/engines/conductor/runtimeTasks.test.ts), decided on the raw text before anything
 * parses or walks it, and never reaches an upstream. The scanner itself: linear, strings and escapes read right.
 */
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/constants";
import { jsonNestingExceeds } from "../../src/proxy/json";
import { asAdmin, call, createTestKey, envWith, errorOf, recorded, stubUrl, uniqueTag } from "../helpers";

const arrays = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const objects = (n: number) => `${'{"a":'.repeat(n - 1)}{}${"}".repeat(n - 1)}`;

describe("jsonNestingExceeds", () => {
  it("counts arrays and objects outside strings only", () => {
    expect(jsonNestingExceeds(arrays(128), 128)).toBe(false);
    expect(jsonNestingExceeds(arrays(129), 128)).toBe(true);
    expect(jsonNestingExceeds(objects(129), 128)).toBe(true);
    expect(jsonNestingExceeds(JSON.stringify({ s: "[".repeat(1_000) }), 2)).toBe(false);
    // An escaped quote does not end the string; an escaped backslash does not escape the closing quote.
    expect(jsonNestingExceeds(JSON.stringify({ s: `\\"${"[".repeat(1_000)}` }), 2)).toBe(false);
    expect(jsonNestingExceeds(`{"s":"\\\\"${"[".repeat(10)}`, 2)).toBe(true);
    expect(jsonNestingExceeds(`{"s":"\\"[[[["}`, 2)).toBe(false);
    // Mixed, and nesting that closes and reopens never adds up.
    expect(jsonNestingExceeds(`${"[{}]".repeat(10_000)}`, 2)).toBe(false);
    expect(jsonNestingExceeds(`[${'{"a":['.repeat(64)}${"]}".repeat(64)}]`, 128)).toBe(true);
  });

  it("decides a 1 MB document in a few milliseconds", () => {
    const text = JSON.stringify({ a: Array.from({ length: 50_000 }, (_, i) => ({ k: `v${i}[{"`, n: [i] })) });
    const started = performance.now();
    expect(jsonNestingExceeds(text, MAX_JSON_DEPTH)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe("every JSON route answers 400 to deep JSON and forwards nothing", () => {
  const deepBody = `{"x":${arrays(5_000)}}`;
  const expect400 = async (res: Response) => {
    const text = await res.clone().text();
    expect(res.status, text).toBe(400);
    expect((await errorOf(res)).message).toContain(`deeper than ${MAX_JSON_DEPTH}`);
  };

  it("admin API", async () => {
    await expect400(
      await asAdmin("/admin/keys", {
        method: "POST",
        body: `{"tenant":"acme","subject":"s","roles":${arrays(5_000)}}`,
        headers: { "content-type": "application/json" },
      }),
    );
  });

  it("Prefect GraphQL (the body, variables as JSON or as a JSON string, GET variables and extensions)", async () => {
    const tag = uniqueTag("pdeep");
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`) });
    const { key } = await createTestKey({ subject: "reader", scopes: ["query/flow"] }, env);
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const res = await call("/prefect/graphql", {
      env,
      method: "POST",
      headers,
      body: `{"query":"{ flow { id } }","variables":{"v":${arrays(5_000)}}}`,
    });
    expect(res.status).toBe(400);
    const asString = await call("/prefect/graphql", {
      env,
      method: "POST",
      headers,
      body: JSON.stringify({ query: "{ flow { id } }", variables: `{"v":${arrays(5_000)}}` }),
    });
    expect(asString.status).toBe(400);
    const getVariables = await call(
      `/prefect/graphql?query=${encodeURIComponent("{ flow { id } }")}&variables=${encodeURIComponent(`{"v":${arrays(5_000)}}`)}`,
      { env, headers },
    );
    expect(getVariables.status).toBe(400);
    const get = await call(
      `/prefect/graphql?query=${encodeURIComponent("{ flow { id } }")}&extensions=${encodeURIComponent(arrays(5_000))}`,
      { env, headers },
    );
    expect(get.status).toBe(400);
    expect(await recorded(tag)).toHaveLength(0);
  });

  it("Argo", async () => {
    const tag = uniqueTag("adeep");
    const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
    expect([200, 201]).toContain(
      (await asAdmin("/admin/workspaces/deep", { method: "PUT", json: { roles: ["a"], hideForUnauthorized: false }, env })).status,
    );
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: ["a"] }, env);
    const res = await call("/argo/api/v1/workflows/deep", {
      env,
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: `{"namespace":"deep","workflow":{"metadata":{"namespace":"deep"},"spec":${deepBody}}}`,
    });
    await expect400(res);
    const records = (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as unknown[];
    expect(records).toHaveLength(0);
  });

  it("FlowAPI", async () => {
    const tag = uniqueTag("fdeep");
    const pair = await generateKeyPair("RS256", { extractable: true });
    const env = envWith({
      FLOWAPI_URL: stubUrl(`/flowapi/${tag}`),
      FLOWAPI_IDENTIFIER: "flowapi-test",
      FLOWAPI_PUBLIC_KEY: btoa(await exportSPKI(pair.publicKey)),
    });
    const token = await new SignJWT({
      aud: "flowapi-test",
      sub: "analyst",
      jti: crypto.randomUUID(),
      user_claims: { run: ["admin3:spatial_aggregate:spatial_aggregate"] },
      iat: Math.floor(Date.now() / 1000),
    })
      .setProtectedHeader({ alg: "RS256" })
      .setExpirationTime("10m")
      .sign(pair.privateKey);
    const res = await call("/flowapi/api/0/run", {
      env,
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: `{"query_kind":"spatial_aggregate","locations":${deepBody}}`,
    });
    await expect400(res);
    const records = (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as unknown[];
    expect(records).toHaveLength(0);
  });
});
