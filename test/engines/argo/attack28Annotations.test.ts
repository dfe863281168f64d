/**
 * A seventh attacker's pass over issue 25 (attack28), class 6: the pod annotations Argo's controller acts on, read in
 * argoproj/argo-workflows (v4, workflow/common/common.go `AnnotationKey*`, workflow/controller/workflowpod.go,
 * workflow/signal/signal.go, workflow/controller/pod/queue.go). Through the Worker, recording stand-in.
 *
 * The controller builds a pod with its own annotations (`node-name`, `node-id`, `pod-gc-strategy`, ...) and then
 * copies the spec's `podMetadata.annotations` and the template's `metadata.annotations` over them (workflowpod.go
 * `addMetadata`, called after), so a spec's value wins. The one with power is `kill-cmd-<container>`: when a
 * workflow is stopped, terminated or runs out of time, the controller signals every running container of its pods
 * by exec'ing, in each, the JSON command that annotation names (signal.go `killCommand`: "A kill-command annotation,
 * when present, overrides everything"), Argo's own `wait` container included. The `wait` container is the executor:
 * it holds the executor's service-account token (`spec.executor.serviceAccountName`, or the operator's default,
 * mounted there and not in `main`) and reads the artifact repository. `main` shares `/var/run/argo` with it, so the
 * author writes a program there and `kill-cmd-wait: ["/var/run/argo/x"]` runs it as the executor (argoexec's image is
 * distroless: the program is the author's, not a shell). Medium: it stays in the workspace's namespace, but it hands
 * the workflow's code an identity the gateway never granted (high where the executor's account reaches further).
 * Read in the sources, not run on a cluster.
 *
 * Fixed: a pod annotation that the controller sets or reads on a pod (`ARGO_POD_ANNOTATIONS`), and `kill-cmd-` for
 * Argo's own containers (`wait`, `supervisor`, `init`, `init-artifact-*`, `artifact-plugin-*`), are refused; a
 * `kill-cmd-` for the author's or an injected sidecar (what the annotation exists for) still passes.
 *
 * Held: `{{=` in a label's or an annotation's VALUE (the name is a literal and checked; a value chooses nothing the
 * controller acts on beyond the unbounded-expression availability issue attack26 wrote down), `labelsFrom` computing
 * a value for a literal, unmanaged name, and the workflow's `pod-name-format` annotation (the controller overwrites
 * it, operator.go `setWfPodNamesAnnotation`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argoa28");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; body: string }[];
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

const ws = uniqueTag("a28");
const role = uniqueTag("r");
let user: string;

const workflow = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "a28-", namespace: ws, ...metadata },
  spec: {
    entrypoint: "main",
    templates: [{ name: "main", container: { image: "busybox", command: ["sleep", "3600"] } }],
    ...spec,
  },
});
const submit = (wf: unknown) => as(user, `/argo/api/v1/workflows/${ws}`, { method: "POST", json: { namespace: ws, workflow: wf } });
const onTemplate = (annotations: Record<string, string>) =>
  workflow({
    templates: [{ name: "main", metadata: { annotations }, container: { image: "busybox", command: ["sleep", "3600"] } }],
  });

beforeAll(async () => {
  const res = await asAdmin(`/admin/workspaces/${ws}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: false }, env });
  expect(res.status, await res.clone().text()).toBe(201);
  user = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: [role] }, env)).key;
});

describe("pod annotations Argo's controller acts on (attack28, medium, fixed)", () => {
  it.each([
    "workflows.argoproj.io/kill-cmd-wait",
    "workflows.argoproj.io/kill-cmd-supervisor",
    "workflows.argoproj.io/kill-cmd-init",
    "workflows.argoproj.io/kill-cmd-init-artifact-s3",
    "workflows.argoproj.io/kill-cmd-artifact-plugin-x",
    "workflows.argoproj.io/node-id",
    "workflows.argoproj.io/node-name",
    "workflows.argoproj.io/pod-gc-strategy",
    "workflows.argoproj.io/progress",
  ])("%s on a template's pod, or on every pod, is refused and nothing is sent", async (key) => {
    const before = (await records()).length;
    for (const wf of [onTemplate({ [key]: '["/var/run/argo/x"]' }), workflow({ podMetadata: { annotations: { [key]: "x" } } })]) {
      const res = await submit(wf);
      expect(res.status, await res.clone().text()).toBe(403);
      expect(await res.text()).toContain("Argo's own");
    }
    expect((await records()).length).toBe(before);
  });

  it("a kill command for the author's own or an injected sidecar still passes", async () => {
    const res = await submit(
      onTemplate({ "workflows.argoproj.io/kill-cmd-istio-proxy": '["pilot-agent","request","POST","quitquitquit"]' }),
    );
    expect(res.status, await res.clone().text()).toBeLessThan(400);
  });
});

describe("expressions in label and annotation values (attack28: held)", () => {
  it("a {{= value under a literal, unmanaged name passes: it names nothing the controller acts on", async () => {
    const res = await submit(
      workflow(
        {
          workflowMetadata: {
            labels: { team: "{{= workflow.name }}" },
            labelsFrom: { owner: { expression: "workflow.parameters.who" } },
            annotations: { note: "{{= sprig.upper(workflow.name) }}" },
          },
          arguments: { parameters: [{ name: "who", value: "ann" }] },
        },
        { labels: { stage: "{{workflow.name}}" }, annotations: { "workflows.argoproj.io/pod-name-format": "v1" } },
      ),
    );
    expect(res.status, await res.clone().text()).toBeLessThan(400);
  });

  it("a labelsFrom computing the value of one of Argo's own labels is refused by its name", async () => {
    const res = await submit(
      workflow({ workflowMetadata: { labelsFrom: { "workflows.argoproj.io/controller-instanceid": { expression: "'other'" } } } }),
    );
    expect(res.status, await res.clone().text()).toBe(403);
  });
});
