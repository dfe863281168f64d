/**
 * Power in an Argo workflow spec (issue 25, class 6), through the real Worker to the recording Argo stand-in: a
 * body asking for more than its workspace's grants (a privileged container, the node's `/` by hostPath, the host's
 * network, podSpecPatch, a service account or ClusterWorkflowTemplate not granted) never reaches Argo, and its
 * refusal names the field and the rule; a plain hello-world does, byte for byte. The grants live on the workspace
 * (PUT /admin/workspaces/{name}): its own admins may narrow them, only flowgate admins widen them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, errorOf, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argospec");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; body: string }[];
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

/** The workspace under test: its own name, so other files' workspaces never meet it. */
const ws = uniqueTag("spec");
const role = uniqueTag("r");
let user: string;
let wsAdmin: string;

type Wf = Record<string, any>;
const hello = (): Wf => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "hello-world-", namespace: ws },
  spec: {
    entrypoint: "main",
    templates: [{ name: "main", container: { image: "busybox", command: ["echo"], args: ["hello"] } }],
  },
});
const edit = (f: (wf: Wf) => void) => {
  const wf = hello() as Wf;
  f(wf);
  return wf;
};
const container = (wf: Wf) => wf.spec.templates[0]!.container as Record<string, unknown>;
const submit = (key: string, wf: unknown) =>
  as(key, `/argo/api/v1/workflows/${ws}`, { method: "POST", json: { namespace: ws, workflow: wf } });
const putWorkspace = (body: Record<string, unknown>, key?: string) =>
  key
    ? as(key, `/admin/workspaces/${ws}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: false, ...body } })
    : asAdmin(`/admin/workspaces/${ws}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: false, ...body }, env });

beforeAll(async () => {
  const res = await putWorkspace({ serviceAccounts: ["runner"], clusterTemplates: ["shared"] });
  expect(res.status, await res.clone().text()).toBe(201);
  user = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: [role] }, env)).key;
  wsAdmin = (await createTestKey({ tenant: "acme", subject: uniqueTag("a"), roles: [`${role}-admin`] }, env)).key;
});

describe("a submitted spec, against the workspace's grants (baseline by default)", () => {
  it.each([
    [
      "a privileged container",
      edit((wf) => (container(wf).securityContext = { privileged: true })),
      "workflow.spec.templates[0].container.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "the node's / through hostPath",
      edit((wf) => (wf.spec.volumes = [{ name: "root", hostPath: { path: "/" } }])),
      "workflow.spec.volumes[0].hostPath",
      "pod-security-baseline/host-path",
    ],
    [
      "the host's network",
      edit((wf) => (wf.spec.hostNetwork = true)),
      "workflow.spec.hostNetwork",
      "pod-security-baseline/host-namespaces",
    ],
    [
      "podSpecPatch",
      edit((wf) => (wf.spec.podSpecPatch = '{"hostPID":true,"containers":[{"name":"main","securityContext":{"privileged":true}}]}')),
      "workflow.spec.podSpecPatch",
      "pod-spec-patch",
    ],
    ["PodSpecPatch (Go folds the key's case)", edit((wf) => (wf.spec.PodSpecPatch = "{}")), "workflow.spec.PodSpecPatch", "unknown-field"],
    [
      "a service account not granted",
      edit((wf) => (wf.spec.serviceAccountName = "argo-server")),
      "workflow.spec.serviceAccountName",
      "service-account",
    ],
    [
      "a ClusterWorkflowTemplate not granted",
      edit((wf) => (wf.spec = { workflowTemplateRef: { name: "cluster-admin-tools", clusterScope: true } })),
      "workflow.spec.workflowTemplateRef.name",
      "cluster-template",
    ],
    [
      "a resource template",
      edit((wf) => (wf.spec.templates[0] = { name: "main", resource: { action: "create", manifest: "kind: ClusterRoleBinding" } })),
      "workflow.spec.templates[0].resource",
      "resource-templates",
    ],
  ])("%s never reaches Argo, and the refusal names the field and the rule", async (_, wf, field, rule) => {
    const before = (await records()).length;
    const res = await submit(user, wf);
    expect([400, 403]).toContain(res.status);
    const body = (await res.json()) as { error: { message: string; field: string; rule: string } };
    expect(body.error).toMatchObject({ field, rule });
    expect(body.error.message).toContain(field);
    expect((await records()).length).toBe(before);
  });

  it("a plain hello-world reaches Argo as it was sent", async () => {
    const res = await submit(user, hello());
    expect(res.status).toBe(200);
    const rec = (await records()).at(-1)!;
    expect(rec.path).toBe(`/api/v1/workflows/${ws}`);
    expect(JSON.parse(rec.body)).toEqual({ namespace: ws, workflow: hello() });
  });

  it("a service account and a ClusterWorkflowTemplate the workspace holds reach Argo", async () => {
    expect(
      (
        await submit(
          user,
          edit((wf) => (wf.spec.serviceAccountName = "runner")),
        )
      ).status,
    ).toBe(200);
    const ref = { workflowTemplateRef: { name: "shared", clusterScope: true } };
    expect(
      (
        await submit(
          user,
          edit((wf) => (wf.spec = ref)),
        )
      ).status,
    ).toBe(200);
  });

  it("workflow templates, cron workflows, lint and submit are checked the same way", async () => {
    const before = (await records()).length;
    const hostPath = edit((wf) => (wf.spec.volumes = [{ name: "root", hostPath: { path: "/" } }])).spec;
    for (const [path, body] of [
      [`/argo/api/v1/workflow-templates/${ws}`, { namespace: ws, template: { metadata: { name: "t" }, spec: hostPath } }],
      [`/argo/api/v1/workflow-templates/${ws}/lint`, { namespace: ws, template: { metadata: { name: "t" }, spec: hostPath } }],
      [
        `/argo/api/v1/cron-workflows/${ws}`,
        { namespace: ws, cronWorkflow: { metadata: { name: "c" }, spec: { schedules: ["0 * * * *"], workflowSpec: hostPath } } },
      ],
      [`/argo/api/v1/workflows/${ws}/lint`, { namespace: ws, workflow: { metadata: { name: "w" }, spec: hostPath } }],
      [
        `/argo/api/v1/workflows/${ws}/submit`,
        { namespace: ws, resourceKind: "WorkflowTemplate", resourceName: "t", submitOptions: { serviceAccount: "argo-server" } },
      ],
      [`/argo/api/v1/sensors/${ws}`, { namespace: ws, sensor: { metadata: { name: "s" } } }],
    ] as const) {
      const res = await as(user, path, { method: "POST", json: body });
      expect(res.status, path).toBe(403);
    }
    expect((await records()).length).toBe(before);
  });
});

