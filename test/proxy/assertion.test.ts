/**
 * Issue 29, item 1: engines trust only the gateway. With UPSTREAM_ASSERTION_KEYS set, every upstream call that carries
 * a principal carries X-Flowgate-Assertion, a JWT the engine's side verifies against the gateway's
 * `/.well-known/jwks.json`; a client never sets it. The oracle is jose's verifier fed with the JWKS the gateway
 * publishes, and the plain identity headers the same upstream received. (test/node/assertionVerifier.test.ts runs
 * the example verifier against the gateway.)
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { ASSERTION_TYPE, asserterFor } from "../../src/proxy/assertion";
import { parseConfig } from "../../src/readConfig";
import { call, createTestKey, envWith, recorded, stubUrl, uniqueTag, type Recorded } from "../helpers";

const ed25519 = async (kid: string) => {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid };
};

const signing = await ed25519("gw-1");
const published = await ed25519("gw-0");
const keys = JSON.stringify([signing, published]);

const tag = uniqueTag("assert");
const upstreams = { ARGO_URL: stubUrl(`/argo/${tag}`), PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`) };
const withoutKeys = envWith(upstreams);
const reuse = envWith({ ...upstreams, UPSTREAM_ASSERTION_KEYS: keys });
const perRequest = envWith({ ...upstreams, UPSTREAM_ASSERTION_KEYS: keys, UPSTREAM_ASSERTION_MODE: "per-request" });

/** One GraphQL query through the gateway as `key`; what the Prefect stand-in received. */
async function query(env: ReturnType<typeof envWith>, key: string, headers: Record<string, string> = {}): Promise<Recorded> {
  const res = await call("/prefect/graphql", {
    env,
    method: "POST",
    json: { query: "{ flow { id } }" },
    headers: { authorization: `Bearer ${key}`, ...headers },
  });
  expect(res.status).toBe(200);
  return (await recorded(tag)).at(-1)!;
}

/** The gateway's published keys, as a verifier reads them. */
async function gatewayKeys(env: ReturnType<typeof envWith>) {
  const res = await call("/.well-known/jwks.json", { env });
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: Record<string, string>[] };
}

async function verify(token: string, audience = "prefect"): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(await gatewayKeys(reuse)), {
    issuer: "flowgate",
    audience,
    algorithms: ["EdDSA"],
    typ: ASSERTION_TYPE,
  });
  return payload;
}

