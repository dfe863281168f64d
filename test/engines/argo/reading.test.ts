/**
 * One reading of every Argo request (issue 25, class 1), through the real Worker to the recording Argo stand-in:
 * a request Argo Server could read two ways is refused before Argo is asked (a namespace in a second spelling of a
 * query parameter, a parameter Argo takes once given twice, a path parameter's name in the query, keys that Go's
 * encoding/json folds together); and what reaches Argo is the gateway's own serialization: the body re-encoded
 * from the checked value, the query rebuilt from the decided parameters in their one spelling.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, errorOf, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argo-read");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as {
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string;
  }[];
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

let ab: string;
beforeAll(async () => {
  for (const [name, roles] of [
    ["alpha", ["a", "b"]],
    ["secret", ["x"]],
  ] as const) {
    const res = await asAdmin(`/admin/workspaces/${name}`, { method: "PUT", json: { roles, hideForUnauthorized: true }, env });
    expect([200, 201]).toContain(res.status);
  }
  ab = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: ["a", "b"] }, env)).key;
});

const sel = (ns: string, op = "=") => encodeURIComponent(`metadata.namespace${op}${ns}`);

describe("a request Argo could read two ways is refused, and Argo is not asked", () => {
  it.each([
    // grpc-gateway takes a field under its JSON and its proto name, in random order when both come.
    [`/argo/api/v1/workflows/?listOptions.fieldSelector=${sel("alpha")}&list_options.field_selector=${sel("secret")}`, 400],
    [`/argo/api/v1/workflows/?list_options.field_selector=${sel("secret")}&listOptions.fieldSelector=${sel("alpha")}`, 400],
    [`/argo/api/v1/workflow-events/?listOptions.fieldSelector=${sel("alpha")}&list_options.field_selector=${sel("secret")}`, 400],
    [`/argo/api/v1/workflow-events/?listOptions.fieldSelector=${sel("alpha")}&listOptions.field_selector=${sel("secret")}`, 400],
    [`/argo/api/v1/archived-workflows?namespace=alpha&list_options.field_selector=${sel("secret")}`, 400],
    // Given twice where Argo takes one value.
    [`/argo/api/v1/workflows/?listOptions.fieldSelector=${sel("alpha")}&listOptions.fieldSelector=${sel("secret")}`, 400],
    [`/argo/api/v1/archived-workflows?namespace=alpha&namespace=secret`, 400],
    // `namespace` is the path's parameter on these routes: grpc-gateway skips it in the query, so Argo would list
    // or watch every namespace.
    ["/argo/api/v1/workflow-events/?namespace=alpha", 400],
    ["/argo/api/v1/workflows/?namespace=alpha", 400],
    // `!=` makes Argo list every namespace but one, whatever the path says.
    [`/argo/api/v1/workflows/alpha?listOptions.fieldSelector=${sel("secret", "!=")}`, 403],
    [`/argo/api/v1/workflows/alpha?listOptions.fieldSelector=${sel("alpha", "!=")}`, 403],
    // A namespace term Argo's selector parser reads otherwise, and an escaped comma Kubernetes reads otherwise.
    [`/argo/api/v1/workflows/?listOptions.fieldSelector=${encodeURIComponent(" metadata.namespace=alpha")}`, 400],
    [`/argo/api/v1/workflows/?listOptions.fieldSelector=${encodeURIComponent("metadata.name=a\\,metadata.namespace=secret")}`, 400],
    // Go's ParseBool reads `1` as true: a watch of every namespace, which cannot be filtered.
    ["/argo/api/v1/workflows/?listOptions.watch=1", 403],
    // A parameter this route does not take, or in grpc-gateway's `key[x]` form.
    ["/argo/api/v1/workflows/alpha?foo=bar", 400],
    ["/argo/api/v1/archived-workflows?namespace%5Bsecret%5D=alpha", 400],
    // The archived workflow is named by its uid; `name`/`namespace` would make Argo look up another.
    ["/argo/api/v1/archived-workflows/uid-alpha?name=wf-1", 400],
    // grpc-gateway reads `:x` at the end of a path as a custom verb.
    ["/argo/api/v1/workflows/alpha/wf-1%3Aresubmit", 400],
  ])("GET %s -> %i", async (path, status) => {
    const before = (await records()).length;
    const res = await as(ab, path);
    expect(res.status, await res.clone().text()).toBe(status);
    expect((await records()).length).toBe(before);
  });

  it("deleting an archived workflow with another namespace beside its uid: 404, and Argo is not asked to delete", async () => {
    const res = await as(ab, "/argo/api/v1/archived-workflows/uid-alpha?namespace=secret", { method: "DELETE" });
    expect(res.status).toBe(404);
    expect((await records()).filter((r) => r.method === "DELETE")).toEqual([]);
  });

  it.each([
    [
      "resubmit, namespace and Namespace",
      "PUT",
      "/argo/api/v1/workflows/alpha/wf-1/resubmit",
      '{"namespace":"alpha","Namespace":"secret","memoized":false}',
    ],
    ["resubmit, Namespace alone", "PUT", "/argo/api/v1/workflows/alpha/wf-1/resubmit", '{"Namespace":"secret"}'],
    [
      "archived resubmit, namespace and Namespace",
      "PUT",
      "/argo/api/v1/archived-workflows/uid-alpha/resubmit",
      '{"namespace":"alpha","Namespace":"secret"}',
    ],
    [
      "archived retry, ſ for s",
      "PUT",
      "/argo/api/v1/archived-workflows/uid-alpha/retry",
      '{"namespace":"alpha","name\\u017fpace":"secret"}',
    ],
    ["create, Metadata", "POST", "/argo/api/v1/workflows/alpha", '{"namespace":"alpha","workflow":{"Metadata":{"namespace":"secret"}}}'],
    [
      "create, namespace twice",
      "POST",
      "/argo/api/v1/workflows/alpha",
      '{"namespace":"alpha","workflow":{"metadata":{"namespace":"alpha","namespace":"secret"}}}',
    ],
    ["create, Kelvin sign in workflow", "POST", "/argo/api/v1/workflows/alpha", '{"wor\\u212aflow":{"metadata":{"name":"x"}}}'],
    [
      "submit, NAMESPACE",
      "POST",
      "/argo/api/v1/workflows/alpha/submit",
      '{"namespace":"alpha","resourceKind":"WorkflowTemplate","NAMESPACE":"secret"}',
    ],
    [
      "a number Go reads exactly and JavaScript cannot",
      "POST",
      "/argo/api/v1/workflows/alpha",
      '{"workflow":{"spec":{"activeDeadlineSeconds":9007199254740993}}}',
    ],
  ])("%s: 400, and Argo is not asked", async (_label, method, path, body) => {
    const before = (await records()).length;
    const res = await as(ab, path, { method, body, headers: { "content-type": "application/json" } });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await errorOf(res)).message).toMatch(/key|number/);
    // Only the archive's lookup of an archived workflow's namespace may have been asked.
    expect((await records()).slice(before).filter((r) => r.method !== "GET")).toEqual([]);
  });
});

describe("a listing whose namespace only the query names", () => {
  it("is still filtered, to that namespace: Argo's sensor and event-source listings ignore listOptions", async () => {
    for (const path of [
      `/argo/api/v1/workflows/?listOptions.fieldSelector=${sel("alpha")}`,
      "/argo/api/v1/archived-workflows?namespace=alpha",
    ]) {
      const res = await as(ab, path);
      expect(res.status, path).toBe(200);
      const { items } = (await res.json()) as { items: { metadata: { namespace: string } }[] };
      expect(items.map((i) => i.metadata.namespace)).toEqual(["alpha"]);
    }
  });
});

describe("what reaches Argo is the gateway's own serialization", () => {
  it("a body arrives re-encoded from the checked value, as JSON whatever the client called it", async () => {
    const text =
      '{ "namespace" : "alpha",\n "workflow" : { "metadata" : { "namespace" : "alpha", "labels" : { "t" : "\\u00e9\\/" } }, "spec": { "parallelism": 2.0 } } }';
    const res = await as(ab, "/argo/api/v1/workflows/alpha", {
      method: "POST",
      body: text,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);
    const rec = (await records()).at(-1)!;
    expect(rec.body).toBe(
      '{"namespace":"alpha","workflow":{"metadata":{"namespace":"alpha","labels":{"t":"é/"}},"spec":{"parallelism":2}}}',
    );
    expect(rec.headers["content-type"]).toBe("application/json");
  });

  it("the query arrives rebuilt: the route's parameters in their one spelling, bools as true/false", async () => {
    const res = await as(
      ab,
      `/argo/api/v1/workflows/alpha?fields=items.metadata.name&list_options.limit=5&listOptions.labelSelector=${encodeURIComponent("a=b c")}&listOptions.fieldSelector=${sel("alpha")}&list_options.watch=F`,
    );
    expect(res.status).toBe(200);
    expect((await records()).at(-1)!.path).toBe(
      "/api/v1/workflows/alpha?listOptions.labelSelector=a%3Db+c&listOptions.fieldSelector=metadata.namespace%3Dalpha&listOptions.watch=false&listOptions.limit=5&fields=items.metadata.name",
    );
  });

  it("the UI's own requests pass as they are", async () => {
    for (const path of [
      `/argo/api/v1/workflows/alpha?listOptions.fieldSelector=${sel("alpha")}&fields=items.metadata.name,items.metadata.namespace`,
      "/argo/api/v1/archived-workflows/?namespace=alpha&listOptions.limit=10",
      "/argo/api/v1/archived-workflows/uid-alpha?namespace=alpha",
      "/argo/api/v1/workflows/alpha/wf-1/log?logOptions.container=main&logOptions.follow=true&grep=x",
    ]) {
      const res = await as(ab, path);
      expect(res.status, path).toBe(200);
    }
    const del = await as(ab, "/argo/api/v1/workflows/alpha/wf-1?deleteOptions.dryRun=All&deleteOptions.dryRun=All&force=true", {
      method: "DELETE",
    });
    expect(del.status).toBe(200);
    expect((await records()).at(-1)!.path).toBe(
      "/api/v1/workflows/alpha/wf-1?deleteOptions.dryRun=All&deleteOptions.dryRun=All&force=true",
    );
  });
});
