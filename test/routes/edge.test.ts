/**
 * Issue 17, classes 3 and 8, as the attacker tried them (the route table suite runs the same checks on every route).
 * - Class 3: the gateway decides on the path the upstream will route on. Encoded `/` `\` `.` `;` `%`, controls,
 *   empty segments and non-UTF-8 escapes are a 400 before routing; the Argo UI's files are the only thing under
 *   /argo served without a credential.
 * - Class 8: client headers reach an engine only by that engine's allow-list; identity headers nobody listed
 *   (`remote-user`, `impersonate-user`, `x-hasura-role`, `forwarded`, `grpc-metadata-*`, ...) never do.
 */
import { describe, expect, it } from "vitest";
import { checkPath } from "../../src/pipeline";
import { engines } from "../../src/engines";
import { CLIENT_IDENTITY_HEADERS, upstreamRequestHeaders } from "../../src/proxy/headers";
import { upstreamTable, type UpstreamName } from "../../src/services";
import { call, createTestKey, envWith, errorOf, recorded, stubUrl, uniqueTag } from "../helpers";

/** The path check's reason for refusing `p`, or null when it lets `p` through. */
const pathProblem = (p: string): string | null => {
  const v = checkPath(p);
  return v.ok ? null : v.reason;
};

const tag = uniqueTag("edge");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`), PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`) });
const argoRecords = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { path: string; headers: Record<string, string> }[];

/** Each upstream's allow-list, as the registry's entries declare them (src/app.ts hands the same table to requests). */
const FORWARDED_HEADERS = Object.fromEntries(
  Object.entries(upstreamTable(engines)).map(([name, declared]) => [name, declared.forwardedHeaders]),
) as Record<UpstreamName, readonly string[]>;
type Engine = UpstreamName;

describe("class 3: one path for the gateway and the upstream", () => {
  it("the attack of the issue: an encoded '/' under /argo is a 400 and Argo receives nothing", async () => {
    const before = (await argoRecords()).length;
    for (const path of [
      "/argo/artifact-files%2Fws-secret/workflows/wf-1/node-1/outputs/report.txt",
      "/argo/artifact-files%2fws-secret%2fworkflows/wf-1/report.txt",
      "/argo/artifact-files%252Fws-secret/workflows/wf-1/report.txt",
      "/argo/artifact-files%5Cws-secret/workflows/wf-1/report.txt",
      "/argo/assets%2F..%2F..%2Fartifact-files/ws-secret/report.txt",
      "/argo/main.js%00.txt",
      "/argo/index.html;/artifact-files/ws-secret/x",
    ]) {
      const res = await call(path, { env });
      expect(res.status, path).toBe(400);
      expect((await errorOf(res)).code).toBe("BAD_REQUEST");
    }
    expect((await argoRecords()).length).toBe(before);
  });

  it("without a credential only the UI's own files are served, each as the very path checked", async () => {
    for (const path of [
      "/argo/",
      "/argo/index.html",
      "/argo/main.7f3c2a.js",
      "/argo/main.7f3c2a.js.map",
      "/argo/favicon.ico",
      "/argo/assets/images/argo-icon.svg",
      "/argo/assets/fonts/fa-solid-900.woff2",
    ]) {
      const res = await call(path, { env });
      expect(res.status, path).toBe(200);
      expect((await argoRecords()).at(-1)!.path).toBe(path.slice("/argo".length));
    }
    const before = (await argoRecords()).length;
    // Static-looking files elsewhere are not the UI's: they need a credential like everything else under /argo.
    for (const path of [
      "/argo/report.txt",
      "/argo/artifact-files/ws-secret/wf/report.txt",
      "/argo/workflows/ws-secret/wf.js",
      "/argo/assets/../artifacts/ws/x.js",
      "/argo/oauth2/redirect",
      "/argo/apidocs/swagger.json",
    ]) {
      expect((await call(path, { env })).status, path).toBe(401);
    }
    expect((await argoRecords()).length).toBe(before);
  });

  it("refuses every form that could split, climb or hide a segment; lets plain paths through", () => {
    const refused = [
      "/a%2Fb",
      "/a%2fb",
      "/a%5Cb",
      "/a%5cb",
      "/a\\b",
      "/a%252Fb",
      "/a%25",
      "/%2e%2e/x",
      "/%2E./x",
      "/a%2e",
      "/x/.%2E",
      "/a%00",
      "/a%0A",
      "/a%1f",
      "/a%7F",
      "/a\u0001",
      "/a;jsessionid=1",
      "/a%3Bx",
      "//a",
      "/a//b",
      "/a%C0%AF",
      "/a%E0%80%AF",
      "/a%C0%AE%C0%AE",
      "/a%",
      "/a%zz",
      "/a%2",
    ];
    for (const p of refused) expect(pathProblem(p), p).not.toBeNull();
    const allowed = [
      "/",
      "/argo/",
      "/conductor/api/workflow/fb-1",
      "/conductor/schedule/wfA:1",
      "/a%20b",
      "/a%C3%A9",
      "/api/v1/workflows/",
      "/a.b/c..d/.e",
    ];
    for (const p of allowed) expect(pathProblem(p), p).toBeNull();
  });
});

