/**
 * The worker route through the real Worker, against the stub Conductor's per-tenant queues: fairness under a
 * flooded queue, tenant isolation of polls and updates, parameter bounds, a failing tenant, the subrequest budget
 * with 50 tenants, long polls, and the dynamic_tasks fixture.
 */
import { SignJWT, importJWK } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import output from "../../../fixtures/conductor/tasks/task_output_with_dynamictasks.json";
import outputP from "../../../fixtures/conductor/tasks/task_output_with_dynamictasks_prefixed.json";
import { asAdmin, errorOf, stubUrl, uniqueTag } from "../../../helpers";
import { conductorStack, type ConductorStack } from "../harness";

interface Task {
  taskId: string;
  taskType: string;
  workflowType: string;
  workflowInstanceId: string;
  domain: string;
}

const tenantOf = (t: Task) => t.workflowType.split("___")[0]!;

async function workerKey(s: ConductorStack, servesTenants: string[] | undefined, scopes = ["worker"], tenant = "ops"): Promise<string> {
  const res = await asAdmin("/admin/keys", {
    method: "POST",
    env: s.env,
    json: { tenant, subject: `worker-${uniqueTag("w")}`, scopes, servesTenants },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}

const poll = async (s: ConductorStack, key: string, type: string, query = "count=10&timeout=0") => {
  const res = await s.as(key, `/workers/conductor/api/tasks/poll/batch/${type}?workerid=w1&${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Task[];
};

describe("fair polling", () => {
  it("serves every tenant with work over 100 polls, however deep another tenant's queue is", async () => {
    const s = await conductorStack("fair");
    await s.seed({
      fill: [{ tenant: "A", taskType: "job", count: 1000 }, ...["B", "C", "D"].map((tenant) => ({ tenant, taskType: "job", count: 5 }))],
    });
    const key = await workerKey(s, ["A", "B", "C", "D"]);
    const received: Record<string, number[]> = { A: [], B: [], C: [], D: [] };
    for (let i = 0; i < 100; i++) {
      const tasks = await poll(s, key, "job");
      expect(tasks.length).toBeLessThanOrEqual(10);
      for (const t of ["A", "B", "C", "D"]) received[t]!.push(tasks.filter((x) => tenantOf(x) === t).length);
      for (const x of tasks) expect(x.taskType).toBe(`${tenantOf(x)}___job`); // workers read the tenant from the prefix
    }
    const total = (t: string) => received[t]!.reduce((a, b) => a + b, 0);
    const firstPolls = (t: string) => received[t]!.slice(0, 2).reduce((a, b) => a + b, 0);
    console.log(
      `[fairness] 100 polls of 10: totals A=${total("A")} B=${total("B")} C=${total("C")} D=${total("D")}; first poll A=${received.A![0]} B=${received.B![0]} C=${received.C![0]} D=${received.D![0]}`,
    );
    // Every small tenant is served in the very first poll, and fully within the first two.
    for (const t of ["B", "C", "D"]) {
      expect(received[t]![0]).toBeGreaterThan(0);
      expect(firstPolls(t)).toBe(5);
    }
    expect(total("A")).toBe(985); // the rest of the capacity went to the deep queue: none was wasted
  });

  it("rotates who comes first when a poll cannot serve every tenant", async () => {
    const s = await conductorStack("rotate");
    await s.seed({ fill: ["P", "Q", "R"].map((tenant) => ({ tenant, taskType: "one", count: 10 })) });
    const key = await workerKey(s, ["P", "Q", "R"]);
    const firsts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await s.as(key, "/workers/conductor/api/tasks/poll/one?workerid=w");
      expect(res.status).toBe(200);
      firsts.add(tenantOf((await res.json()) as Task));
    }
    expect([...firsts].sort()).toEqual(["P", "Q", "R"]);
  });
});

describe("tenant isolation", () => {
  let s: ConductorStack;
  let onlyA: string;
  let onlyB: string;
  let bTask: Task;
  beforeAll(async () => {
    s = await conductorStack("wiso");
    await s.seed({
      fill: [
        { tenant: "A", taskType: "job", count: 3 },
        { tenant: "B", taskType: "job", count: 3 },
      ],
    });
    onlyA = await workerKey(s, ["A"]);
    onlyB = await workerKey(s, ["B"]);
    bTask = (await poll(s, onlyB, "job", "count=1&timeout=0"))[0]!;
  });

  it("a worker serving A never receives B's tasks, and B's queue is never polled for it", async () => {
    for (let i = 0; i < 3; i++) for (const t of await poll(s, onlyA, "job")) expect(tenantOf(t)).toBe("A");
    expect((await poll(s, onlyA, "job")).length).toBe(0);
    const polledB = (await s.records()).filter((r) => r.path.startsWith("/api/tasks/poll") && r.path.includes("B___"));
    expect(polledB.length).toBe(1); // only B's own worker's poll
  });

  it("a worker serving A cannot update, ack or log B's task: 404, and nothing reaches the upstream", async () => {
    const before = ((await s.state()) as { updates: unknown[] }).updates.length;
    const result = {
      taskId: bTask.taskId,
      workflowInstanceId: bTask.workflowInstanceId,
      status: "COMPLETED",
      outputData: { stolen: true },
    };
    expect((await s.as(onlyA, "/workers/conductor/api/tasks", { method: "POST", json: result })).status).toBe(404);
    expect((await s.as(onlyA, `/workers/conductor/api/tasks/${bTask.taskId}/ack?workerid=w`, { method: "POST" })).status).toBe(404);
    expect((await s.as(onlyA, `/workers/conductor/api/tasks/${bTask.taskId}/log`, { method: "POST", body: '"hi"' })).status).toBe(404);
    // The right workflow id is required too.
    expect(
      (await s.as(onlyB, "/workers/conductor/api/tasks", { method: "POST", json: { ...result, workflowInstanceId: "other-wf" } })).status,
    ).toBe(404);
    expect(((await s.state()) as { updates: unknown[] }).updates.length).toBe(before);
    const ok = await s.as(onlyB, "/workers/conductor/api/tasks", { method: "POST", json: result });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(bTask.taskId);
    expect(
      (
        await s.as(onlyB, `/workers/conductor/api/tasks/${bTask.taskId}/log`, {
          method: "POST",
          body: '"done"',
          headers: { "content-type": "application/json" },
        })
      ).status,
    ).toBeLessThan(300);
  });

  it("the upstream reads what the gateway read: a task result with a repeated key is refused, a log goes up as UTF-8 text", async () => {
    // Conductor binds the log to a String in the charset the content type names (TaskResource.log): the gateway
    // checked UTF-8, so it names UTF-8, whatever the worker said.
    const log = await s.as(onlyB, `/workers/conductor/api/tasks/${bTask.taskId}/log`, {
      method: "POST",
      body: "d\u00f6ne",
      headers: { "content-type": "text/plain; charset=utf-16le" },
    });
    expect(log.status).toBeLessThan(300);
    const sent = (await s.records()).filter((r) => r.path.endsWith("/log")).at(-1)!;
    expect(sent.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const before = (await s.records()).length;
    const twice = `{"taskId":"${bTask.taskId}","workflowInstanceId":"${bTask.workflowInstanceId}","status":"COMPLETED","status":"FAILED"}`;
    const res = await s.as(onlyB, "/workers/conductor/api/tasks", {
      method: "POST",
      body: twice,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("appears twice");
    expect((await s.records()).length).toBe(before);
  });

  it("needs scope worker or worker/<taskType>", async () => {
    const narrow = await workerKey(s, ["A"], ["worker/job"]);
    expect((await s.as(narrow, "/workers/conductor/api/tasks/poll/batch/job?count=1&timeout=0")).status).toBe(200);
    expect((await s.as(narrow, "/workers/conductor/api/tasks/poll/batch/other?count=1&timeout=0")).status).toBe(403);
    const none = await workerKey(s, ["A"], ["conductor"]);
    expect((await s.as(none, "/workers/conductor/api/tasks/poll/batch/job")).status).toBe(403);
    expect((await s.as("fgk_nope", "/workers/conductor/api/tasks/poll/batch/job")).status).toBe(401);
  });

  it.each(["count=0", "count=101", "count=abc", "count=1.5", "timeout=-1", "timeout=30001", "timeout=1e3", "domain=B"])(
    "%s is a 400",
    async (q) => {
      const res = await s.as(onlyA, `/workers/conductor/api/tasks/poll/batch/job?${q}`);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("BAD_REQUEST");
    },
  );

  it("task types that could reach another tenant or path are a 400", async () => {
    for (const type of ["B___job", "a%2Fb", "..%2Fx"]) {
      expect((await s.as(onlyA, `/workers/conductor/api/tasks/poll/batch/${type}?count=1`)).status, type).toBe(400);
    }
  });
});

describe("failures and limits", () => {
  it("one tenant timing out and another failing do not fail the poll; each failure is logged", async () => {
    const s = await conductorStack("wfail", { UPSTREAM_TIMEOUT_MS: "500", LOG_LEVEL: "warn" });
    await s.seed({ fill: ["A", "B", "C", "D"].map((tenant) => ({ tenant, taskType: "job", count: 2 })) });
    await s.fault({ pathPrefix: "/api/tasks/poll/batch/B___job", kind: "slow" });
    await s.fault({ pathPrefix: "/api/tasks/poll/batch/C___job", kind: "error500" });
    const key = await workerKey(s, ["A", "B", "C", "D"]);
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const tasks = await poll(s, key, "job");
    spy.mockRestore();
    expect(tasks.map(tenantOf).sort()).toEqual(["A", "A", "D", "D"]);
    const failed = lines.filter((l) => l.includes("workers.poll_failed")).map((l) => JSON.parse(l) as { tenant: string; code: string });
    expect(failed.map((f) => `${f.tenant}:${f.code}`).sort()).toEqual(["B:UPSTREAM_TIMEOUT", "C:BAD_GATEWAY"]);
  });

  it("with 50 tenants, a poll stays within the subrequest budget and the tenants left out come first next time", async () => {
    const s = await conductorStack("w50");
    const tenants = Array.from({ length: 50 }, (_, i) => `T${String(i).padStart(2, "0")}`);
    await s.seed({ fill: tenants.map((tenant) => ({ tenant, taskType: "job", count: 2 })) });
    const key = await workerKey(s, tenants);
    const first = await poll(s, key, "job", "count=100&timeout=0");
    const afterFirst = (await s.records()).length;
    expect(afterFirst).toBeLessThanOrEqual(50 - 4); // SUBREQUEST_BUDGET less the request's own reserve
    const second = await poll(s, key, "job", "count=100&timeout=0");
    expect((await s.records()).length - afterFirst).toBeLessThanOrEqual(46);
    const served = new Set([...first, ...second].map(tenantOf));
    console.log(
      `[fan-out] 50 tenants, count=100: first poll ${first.length} tasks from ${new Set(first.map(tenantOf)).size} tenants, second ${second.length}; ${afterFirst} upstream calls for the first`,
    );
    expect(served.size).toBe(50);
  });

  it("long-polls with the worker's timeout when no tenant has work, and returns what arrives meanwhile", async () => {
    const s = await conductorStack("wlong");
    const key = await workerKey(s, ["A", "B"]);
    const started = Date.now();
    const later = new Promise((r) => setTimeout(r, 150)).then(() => s.seed({ fill: [{ tenant: "B", taskType: "job", count: 1 }] }));
    const tasks = await poll(s, key, "job", "count=5&timeout=600");
    await later;
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(tasks.map(tenantOf)).toEqual(["B"]);
    const empty = await s.as(key, "/workers/conductor/api/tasks/poll/job?workerid=w");
    expect(empty.status).toBe(204);
  });
});

describe("updates", () => {
  it("dynamic_tasks in a task result are prefixed and allow-listed like a definition (fixture twin)", async () => {
    const s = await conductorStack("wdyn");
    await s.seed({ fill: [{ tenant: "FACEBOOK", taskType: "fork_gen", count: 1 }] });
    const key = await workerKey(s, ["FACEBOOK"]);
    const [task] = await poll(s, key, "fork_gen", "count=1&timeout=0");
    const ids = { taskId: task!.taskId, workflowInstanceId: task!.workflowInstanceId };
    const res = await s.as(key, "/workers/conductor/api/tasks", { method: "POST", json: { ...output, ...ids } });
    expect(res.status).toBe(200);
    const sent = (await s.records()).filter((r) => r.method === "POST" && r.path === "/api/tasks").at(-1)!;
    expect(JSON.parse(sent.body)).toEqual({ ...outputP, ...ids });
    const http = structuredClone(output) as { outputData: { dynamic_tasks: { type: string }[] } };
    http.outputData.dynamic_tasks[0]!.type = "HTTP";
    expect((await s.as(key, "/workers/conductor/api/tasks", { method: "POST", json: { ...http, ...ids } })).status).toBe(400);
  });

  it("a task result naming a shared secret is refused: Conductor resolves it when a later task is handed out (attack5)", async () => {
    const s = await conductorStack("wsec");
    await s.seed({ fill: [{ tenant: "FACEBOOK", taskType: "sec_gen", count: 1 }] });
    const key = await workerKey(s, ["FACEBOOK"]);
    const [task] = await poll(s, key, "sec_gen", "count=1&timeout=0");
    const ids = { taskId: task!.taskId, workflowInstanceId: task!.workflowInstanceId, status: "COMPLETED" };
    const before = (await s.records()).length;
    const res = await s.as(key, "/workers/conductor/api/tasks", {
      method: "POST",
      json: { ...ids, outputData: { k: "${workflow.secrets.CONDUCTOR_SECRET_DB}" } },
    });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await s.records()).filter((r) => r.path === "/api/tasks" && r.method === "POST").length).toBe(
      (await s.records()).slice(0, before).filter((r) => r.path === "/api/tasks" && r.method === "POST").length,
    );
    const ok = await s.as(key, "/workers/conductor/api/tasks", { method: "POST", json: { ...ids, outputData: { k: "${x}" } } });
    expect(ok.status, await ok.clone().text()).toBe(200);
  });
});

describe("who a worker serves", () => {
  it("'*' serves every tenant in the tenants table", async () => {
    const s = await conductorStack("wall");
    const t1 = uniqueTag("ta").replace(/_/g, "");
    const t2 = uniqueTag("tb").replace(/_/g, "");
    for (const name of [t1, t2]) expect((await asAdmin("/admin/tenants", { method: "POST", env: s.env, json: { name } })).status).toBe(201);
    await s.seed({ fill: [t1, t2].map((tenant) => ({ tenant, taskType: "job", count: 1 })) });
    const key = await workerKey(s, ["*"]);
    const tasks = await poll(s, key, "job");
    expect(tasks.map(tenantOf).sort()).toEqual([t1, t2].sort());
  });

  it("a JWT names the tenants it serves in its serves_tenants claim", async () => {
    const s = await conductorStack("wjwt", { JWT_JWKS_URL: stubUrl(`/jwks/${uniqueTag("wj")}.json`) });
    await s.seed({
      fill: [
        { tenant: "A", taskType: "job", count: 1 },
        { tenant: "B", taskType: "job", count: 1 },
      ],
    });
    const idp = await importJWK(inject("idpPrivateJwk") as never, "RS256");
    const token = await new SignJWT({ sub: "jwt-worker", scope: "worker/job", serves_tenants: ["B"] })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .setExpirationTime("5m")
      .sign(idp as CryptoKey);
    const tasks = await poll(s, token, "job");
    expect(tasks.map(tenantOf)).toEqual(["B"]);
  });
});
