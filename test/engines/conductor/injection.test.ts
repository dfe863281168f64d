/**
 * Names, ids, queries and bodies built to reach another tenant or another upstream path: each is refused (400)
 * before the upstream is asked, or arrives encoded as a single value. Malformed upstream answers are a 502.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("inject");
  await seedTwoTenants(stack);
  admin = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
});

const refusedUnsent = async (res: Response, before: number) => {
  expect(res.status).toBe(400);
  expect((await errorOf(res)).code).toBe("BAD_REQUEST");
  expect((await stack.records()).length).toBe(before);
};

describe("injection attempts are refused before the upstream sees them", () => {
  it.each([
    "/conductor/api/metadata/workflow/OTHER___wfA",
    "/conductor/api/metadata/workflow/..%2F..%2Fadmin",
    "/conductor/api/metadata/workflow/a%2Fb",
    "/conductor/api/metadata/workflow/a%5Cb",
    "/conductor/api/metadata/workflow/wfA%00",
    "/conductor/api/metadata/workflow/wfA?version=1%26includeTasks%3Dtrue",
    "/conductor/api/metadata/workflow/wfA?version=-1",
    "/conductor/api/workflow/..%2Fmetadata",
    "/conductor/api/workflow/ot-1%3Fx%3D1",
    "/conductor/api/workflow/fb-1?includeTasks=yes",
    "/conductor/api/tasks/a..b",
    "/conductor/api/tasks/queue/sizes?taskType=OTHER___t1",
    "/conductor/api/event/conductor:OTHER___wfA:t",
    "/conductor/api/event/kafka:topic",
    "/conductor/schedule/a%2Fb:1",
    "/conductor/schedule/wfA",
    "/conductor/schedule/OTHER___wfA:1",
  ])("GET %s", async (path) => {
    const before = (await stack.records()).length;
    await refusedUnsent(await stack.as(admin, path), before);
  });

  it.each([
    ["status = 'RUNNING') OR (workflowType STARTS_WITH 'OTHER"],
    ["status = 'RUNNING' OR 1=1 OR status = '"],
    ["(((status = RUNNING"],
    ["status = RUNNING)"],
    ["x\u0000y"],
  ])("search query %j", async (query) => {
    const before = (await stack.records()).length;
    await refusedUnsent(await stack.as(admin, `/conductor/api/workflow/search?query=${encodeURIComponent(query)}`), before);
  });

  it("a quote in a search literal stays inside it; the caller's own subject is an exact list item, before the client's text", async () => {
    const obrien = await stack.key({ subject: "o'brien\\", groups: [] });
    const res = await stack.as(obrien, `/conductor/api/workflow/search?query=${encodeURIComponent("correlationId = 'a\\' OR 1=1'")}`);
    expect(res.status).toBe(200);
    const q = new URL(`http://x${(await stack.records()).at(-1)!.path}`).searchParams.get("query");
    expect(q).toBe("workflowType STARTS_WITH 'FACEBOOK___' AND correlationId IN (o'brien\\) AND (correlationId = 'a\\' OR 1=1')");
  });

  it("query strings are rebuilt: unknown parameters are dropped, known ones re-encoded", async () => {
    const res = await stack.as(admin, "/conductor/api/workflow/fb-1?includeTasks=false&evil=1&workflowId=ot-1");
    expect(res.status).toBe(200);
    expect((await stack.records()).at(-1)!.path).toBe("/api/workflow/fb-1?includeTasks=false");
  });

  it.each([
    ["POST", "/conductor/api/workflow", { name: "wfA", taskToDomain: { "*": "OTHER" } }],
    ["POST", "/conductor/api/workflow", { name: "wfA", workflowDef: { name: "x", tasks: [] } }],
    ["POST", "/conductor/api/workflow", { name: "OTHER___wfA" }],
    ["POST", "/conductor/api/workflow", { name: "../wfA" }],
    ["POST", "/conductor/api/metadata/workflow", { name: "x", tasks: [{ name: "h", taskReferenceName: "h", type: "HTTP" }] }],
    [
      "POST",
      "/conductor/api/metadata/workflow",
      {
        name: "x",
        tasks: [
          { name: "f", taskReferenceName: "f", type: "FORK_JOIN", forkTasks: [[{ name: "i", taskReferenceName: "i", type: "INLINE" }]] },
        ],
      },
    ],
    [
      "POST",
      "/conductor/api/metadata/workflow",
      {
        name: "x",
        tasks: [
          { name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "y", taskToDomain: { "*": "OTHER" } } },
        ],
      },
    ],
    [
      "POST",
      "/conductor/api/metadata/workflow",
      { name: "x", tasks: [{ name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "OTHER___y" } }] },
    ],
    ["POST", "/conductor/api/metadata/workflow", { name: "x___y", tasks: [] }],
    ["POST", "/conductor/api/metadata/taskdefs", [{ name: "GLOBAL___mine" }]],
    ["POST", "/conductor/api/event", { name: "h", event: "kafka:all", actions: [] }],
    [
      "POST",
      "/conductor/api/event",
      { name: "h", event: "conductor:wfA:t", actions: [{ action: "complete_task", complete_task: { workflowId: "ot-1" } }] },
    ],
    ["POST", "/conductor/schedule", { name: "wfA:1", workflowName: "wfA", workflowVersion: "1", taskToDomain: { "*": "OTHER" } }],
    ["POST", "/conductor/schedule", { name: "wfB:1", workflowName: "wfA", workflowVersion: "1" }],
    ["POST", "/conductor/api/workflow/fb-1/rerun", { reRunFromWorkflowId: "ot-1" }],
    ["POST", "/conductor/api/workflow/fb-1/rerun", { correlationId: "someone-else" }],
    ["POST", "/conductor/api/workflow/bulk/retry", ["fb-1", "../x"]],
    ["POST", "/conductor/api/workflow/bulk/retry", { ids: ["fb-1"] }],
  ])("%s %s %j", async (method, path, json) => {
    const before = (await stack.records()).length;
    await refusedUnsent(await stack.as(admin, path, { method, json }), before);
  });

  it("a body that is not JSON is a 400", async () => {
    const res = await stack.as(admin, "/conductor/api/workflow", {
      method: "POST",
      body: "{name:",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
  });

  it("a schedule is stored under the tenant's names, started in its domain as the scheduling caller", async () => {
    const res = await stack.as(admin, "/conductor/schedule", {
      method: "POST",
      json: { name: "wfA:2", workflowName: "wfA", workflowVersion: "2", cronString: "0 * * ? * *" },
    });
    expect(res.status).toBe(201);
    const sent = (await stack.records()).at(-1)!;
    expect(sent.path).toBe("/schedule");
    expect(JSON.parse(sent.body)).toEqual({
      name: "FACEBOOK___wfA:2",
      workflowName: "FACEBOOK___wfA",
      workflowVersion: "2",
      cronString: "0 * * ? * *",
      taskToDomain: { "*": "FACEBOOK" },
      correlationId: "fb-admin",
    });
    expect((await stack.as(admin, "/conductor/schedule/wfA:2", { method: "DELETE" })).status).toBeLessThan(300);
    expect((await stack.records()).at(-1)!.path).toBe("/schedule/FACEBOOK___wfA%3A2");
  });
});

describe("the upstream misbehaving", () => {
  it.each([
    ["malformed", "/api/workflow/fb-1", "/conductor/api/workflow/fb-1", 502],
    ["wrongShape", "/api/metadata/workflow", "/conductor/api/metadata/workflow", 502],
    ["wrongShape", "/api/workflow/search", "/conductor/api/workflow/search", 502],
    ["error500", "/api/event", "/conductor/api/event", 502],
    ["malformed", "/api/tasks/queue/all", "/conductor/api/tasks/queue/all", 502],
    ["deep", "/api/workflow/fb-1", "/conductor/api/workflow/fb-1", 502],
    ["deep", "/api/metadata/workflow", "/conductor/api/metadata/workflow", 502],
  ] as const)("%s answer at %s: %s with the envelope, nothing of the upstream's text", async (kind, pathPrefix, path, status) => {
    const s = await conductorStack("faulty");
    await seedTwoTenants(s);
    const key = await s.key({ subject: "fb-admin", roles: ["OWNER"] });
    await s.fault({ pathPrefix, kind });
    const res = await s.as(key, path);
    expect(res.status).toBe(status);
    const text = await res.text();
    expect(JSON.parse(text).code).toBe("BAD_GATEWAY"); // Conductor's error shape on Conductor routes
    expect(text).not.toContain("NullPointer");
  });

  it("an upstream refusal keeps its status, with the tenant's prefix taken out of the message", async () => {
    await stack.as(admin, "/conductor/api/metadata/workflow", { method: "POST", json: { name: "dup", version: 1, tasks: [] } });
    const res = await stack.as(admin, "/conductor/api/metadata/workflow", { method: "POST", json: { name: "dup", version: 1, tasks: [] } });
    expect(res.status).toBe(409);
    const e = await errorOf(res);
    expect(e.code).toBe("CONFLICT");
    expect(e.message).toContain("dup:1");
    expect(e.message).not.toContain("FACEBOOK___");
  });

  it("an unreachable Conductor is a 502, and a missing CONDUCTOR_URL a configuration error", async () => {
    const down = await conductorStack("down", { CONDUCTOR_URL: "http://127.0.0.1:9/conductor" });
    const key = await down.key({ subject: "x", roles: ["OWNER"] });
    expect((await down.as(key, "/conductor/api/metadata/workflow")).status).toBe(502);
    const unset = await conductorStack("unset", { CONDUCTOR_URL: "" });
    const k2 = await unset.key({ subject: "x", roles: ["OWNER"] });
    const res = await unset.as(k2, "/conductor/api/metadata/workflow");
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("BAD_CONFIGURATION");
  });
});
