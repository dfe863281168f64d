/**
 * A sixth attacker's pass over issue 25 (attack27), class 6: Argo's own labels, against argoproj/argo-workflows'
 * workflow/common/common.go `LabelKey*` (v4). attack26 refused the labels Argo Server and the controller set, but its
 * list left out some of them: `actor`, `actor-email`, `actor-preferred-username` and `action` (Argo Server writes
 * who last stopped, resumed or retried a workflow and what they did), `component`, `backfill` (a cron's backfilled
 * workflows), `artifact-gc-pod`, `report-outputs-completed`, and the cron's `cronworkflows.argoproj.io/completed`.
 * A spec that sets `workflows.argoproj.io/actor: admin` shows, to Argo's UI and to any label selector, an action by
 * someone who never acted (low: a false record, no power). Recording stand-in; nothing may be sent.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argoa27");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; body: string }[];
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

const ws = uniqueTag("a27");
const role = uniqueTag("r");
let user: string;

const workflow = (labels: Record<string, string>) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "a27-", namespace: ws, labels },
  spec: { entrypoint: "main", templates: [{ name: "main", container: { image: "busybox", command: ["true"] } }] },
});

beforeAll(async () => {
  const res = await asAdmin(`/admin/workspaces/${ws}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: false }, env });
  expect(res.status, await res.clone().text()).toBe(201);
  user = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: [role] }, env)).key;
});

describe("Argo's own labels that attack26's list left out (attack27, low)", () => {
  it.each([
    "workflows.argoproj.io/actor",
    "workflows.argoproj.io/actor-email",
    "workflows.argoproj.io/actor-preferred-username",
    "workflows.argoproj.io/action",
    "workflows.argoproj.io/component",
    "workflows.argoproj.io/backfill",
    "workflows.argoproj.io/artifact-gc-pod",
    "workflows.argoproj.io/report-outputs-completed",
    "cronworkflows.argoproj.io/completed",
  ])("a workflow labelled %s is refused, and nothing is sent", async (label) => {
    const before = (await records()).length;
    const res = await as(user, `/argo/api/v1/workflows/${ws}`, {
      method: "POST",
      json: { namespace: ws, workflow: workflow({ [label]: "admin" }) },
    });
    expect(res.status, await res.clone().text()).toBe(403);
    expect(await res.text()).toContain("Argo's own label");
    expect((await records()).length).toBe(before);
  });

  it("the author's own labels under Argo's prefix still pass", async () => {
    const res = await as(user, `/argo/api/v1/workflows/${ws}`, {
      method: "POST",
      json: { namespace: ws, workflow: workflow({ "workflows.argoproj.io/archive-strategy": "false", team: "data" }) },
    });
    expect(res.status, await res.clone().text()).toBeLessThan(400);
  });
});