describe("the grants on the workspace", () => {
  it("are shown, and validated", async () => {
    const w = (await (await asAdmin(`/admin/workspaces/${ws}`, { env })).json()) as Record<string, unknown>;
    expect(w).toMatchObject({
      podSecurity: "baseline",
      serviceAccounts: ["runner"],
      clusterTemplates: ["shared"],
      priorityClasses: [],
      capabilities: [],
    });
    expect((await putWorkspace({ podSecurity: "root" })).status).toBe(400);
    expect((await putWorkspace({ capabilities: ["everything"] })).status).toBe(400);
    expect((await putWorkspace({ serviceAccounts: ["Not A Name"] })).status).toBe(400);
    // The admin API's document describes them.
    const doc = (await (await asAdmin("/admin/openapi.json", { env })).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown; examples?: object }> } }>>;
    };
    const put = doc.paths["/admin/workspaces/{name}"]!.put!.requestBody!.content["application/json"]!;
    expect(Object.keys(put.examples ?? {})).toContain("withGrants");
    expect(JSON.stringify(doc)).toContain('"podSecurity"');
  });

  it("a workspace's admin may narrow them, not widen them; a flowgate admin may grant privileged", async () => {
    const privileged = edit((wf) => (container(wf).securityContext = { privileged: true }));
    for (const widen of [
      { podSecurity: "privileged" },
      { serviceAccounts: ["runner", "argo-server"] },
      { capabilities: ["pod-spec-patch"] },
    ]) {
      const res = await putWorkspace(widen, wsAdmin);
      expect(res.status, JSON.stringify(widen)).toBe(403);
      expect((await errorOf(res)).message).toContain(Object.keys(widen)[0]!);
    }
    // Restricted: a hello-world that leaves its security settings to the defaults is refused.
    expect((await putWorkspace({ podSecurity: "restricted" }, wsAdmin)).status).toBe(200);
    const refused = await submit(user, hello());
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { rule: string } }).error.rule).toBe("pod-security-restricted/privilege-escalation");
    // Left out of a PUT, a grant keeps its value.
    expect((await putWorkspace({ description: "renamed" }, wsAdmin)).status).toBe(200);
    expect(((await (await asAdmin(`/admin/workspaces/${ws}`, { env })).json()) as { podSecurity: string }).podSecurity).toBe("restricted");

    expect((await submit(user, privileged)).status).toBe(403);
    expect((await putWorkspace({ podSecurity: "privileged" })).status).toBe(200);
    const before = (await records()).length;
    expect((await submit(user, privileged)).status).toBe(200);
    expect((await records()).length).toBe(before + 1);
    // Privileged lifts Pod Security only: podSpecPatch and service accounts are still decided by their grants.
    expect(
      (
        await submit(
          user,
          edit((wf) => (wf.spec.podSpecPatch = "{}")),
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await submit(
          user,
          edit((wf) => (wf.spec.serviceAccountName = "argo-server")),
        )
      ).status,
    ).toBe(403);
  });
});
