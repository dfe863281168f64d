/**
 * A fifth attacker's pass over issue 25 (attack26), class 6, through the Worker against the recording stand-in.
 *
 * Argo's controller evaluates every `{{=...}}` in a workflow (util/template/expression_template.go, `expr.Run`)
 * with expr-lang and an environment holding all of sprig's generic functions but `env` and `expandenv`
 * (util/expr/env/env.go). sprig v3.3.0's `repeat` is `strings.Repeat(str, count)` with no bound
 * (Masterminds/sprig functions.go), so `{{=sprig.repeat(2000000000, 'x')}}` in a container's args makes the one
 * controller every workspace shares allocate 2 GB while it resolves the template, and do so again on each retry of
 * the workflow's reconciliation: a workspace member with no grant stalls or crash-loops every workspace's
 * workflows (medium: availability). Read in the sources, not run on a cluster. specPolicy.ts classes strings that
 * Argo resolves as plain, so the gateway forwards it.
 *
 * What held is below it: pod fields Argo's Template does not carry (nodeName, runtimeClassName, hostUsers, overhead,
 * hostPID under any spelling) are refused as unknown, not passed.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argoa26");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; body: string }[];
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

const ws = uniqueTag("a26");
const role = uniqueTag("r");
let user: string;

const workflow = (template: Record<string, unknown>) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "a26-", namespace: ws },
  spec: { entrypoint: "main", templates: [{ name: "main", container: { image: "busybox", command: ["true"] }, ...template }] },
});
const submit = (template: Record<string, unknown>) =>
  as(user, `/argo/api/v1/workflows/${ws}`, { method: "POST", json: { namespace: ws, workflow: workflow(template) } });

beforeAll(async () => {
  const res = await asAdmin(`/admin/workspaces/${ws}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: false }, env });
  expect(res.status, await res.clone().text()).toBe(201);
  user = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: [role] }, env)).key;
});

describe("an expression the shared controller evaluates without bound (attack26, medium)", () => {
  // FIXME(attack26, medium): specPolicy.ts classes `args` (and every other string Argo resolves) as plain; the
  // controller's expr environment (util/expr/env/env.go) offers sprig's unbounded `repeat`. Not fixed: refusing
  // `{{=` would break `when`/`depends`-style use; bounding it needs a reading of expr-lang's grammar.
  it.fails("a {{=sprig.repeat(...)}} of 2 GB is refused, and nothing is sent", async () => {
    const before = (await records()).length;
    const res = await submit({ container: { image: "busybox", command: ["echo"], args: ["{{=sprig.repeat(2000000000, 'x')}}"] } });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await records()).length).toBe(before);
  });
});

/**
 * Which controller runs a workflow is its `workflows.argoproj.io/controller-instanceid` label. Argo Server sets it
 * from its own configuration on every object it creates (util/instanceid `Label`), but two labels the spec holds
 * are applied later, past it: a CronWorkflow's `workflowMetadata.labels` are copied onto each workflow it creates
 * after the cron's own instance id (workflow/common/convert.go, `maps.Copy` after `LabelKeyControllerInstanceID`),
 * and a Workflow's `spec.workflowMetadata.labels` are written onto the running workflow by the controller
 * (workflow/controller/operator.go `updateWorkflowMetadata`). Where a cluster shards workflows over controllers
 * by instance id (each with its own `workflowDefaults`, executor, artifact repository or managed namespaces), a
 * workspace moves its workflows to a controller the operator did not assign it. Medium: it needs such a cluster.
 * specPolicy.ts classes both label maps as plain.
 */
describe("labels that choose the controller (attack26, medium)", () => {
  const INSTANCE = "workflows.argoproj.io/controller-instanceid";
  // FIXME(attack26, medium): SHAPES.CronWorkflowSpec.workflowMetadata (ObjectMeta: labels plain) and
  // SHAPES.WorkflowSpec.workflowMetadata (plain) let the instance-id label through.
  it("a cron whose workflowMetadata names another controller instance is refused, and nothing is sent", async () => {
    const cron = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "CronWorkflow",
      metadata: { name: "a26cron", namespace: ws },
      spec: { schedules: ["* * * * *"], workflowMetadata: { labels: { [INSTANCE]: "trusted" } }, workflowSpec: workflow({}).spec },
    };
    const before = (await records()).length;
    const res = await as(user, `/argo/api/v1/cron-workflows/${ws}`, { method: "POST", json: { namespace: ws, cronWorkflow: cron } });
    expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(400);
    expect((await records()).length).toBe(before);
  });

  it("a workflow whose spec.workflowMetadata names another controller instance is refused, and nothing is sent", async () => {
    const wf = workflow({});
    const body = { ...wf, spec: { ...wf.spec, workflowMetadata: { labels: { [INSTANCE]: "trusted" } } } };
    const before = (await records()).length;
    const res = await as(user, `/argo/api/v1/workflows/${ws}`, { method: "POST", json: { namespace: ws, workflow: body } });
    expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(400);
    expect((await records()).length).toBe(before);
  });
});

describe("pod fields Argo's Template does not carry are refused, however spelled (attack26: held)", () => {
  it.each([
    ["nodeName", { nodeName: "control-plane-1" }],
    ["runtimeClassName", { runtimeClassName: "unconfined" }],
    ["hostUsers", { hostUsers: true }],
    ["overhead", { overhead: { cpu: "0" } }],
    ["hostPID folded", { hostPid: true }],
    ["hostNetwork on a template", { hostNetwork: true }],
  ])("%s", async (_what, template) => {
    const before = (await records()).length;
    const res = await submit(template);
    expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(400);
    expect((await records()).length).toBe(before);
  });
});
