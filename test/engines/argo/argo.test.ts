/**
 * Argo workspaces through the real Worker to a recording Argo stub: role policies (list, list of lists, owner
 * role, admin roles), listings, namespace in path / query / body, cluster-wide lists, archived workflows, the UI's
 * cookie and its event streams, and who may change a workspace.
 */
import { SignJWT, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { asAdmin, call, createTestKey, envWith, errorOf, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argo");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`), JWT_JWKS_URL: stubUrl(`/jwks/${tag}.json`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as {
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string;
  }[];
const keyWith = async (roles: string[], email?: string) =>
  (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles, email }, env)).key;
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

const put = (name: string, body: unknown, key?: string) =>
  key
    ? as(key, `/admin/workspaces/${name}`, { method: "PUT", json: body })
    : asAdmin(`/admin/workspaces/${name}`, { method: "PUT", json: body, env });

beforeAll(async () => {
  for (const [name, body] of [
    ["alpha", { roles: ["a", "b"], hideForUnauthorized: false, description: "A and B" }],
    ["beta", { roles: [["c"], ["d", "e"]], hideForUnauthorized: true }],
    ["secret", { roles: ["x"], hideForUnauthorized: true }],
    ["owned", { roles: ["ann@example.com--$owner"], hideForUnauthorized: true }],
  ] as const) {
    const res = await put(name, body);
    expect([200, 201], await res.clone().text()).toContain(res.status);
  }
});