describe("without UPSTREAM_ASSERTION_KEYS (local development)", () => {
  it("sends no assertion, drops one a client sends, and publishes an empty key set", async () => {
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, withoutKeys);
    const seen = await query(withoutKeys, key, { "X-Flowgate-Assertion": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9." });
    expect(seen.headers["x-flowgate-assertion"]).toBeUndefined();
    expect(seen.headers["x-flowgate-tenant"]).toBe("acme");
    expect(await gatewayKeys(withoutKeys)).toEqual({ keys: [] });
  });
});

describe("with UPSTREAM_ASSERTION_KEYS", () => {
  it("publishes every key's public part, signing key first, cacheable for a few minutes", async () => {
    const res = await call("/.well-known/jwks.json", { env: reuse });
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const { keys: jwks } = (await res.json()) as { keys: Record<string, string>[] };
    expect(jwks.map((k) => k.kid)).toEqual(["gw-1", "gw-0"]);
    for (const k of jwks) expect(Object.keys(k).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
    expect(JSON.stringify(jwks)).not.toContain(signing.d);
  });

  it("every call with a principal carries an assertion of exactly the identity headers it came with, for that engine", async () => {
    const subject = uniqueTag("who");
    const { key, id } = await createTestKey({ tenant: "acme", subject, email: `${subject}@example.org`, scopes: ["query/*"] }, reuse);
    const seen = await query(reuse, key, { "X-Flowgate-Assertion": "forged", "x-flowgate-subject": "admin" });
    const token = seen.headers["x-flowgate-assertion"]!;
    expect(token).not.toBe("forged");
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", kid: "gw-1", typ: ASSERTION_TYPE });
    const claims = await verify(token);
    expect(claims).toMatchObject({ iss: "flowgate", aud: "prefect", sub: subject, tenant: "acme", email: `${subject}@example.org` });
    expect(claims.key_id).toBe(id);
    // The assertion and the plain headers the engine reads say the same thing.
    expect(seen.headers["x-flowgate-subject"]).toBe(claims.sub);
    expect(seen.headers["x-flowgate-tenant"]).toBe(claims.tenant);
    expect(seen.headers["x-flowgate-key-id"]).toBe(claims.key_id);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(claims.nbf).toBe(claims.iat);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(30);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    // Another engine's verifier refuses it.
    await expect(verify(token, "conductor")).rejects.toThrow(/aud/);
  });

  it("reuse mode: a principal's repeated requests carry one assertion; another principal gets its own", async () => {
    const a = await createTestKey({ tenant: "acme", subject: uniqueTag("a"), scopes: ["query/*"] }, reuse);
    const b = await createTestKey({ tenant: "acme", subject: uniqueTag("b"), scopes: ["query/*"] }, reuse);
    const first = (await query(reuse, a.key)).headers["x-flowgate-assertion"];
    const second = (await query(reuse, a.key)).headers["x-flowgate-assertion"];
    const other = (await query(reuse, b.key)).headers["x-flowgate-assertion"]!;
    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect((await verify(other)).sub).not.toBe((await verify(first!)).sub);
  });

  it("per-request mode: each call its own jti, bound to the request id, method and path the engine received", async () => {
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, perRequest);
    const one = await query(perRequest, key, { "x-request-id": "client-chosen-id-1" });
    const two = await query(perRequest, key, { "x-request-id": "client-chosen-id-1" });
    const c1 = await verify(one.headers["x-flowgate-assertion"]!);
    const c2 = await verify(two.headers["x-flowgate-assertion"]!);
    expect(c1.jti).not.toBe(c2.jti);
    // A client chooses its request id: the jti is never it, so a client cannot spend another's jti.
    expect(c1.jti).not.toBe("client-chosen-id-1");
    expect(c1).toMatchObject({ rid: one.headers["x-request-id"], htm: one.method, htu: one.path });
    expect(one.path).toBe(`/rec/${tag}/graphql`);
  });

  it("an assertion longer than the identity headers' 4,096-character cut arrives whole and verifies", async () => {
    const groups = Array.from({ length: 100 }, (_, i) => `group-with-a-rather-long-name-${String(i).padStart(3, "0")}`);
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), groups, scopes: ["query/*"] }, reuse);
    const token = (await query(reuse, key)).headers["x-flowgate-assertion"]!;
    expect(token.length).toBeGreaterThan(4096);
    expect((await verify(token)).groups).toEqual(groups);
  });

  it("an RSA signing key signs RS256", async () => {
    const algorithm = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
    const pair = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
    const rsa = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "rsa-1" };
    const env = envWith({ ...upstreams, UPSTREAM_ASSERTION_KEYS: JSON.stringify([rsa]) });
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, env);
    const token = (await query(env, key)).headers["x-flowgate-assertion"]!;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "RS256", kid: "rsa-1" });
    const { payload } = await jwtVerify(token, createLocalJWKSet(await gatewayKeys(env)), {
      issuer: "flowgate",
      audience: "prefect",
      algorithms: ["RS256"],
    });
    expect(payload.tenant).toBe("acme");
  });

  it("the UI's files, which belong to no one, carry none", async () => {
    const res = await call("/argo/main.abc123.js", { env: reuse, headers: { "x-flowgate-assertion": "forged" } });
    expect(res.status).toBe(200);
    const seen = ((await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as Recorded[]).at(-1)!;
    expect(seen.path).toBe("/main.abc123.js");
    expect(seen.headers["x-flowgate-assertion"]).toBeUndefined();
  });

  it("a key the runtime cannot import is a 500 naming the variable, and the engine receives nothing", async () => {
    const broken = envWith({ ...upstreams, UPSTREAM_ASSERTION_KEYS: JSON.stringify([{ ...signing, kid: "bad", x: "AAAA", d: "AAAA" }]) });
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, broken);
    const before = (await recorded(tag)).length;
    const res = await call("/prefect/graphql", {
      env: broken,
      method: "POST",
      json: { query: "{ flow { id } }" },
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(500);
    // Prefect's routes answer in GraphQL's error shape, with the envelope's code.
    const text = await res.text();
    expect(text).toContain("BAD_CONFIGURATION");
    expect(text).toContain("UPSTREAM_ASSERTION_KEYS");
    expect(text).not.toContain(signing.d!.slice(0, 8));
    expect((await recorded(tag)).length).toBe(before);
  });
});