const ISSUE_HEADERS: Record<string, string> = {
  "remote-user": "admin",
  "x-webauth-user": "admin",
  "impersonate-user": "system:admin",
  "impersonate-group": "system:masters",
  "x-hasura-role": "admin",
  "x-authenticated-userid": "admin",
  forwarded: "for=127.0.0.1;host=prefect.internal",
  "x-forwarded-for": "127.0.0.1",
  "x-forwarded-host": "prefect.internal",
  "x-forwarded-proto": "https",
  "x-forwarded-prefix": "/admin",
  "x-a-header-nobody-listed": "admin",
};

describe("class 8: identity headers by allow-list", () => {
  it("the headers of the issue never reach the Prefect upstream; the gateway's own identity does", async () => {
    const { key } = await createTestKey({ tenant: "acme", subject: uniqueTag("who"), scopes: ["query/*"] }, env);
    const res = await call("/prefect/graphql", {
      env,
      method: "POST",
      json: { query: "{ flow { id } }" },
      headers: { authorization: `Bearer ${key}`, accept: "application/json", ...ISSUE_HEADERS },
    });
    expect(res.status).toBe(200);
    const seen = (await recorded(tag)).at(-1)!;
    for (const name of Object.keys(ISSUE_HEADERS)) expect(seen.headers[name], name).toBeUndefined();
    expect(seen.headers["x-flowgate-tenant"]).toBe("acme");
    expect(seen.headers.accept).toBe("application/json");
    expect(seen.headers.authorization).toBeUndefined();
  });

  it("the gateway's identity headers, forged in another case, repeated or with a list of values, reach the upstream as the gateway's only", async () => {
    const subject = uniqueTag("who");
    const { key } = await createTestKey({ tenant: "acme", subject, scopes: ["query/*"] }, env);
    const headers = new Headers({ authorization: `Bearer ${key}`, "content-type": "application/json" });
    headers.append("X-Flowgate-Subject", "root");
    headers.append("x-flowgate-subject", "admin");
    headers.append("X-FLOWGATE-TENANT", "victim, acme");
    headers.append("X-Flowgate-Key-Id", "someone-else");
    headers.append("X-Request-Id", "client-req-0001");
    headers.append("x-request-id", "client-req-0002");
    headers.append("Accept", "application/json");
    headers.append("accept", "text/plain");
    const res = await call("/prefect/graphql", { env, method: "POST", body: JSON.stringify({ query: "{ flow { id } }" }), headers });
    expect(res.status).toBe(200);
    const seen = (await recorded(tag)).at(-1)!;
    expect(seen.headers["x-flowgate-subject"]).toBe(subject);
    expect(seen.headers["x-flowgate-tenant"]).toBe("acme");
    expect(seen.headers["x-flowgate-key-id"]).not.toBe("someone-else");
    expect(seen.headers["x-request-id"]).toBe(res.headers.get("x-request-id"));
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    // An allow-listed header the client repeats arrives as the client sent it, joined: the engine reads it as before.
    expect(seen.headers.accept).toBe("application/json, text/plain");
  });

  it("each engine receives its allow-list only: Argo no gRPC metadata, Conductor no X-Authorization, FlowAPI its token", () => {
    const incoming = new Headers({
      ...ISSUE_HEADERS,
      accept: "application/json",
      "content-type": "application/json",
      authorization: "Bearer the-token",
      cookie: "authorization=Bearer%20x",
      "grpc-metadata-authorization": "Bearer forged",
      "grpc-metadata-x-user": "admin",
      "x-authorization": "forged",
      "if-none-match": '"abc"',
      "accept-encoding": "gzip",
      "content-encoding": "gzip",
    });
    const identity = { "x-request-id": "req-12345678", "x-flowgate-subject": "alice" };
    for (const engine of Object.keys(FORWARDED_HEADERS) as Engine[]) {
      const out = new Headers(upstreamRequestHeaders(incoming, identity, FORWARDED_HEADERS[engine]));
      const names = [...out.keys()];
      for (const n of names) expect([...FORWARDED_HEADERS[engine], ...Object.keys(identity)], `${engine}: ${n}`).toContain(n);
      expect(out.get("accept"), engine).toBe("application/json");
      expect(out.get("x-flowgate-subject"), engine).toBe("alice");
      for (const n of [
        "grpc-metadata-authorization",
        "grpc-metadata-x-user",
        "x-authorization",
        "cookie",
        "accept-encoding",
        "content-encoding",
        ...Object.keys(ISSUE_HEADERS),
      ]) {
        expect(out.has(n), `${engine}: ${n}`).toBe(false);
      }
      expect(out.get("authorization"), engine).toBe(engine === "flowapi" ? "Bearer the-token" : null);
    }
    expect(new Headers(upstreamRequestHeaders(incoming, identity, FORWARDED_HEADERS.argo)).get("if-none-match")).toBe('"abc"');
  });

  it("no allow-list passes a header the engines or front proxies read as identity (FlowAPI's token aside), nor the gateway's assertion", () => {
    expect(CLIENT_IDENTITY_HEADERS).toContain("x-flowgate-assertion");
    for (const [engine, allowed] of Object.entries(FORWARDED_HEADERS)) {
      for (const name of allowed.map((n) => n.toLowerCase())) {
        if (engine === "flowapi" && name === "authorization") continue;
        expect(CLIENT_IDENTITY_HEADERS, `${engine}: ${name}`).not.toContain(name);
        expect(name, engine).not.toMatch(/^x-flowgate-/);
      }
    }
  });

  it("with UPSTREAM_ASSERTION_KEYS, Prefect receives exactly its allow-list, the identity headers and the gateway's assertion", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const jwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "edge-1" };
    const signed = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), UPSTREAM_ASSERTION_KEYS: JSON.stringify([jwk]) });
    const subject = uniqueTag("who");
    const { key } = await createTestKey({ tenant: "acme", subject, scopes: ["query/*"] }, signed);
    const forged = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZG1pbiJ9.AAAA";
    const res = await call("/prefect/graphql", {
      env: signed,
      method: "POST",
      json: { query: "{ flow { id } }" },
      headers: { authorization: `Bearer ${key}`, accept: "application/json", "X-Flowgate-Assertion": forged, ...ISSUE_HEADERS },
    });
    expect(res.status).toBe(200);
    const seen = (await recorded(tag)).at(-1)!;
    const assertion = seen.headers["x-flowgate-assertion"]!;
    expect(assertion).not.toBe(forged);
    expect(JSON.parse(atob(assertion.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")))).toMatchObject({
      sub: subject,
      aud: "prefect",
    });
    // What the runtime adds to any subrequest (framing, host, `cf-worker`) aside, nothing else arrives.
    const runtime = ["host", "content-length", "connection", "accept-encoding", "cf-worker"];
    const names = Object.keys(seen.headers).filter((n) => !runtime.includes(n));
    expect(names.sort()).toEqual(
      [
        "accept",
        "content-type",
        "x-flowgate-assertion",
        "x-flowgate-key-id",
        "x-flowgate-subject",
        "x-flowgate-tenant",
        "x-request-id",
      ].sort(),
    );
  });

  it("the Argo UI's files reach Argo with the allow-list only, and no credential at all", async () => {
    await call("/argo/main.abc123.js", {
      env,
      headers: { ...ISSUE_HEADERS, cookie: "authorization=Bearer%20secret", "grpc-metadata-authorization": "x" },
    });
    const seen = (await argoRecords()).at(-1)!;
    expect(seen.path).toBe("/main.abc123.js");
    for (const name of [...Object.keys(ISSUE_HEADERS), "cookie", "grpc-metadata-authorization", "authorization"])
      expect(seen.headers[name], name).toBeUndefined();
  });
});