describe("role policies", () => {
  it("a list needs every role; a list of lists needs every role of one group", async () => {
    expect((await as(await keyWith(["a", "b"]), "/argo/api/v1/workflows/alpha")).status).toBe(200);
    expect((await as(await keyWith(["a"]), "/argo/api/v1/workflows/alpha")).status).toBe(403);
    expect((await as(await keyWith(["A", "B"]), "/argo/api/v1/workflows/alpha")).status).toBe(403); // exact names
    expect((await as(await keyWith(["c"]), "/argo/api/v1/workflows/beta")).status).toBe(200);
    expect((await as(await keyWith(["d"]), "/argo/api/v1/workflows/beta")).status).toBe(403);
    expect((await as(await keyWith(["d", "e"]), "/argo/api/v1/workflows/beta")).status).toBe(200);
    expect((await as(await keyWith(["a", "b"]), "/argo/api/v1/workflows/unknown-ns")).status).toBe(403);
  });

  it("the owner role grants its owner access and admin", async () => {
    const ann = await keyWith([], "ann@example.com");
    expect((await as(ann, "/argo/api/v1/workflows/owned")).status).toBe(200);
    const listing = (await (await as(ann, "/argo/api/v1/workspaces")).json()) as {
      items: { name: string; hasAccess: boolean; isAdmin: boolean }[];
    };
    expect(listing.items.find((w) => w.name === "owned")).toEqual({ name: "owned", description: null, hasAccess: true, isAdmin: true });
    expect((await put("owned", { roles: ["ann@example.com--$owner", "x"], hideForUnauthorized: true }, ann)).status).toBe(200);
    expect((await as(await keyWith([], "bob@example.com"), "/argo/api/v1/workflows/owned")).status).toBe(403);
  });

  it("admin roles alone give no access, but let their holder manage that workspace only", async () => {
    const admin = await keyWith(["a-admin", "b-admin"]);
    expect((await as(admin, "/argo/api/v1/workflows/alpha")).status).toBe(403);
    const listing = (await (await as(admin, "/argo/api/v1/workspaces")).json()) as {
      items: { name: string; hasAccess: boolean; isAdmin: boolean }[];
    };
    expect(listing.items.find((w) => w.name === "alpha")).toMatchObject({ hasAccess: false, isAdmin: true });
    expect((await as(admin, "/admin/workspaces/alpha")).status).toBe(200);
    expect((await put("alpha", { roles: ["a", "b"], hideForUnauthorized: false, description: "edited by its admin" }, admin)).status).toBe(
      200,
    );
    for (const [method, path] of [
      ["PUT", "/admin/workspaces/beta"],
      ["PUT", "/admin/workspaces/brand-new"],
      ["GET", "/admin/workspaces"],
      ["DELETE", "/admin/workspaces/secret"],
      ["GET", "/admin/keys"],
    ] as const) {
      const res = await as(admin, path, { method, json: method === "PUT" ? { roles: ["z"], hideForUnauthorized: false } : undefined });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    const partial = await keyWith(["a-admin"]);
    expect((await put("alpha", { roles: ["a"], hideForUnauthorized: false }, partial)).status).toBe(403);
  });

  it("listing: workspaces one may enter or administer, and unhidden ones; hidden ones stay hidden", async () => {
    const c = await keyWith(["c"]);
    const { items } = (await (await as(c, "/argo/api/v1/workspaces")).json()) as { items: { name: string; hasAccess: boolean }[] };
    expect(items.map((w) => `${w.name}:${w.hasAccess}`).sort()).toEqual(["alpha:false", "beta:true"]);
  });
});

describe("the namespace of a request", () => {
  let ab: string;
  beforeAll(async () => {
    ab = await keyWith(["a", "b"]);
  });

  it.each([
    ["/argo/api/v1/workflows/alpha?listOptions.fieldSelector=metadata.namespace%3Dsecret", 400],
    ["/argo/api/v1/workflows/alpha?namespace=secret", 400],
    ["/argo/api/v1/workflows/?listOptions.fieldSelector=metadata.namespace%3Dsecret", 403],
    ["/argo/api/v1/archived-workflows?namespace=secret", 403],
    ["/argo/api/v1/workflow-events/", 403],
    ["/argo/api/v1/stream/events/secret", 403],
    ["/argo/api/v1/workflows/Not_A_Namespace", 400],
    ["/argo/api/v1/archived-workflows-label-keys", 403],
    ["/argo/api/v1/namespaces/alpha", 404],
  ])("GET %s -> %i, and the upstream is not asked", async (path, status) => {
    const before = (await records()).length;
    const res = await as(ab, path);
    expect(res.status).toBe(status);
    expect((await records()).length).toBe(before);
  });

  it("a namespace in the body must be the path's", async () => {
    const bad = await as(ab, "/argo/api/v1/workflows/alpha", {
      method: "POST",
      json: { namespace: "alpha", workflow: { metadata: { namespace: "secret", generateName: "x-" } } },
    });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain("body");
    const ok = await as(ab, "/argo/api/v1/workflows/alpha", {
      method: "POST",
      json: { namespace: "alpha", workflow: { metadata: { namespace: "alpha", generateName: "x-" } } },
    });
    expect(ok.status).toBe(200);
    const rec = (await records()).at(-1)!;
    expect(rec.path).toBe("/api/v1/workflows/alpha");
    expect(JSON.parse(rec.body).workflow.metadata.namespace).toBe("alpha");
    expect(rec.headers.authorization).toBeUndefined();
    expect(rec.headers["x-flowgate-roles"]).toBe("a,b");
  });

  it("listings across namespaces are filtered to the caller's workspaces", async () => {
    for (const path of ["/argo/api/v1/workflows/", "/argo/api/v1/archived-workflows"]) {
      const res = await as(ab, path);
      expect(res.status).toBe(200);
      const { items } = (await res.json()) as { items: { metadata: { namespace: string } }[] };
      expect(items.map((i) => i.metadata.namespace)).toEqual(["alpha"]);
    }
  });

  it("archived workflows by uid: the archive's namespace decides, before anything is done", async () => {
    expect((await as(ab, "/argo/api/v1/archived-workflows/uid-alpha")).status).toBe(200);
    expect((await as(ab, "/argo/api/v1/archived-workflows/uid-secret")).status).toBe(404);
    expect((await as(ab, "/argo/api/v1/archived-workflows/uid-secret", { method: "DELETE" })).status).toBe(404);
    expect((await records()).filter((r) => r.method === "DELETE")).toEqual([]);
    expect((await as(ab, "/argo/api/v1/archived-workflows/uid-alpha", { method: "DELETE" })).status).toBe(200);
  });

  it("a body naming another namespace is refused whatever the method, archived resubmits included", async () => {
    for (const method of ["PATCH", "PUT", "DELETE"]) {
      const res = await as(ab, "/argo/api/v1/workflows/alpha/wf-1", { method, json: { namespace: "secret" } });
      expect(res.status, method).toBe(400);
    }
    const resubmit = await as(ab, "/argo/api/v1/archived-workflows/uid-alpha/resubmit", {
      method: "PUT",
      json: { namespace: "secret", memoized: false },
    });
    expect(resubmit.status).toBe(400);
    expect((await records()).filter((r) => r.path.includes("resubmit"))).toEqual([]);
    const ok = await as(ab, "/argo/api/v1/archived-workflows/uid-alpha/resubmit", { method: "PUT", json: { namespace: "alpha" } });
    expect(ok.status).toBe(200);
  });

  it("a cross-namespace listing in a shape it cannot filter is a 502, never passed through", async () => {
    const res = await as(ab, "/argo/api/v1/workflow-templates/");
    expect(res.status).toBe(502);
    expect(await res.text()).not.toContain("secret");
  });

  it("cluster-scoped changes are for flowgate admins; reading cluster templates is open", async () => {
    expect((await as(ab, "/argo/api/v1/cluster-workflow-templates", { method: "POST", json: {} })).status).toBe(403);
    expect((await as(ab, "/argo/api/v1/cluster-workflow-templates")).status).toBe(200);
    expect((await asAdmin("/argo/api/v1/cluster-workflow-templates", { method: "POST", json: {}, env })).status).toBe(200);
  });

  it("artifacts are namespaced too", async () => {
    expect((await as(ab, "/argo/artifacts/alpha/wf-1/node-1/main-logs")).status).toBe(200);
    expect((await as(ab, "/argo/artifacts/secret/wf-1/node-1/main-logs")).status).toBe(403);
    expect((await as(ab, "/argo/artifacts-by-uid/uid-secret/node-1/main-logs")).status).toBe(404);
  });
});

describe("the Argo UI", () => {
  it("sends its token in an authorization cookie; event streams pass through unbuffered", async () => {
    const idp = await importJWK(inject("idpPrivateJwk") as never, "RS256");
    const jwt = await new SignJWT({ sub: "ui-user", roles: ["a", "b"] })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setExpirationTime("5m")
      .sign(idp as CryptoKey);
    const res = await call("/argo/api/v1/workflow-events/alpha?listOptions.fieldSelector=metadata.namespace%3Dalpha", {
      env,
      headers: { cookie: `theme=dark; authorization=${encodeURIComponent(`Bearer ${jwt}`)}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const started = Date.now();
    const first = new TextDecoder().decode((await reader.read()).value);
    const firstAt = Date.now() - started;
    expect(first).toContain('"ADDED"');
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"MODIFIED"');
    expect(firstAt).toBeLessThan(350); // the first event came before the stream ended (400 ms later)
    const rec = (await records()).at(-1)!;
    expect(rec.headers.cookie).toBeUndefined();
  });

  it("its page and static files need no credential; nothing else does without one", async () => {
    expect((await call("/argo/", { env })).status).toBe(200);
    expect((await call("/argo/main.js", { env })).status).toBe(200);
    expect((await call("/argo/oauth2/callback", { env })).status).toBe(401); // needs a credential (issue 17, class 3); was 404
    expect((await call("/argo/api/v1/workflows/alpha", { env })).status).toBe(401);
  });
});

describe("deleting a workspace", () => {
  it("removes its policy only, and then nobody may enter it", async () => {
    expect((await put("temp", { roles: ["a"], hideForUnauthorized: false })).status).toBe(201);
    const a = await keyWith(["a"]);
    expect((await as(a, "/argo/api/v1/workflows/temp")).status).toBe(200);
    const del = await asAdmin("/admin/workspaces/temp", { method: "DELETE", env });
    expect(await del.json()).toEqual({ deleted: "temp", namespace: "untouched" });
    expect((await as(a, "/argo/api/v1/workflows/temp")).status).toBe(403);
  });

  it("refuses malformed policies", async () => {
    for (const body of [
      { roles: [], hideForUnauthorized: false },
      { roles: ["a"] },
      { roles: [["a"], "b"], hideForUnauthorized: true },
      { roles: ["a"], hideForUnauthorized: false, extra: 1 },
    ]) {
      expect((await put("bad-one", body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await put("Bad_Name", { roles: ["a"], hideForUnauthorized: false })).status).toBe(404);
  });
});
