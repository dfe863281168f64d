/**
 * A namespace the gateway decides from the query reaches Argo in the path. Argo Server scopes a request by the
 * path's namespace; its handlers do not all honour `listOptions` (argo-workflows server/sensor/sensor_server.go
 * `ListSensors` and server/eventsource/event_source_server.go `ListEventSources` list with empty ListOptions;
 * server/workflow/workflow_server.go `WatchWorkflows` replaces the field selector with `metadata.name=<name>` when
 * the selector names one anywhere, resolving `@latest` over the path's namespace, every namespace when it is
 * empty). So a request whose only namespace is a `metadata.namespace=` term in the selector, with the path's empty,
 * would list or watch every workspace. The oracle is Argo's scoping: what Argo receives carries the decided
 * namespace as its path segment.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, stubUrl, uniqueTag } from "../../helpers";

const tag = uniqueTag("argo-pathns");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () => (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string }[];

let ab: string;
beforeAll(async () => {
  for (const [name, roles] of [
    ["alpha", ["a"]],
    ["secret", ["x"]],
  ] as const) {
    const res = await asAdmin(`/admin/workspaces/${name}`, { method: "PUT", json: { roles, hideForUnauthorized: true }, env });
    expect([200, 201]).toContain(res.status);
  }
  ab = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: ["a"] }, env)).key;
});

const sel = (s: string) => `listOptions.fieldSelector=${encodeURIComponent(s)}`;

describe("Argo receives the decided namespace in its path, never an empty one beside a selector", () => {
  it.each([
    // WatchWorkflows: `metadata.name=@latest` makes Argo take the newest workflow of every namespace, and drops the
    // namespace term from the selector.
    ["/argo/api/v1/workflow-events/", sel("metadata.namespace=alpha,metadata.name=@latest"), "/api/v1/workflow-events/alpha"],
    ["/argo/api/v1/workflow-events/", sel("metadata.name=wf-1,metadata.namespace=alpha"), "/api/v1/workflow-events/alpha"],
    // ListSensors / ListEventSources ignore listOptions: with `!=` beside the namespace the answer is not filtered.
    ["/argo/api/v1/sensors/", sel("metadata.namespace=alpha,metadata.namespace!=zzz"), "/api/v1/sensors/alpha"],
    ["/argo/api/v1/event-sources/", sel("metadata.namespace=alpha,metadata.namespace!=zzz"), "/api/v1/event-sources/alpha"],
    ["/argo/api/v1/workflows/", sel("metadata.namespace=alpha,metadata.namespace!=zzz"), "/api/v1/workflows/alpha"],
    // Watches of sensors, event sources and events.
    ["/argo/api/v1/stream/sensors/", sel("metadata.namespace=alpha"), "/api/v1/stream/sensors/alpha"],
    ["/argo/api/v1/stream/event-sources/", sel("metadata.namespace=alpha"), "/api/v1/stream/event-sources/alpha"],
    ["/argo/api/v1/stream/events/", sel("metadata.namespace=alpha"), "/api/v1/stream/events/alpha"],
  ])("%s?%s", async (path, query, expected) => {
    const before = (await records()).length;
    const res = await call(`${path}?${query}`, { env, headers: { authorization: `Bearer ${ab}` } });
    await res.body?.cancel();
    const after = await records();
    if (after.length === before) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      return;
    }
    expect(after.at(-1)!.path.split("?")[0]).toBe(expected);
  });

  it("another workspace named only in the selector is still refused", async () => {
    const res = await call(`/argo/api/v1/sensors/?${sel("metadata.namespace=secret,metadata.namespace!=zzz")}`, {
      env,
      headers: { authorization: `Bearer ${ab}` },
    });
    expect(res.status).toBe(403);
  });
});

describe("an answer about one object names the workspace it was asked in", () => {
  // GetWorkflow's `uid` (workflow.proto WorkflowGetRequest) sends Argo to the archive when the live workflow is not
  // found, and the archive looks the uid up alone (persist/sqldb/workflow_archive.go GetWorkflow).
  it("a workflow read in one's own workspace with another workspace's archived uid is not found", async () => {
    const res = await call("/argo/api/v1/workflows/alpha/anything?uid=uid-secret", { env, headers: { authorization: `Bearer ${ab}` } });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("secret");
  });

  it("nor when `fields` leaves the namespace out of the answer", async () => {
    const res = await call("/argo/api/v1/workflows/alpha/anything?uid=uid-secret&fields=status,metadata.name", {
      env,
      headers: { authorization: `Bearer ${ab}` },
    });
    expect(res.status).toBe(404);
  });

  it("one's own archived workflow by uid is read as before", async () => {
    const res = await call("/argo/api/v1/workflows/alpha/anything?uid=uid-alpha", { env, headers: { authorization: `Bearer ${ab}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { metadata: { namespace: string } }).metadata.namespace).toBe("alpha");
  });
});

describe("what Argo answers across every namespace whatever the request names", () => {
  // ListArchivedWorkflowLabelKeys / ListArchivedWorkflowLabelValues (server/workflowarchive/
  // archived_workflow_server.go) read the archive of every namespace; the `namespace` parameter is not used.
  it.each([
    "/argo/api/v1/archived-workflows-label-keys?namespace=alpha",
    `/argo/api/v1/archived-workflows-label-values?namespace=alpha&listOptions.labelSelector=${encodeURIComponent("customer")}`,
  ])("%s is for flowgate admins only", async (path) => {
    const before = (await records()).length;
    const res = await call(path, { env, headers: { authorization: `Bearer ${ab}` } });
    expect(res.status).toBe(403);
    expect((await records()).length).toBe(before);
    expect((await asAdmin(path, { env })).status).toBe(200);
  });
});
