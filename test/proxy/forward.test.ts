import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors";
import { forward } from "../../src/proxy/forward";
import { principalHeaders, rewriteLocation, upstreamRequestHeaders } from "../../src/proxy/headers";
import type { Principal } from "../../src/identity/principal";
import { stubUrl } from "../helpers";
import { prefect } from "../../src/engines/prefect";

const principal: Principal = {
  kind: "api_key",
  subject: "alice",
  email: "alice@example.com",
  tenant: "acme",
  roles: ["OWNER"],
  groups: ["dev"],
  scopes: [],
  keyId: "abcdefabcdef",
};

const forged = {
  "x-tenant-id": "victim",
  from: "boss@victim.com",
  "x-auth-user-roles": "OWNER",
  "x-auth-user-groups": "NETWORK-ADMIN",
  "x-prefect-user-id": "stolen",
  "x-flowgate-subject": "root",
  "x-flowgate-tenant": "victim",
  authorization: "Bearer secret-token",
  "x-api-key": "fgk_secret",
  cookie: "authorization=secret",
  accept: "application/json",
};

describe("upstream headers", () => {
  it("strips every client identity and credential header and sets the gateway's own", () => {
    const out = new Headers(upstreamRequestHeaders(new Headers(forged), principalHeaders(principal, "req-12345678")));
    for (const name of [
      "x-tenant-id",
      "from",
      "x-auth-user-roles",
      "x-auth-user-groups",
      "x-prefect-user-id",
      "authorization",
      "x-api-key",
      "cookie",
    ]) {
      expect(out.has(name), name).toBe(false);
    }
    expect(out.get("x-flowgate-subject")).toBe("alice");
    expect(out.get("x-flowgate-tenant")).toBe("acme");
    expect(out.get("x-request-id")).toBe("req-12345678");
    expect(out.get("accept")).toBe("application/json");
  });

  it("keeps a stripped header only when the route asks for it", () => {
    const out = new Headers(upstreamRequestHeaders(new Headers(forged), {}, ["authorization"]));
    expect(out.get("authorization")).toBe("Bearer secret-token");
    expect(out.has("x-tenant-id")).toBe(false);
  });

  it("lets the gateway's identity header replace the client's even when a list names it in another case", () => {
    const incoming = new Headers({ "x-request-id": "client-chosen", Accept: "text/plain" });
    const out = new Headers(upstreamRequestHeaders(incoming, { "x-request-id": "req-12345678" }, ["X-Request-Id", "ACCEPT"]));
    expect(out.get("x-request-id")).toBe("req-12345678");
    expect(out.get("accept")).toBe("text/plain");
  });

  it("rewrites Location under the route prefix", () => {
    expect(rewriteLocation("/api/0/poll/1", "http://flowapi:9090", "/flowapi")).toBe("/flowapi/api/0/poll/1");
    expect(rewriteLocation("http://flowapi:9090/api/0/get/1?a=b", "http://flowapi:9090", "/flowapi")).toBe("/flowapi/api/0/get/1?a=b");
    expect(rewriteLocation("http://up:1/base/x", "http://up:1/base", "/argo")).toBe("/argo/x");
    expect(rewriteLocation("https://elsewhere.example/x", "http://flowapi:9090", "/flowapi")).toBe("https://elsewhere.example/x");
    expect(rewriteLocation("/flowapi/api/0/x", "http://flowapi:9090", "/flowapi")).toBe("/flowapi/api/0/x");
  });
});

describe("forward", () => {
  const base = {
    forwardedHeaders: prefect.upstreams!.prefect!.forwardedHeaders,
    routePrefix: "/flowapi",
    timeoutMs: 1000,
    identity: principalHeaders(principal, "req-abcdefgh"),
  };

  it("reaches the upstream with forged identity stripped (as the upstream records it)", async () => {
    const res = await forward({
      ...base,
      upstream: stubUrl(""),
      path: "/upstream/echo?x=1",
      method: "POST",
      headers: new Headers({ ...forged, "content-type": "application/json" }),
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { method: string; path: string; headers: Record<string, string>; body: string };
    expect(seen.method).toBe("POST");
    expect(seen.path).toBe("/upstream/echo?x=1");
    expect(seen.body).toBe('{"a":1}');
    expect(seen.headers["x-tenant-id"]).toBeUndefined();
    expect(seen.headers["authorization"]).toBeUndefined();
    expect(seen.headers["x-api-key"]).toBeUndefined();
    expect(seen.headers["from"]).toBeUndefined();
    expect(seen.headers["x-flowgate-subject"]).toBe("alice");
    expect(seen.headers["x-flowgate-tenant"]).toBe("acme");
  });

  it("rewrites the upstream's Location", async () => {
    const res = await forward({ ...base, upstream: stubUrl(""), path: "/upstream/redirect", method: "GET", headers: new Headers() });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/flowapi/api/0/poll/7?x=1");
  });

  it("maps an unreachable upstream to 502 and a slow one to 504", async () => {
    const down = forward({ ...base, upstream: "http://127.0.0.1:9", path: "/x", method: "GET", headers: new Headers() });
    await expect(down).rejects.toMatchObject({ code: "UPSTREAM_UNAVAILABLE", status: 502 });
    const slow = forward({ ...base, timeoutMs: 200, upstream: stubUrl(""), path: "/upstream/slow", method: "GET", headers: new Headers() });
    await expect(slow).rejects.toBeInstanceOf(GatewayError);
    await expect(slow).rejects.toMatchObject({ code: "UPSTREAM_TIMEOUT", status: 504 });
  });
});