describe("asserterFor", () => {
  it("names the upstream as audience: Conductor's assertion is not Schellar's", async () => {
    const r = parseConfig({ ...reuse });
    if (!r.ok) throw r.error;
    const principal = { kind: "api_key" as const, subject: "svc", tenant: "acme", roles: ["r"], groups: [], scopes: [] };
    for (const audience of ["conductor", "schellar", "argo", "flowapi"]) {
      const token = await asserterFor(r.config.upstreamAssertion!, principal, audience, "req-12345678")("http://engine/api/x", "GET");
      expect((await verify(token, audience)).aud).toBe(audience);
    }
  });
});

describe("reuse mode", () => {
  it("calls made at once (a fan-out) on a cold cache share one signature", async () => {
    const r = parseConfig({ ...reuse });
    if (!r.ok) throw r.error;
    const principal = { kind: "api_key" as const, subject: uniqueTag("fan"), tenant: "acme", roles: [], groups: [], scopes: [] };
    const assert = asserterFor(r.config.upstreamAssertion!, principal, "conductor", "req-12345678");
    // Six calls started before any answer: each jti is random, so separate signatures would differ.
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => assert(`http://engine/api/${i}`, "GET")));
    expect(new Set(tokens).size).toBe(1);
    expect(assert("http://engine/api/later", "GET")).toBe(tokens[0]);
  });
});

describe("the upstream's mtls_certificates binding (<NAME>_MTLS)", () => {
  it("when bound, every call to that upstream goes through it (which presents the client certificate), assertion included", async () => {
    const through: { url: string; assertion: string | null }[] = [];
    // What the runtime binds for `[[mtls_certificates]]`: a Fetcher. This one records, then sends the call on.
    const binding = {
      fetch: (url: string, init: RequestInit) => {
        through.push({ url, assertion: new Headers(init.headers).get("x-flowgate-assertion") });
        return fetch(url, init);
      },
    };
    const env = { ...reuse, PREFECT_MTLS: binding } as typeof reuse;
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, env);
    const seen = await query(env, key);
    expect(through).toHaveLength(1);
    expect(through[0]!.url).toBe(stubUrl(`/rec/${tag}/graphql`));
    expect(through[0]!.assertion).toBe(seen.headers["x-flowgate-assertion"]);
    // Another upstream without its own binding is called directly (the Argo UI's files here).
    await call("/argo/main.abc123.js", { env });
    expect(through).toHaveLength(1);
  });

  it("anything else under that name is a 500 naming it, never a plain connection", async () => {
    const env = { ...reuse, PREFECT_MTLS: "cert-id" } as typeof reuse;
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, env);
    const before = (await recorded(tag)).length;
    const res = await call("/prefect/graphql", {
      env,
      method: "POST",
      json: { query: "{ flow { id } }" },
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("PREFECT_MTLS must be an mtls_certificates binding");
    expect((await recorded(tag)).length).toBe(before);
  });
});
