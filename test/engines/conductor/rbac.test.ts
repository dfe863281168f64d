/**
 * Conductor RBAC through the real Worker: admins by role or group (case-insensitive), non-admins limited to
 * definitions labelled for them and to the executions they started; denials are 403, hidden items 404.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, errorOf } from "../../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let alice: string; // non-admin, group TEST
let groupAdmin: string;

beforeAll(async () => {
  stack = await conductorStack("rbac");
  await seedTwoTenants(stack);
  alice = await stack.key({ subject: "alice", groups: ["test"] });
  groupAdmin = await stack.key({ subject: "ga", groups: ["network-admin"] });
});

describe("who may call the Conductor route", () => {
  it("no credential: 401; no conductor scope: 403; wrong credential: 401", async () => {
    expect((await call("/conductor/api/metadata/workflow", { env: stack.env })).status).toBe(401);
    const noScope = await stack.key({ subject: "s", scopes: ["query/*"] });
    const res = await stack.as(noScope, "/conductor/api/metadata/workflow");
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toContain("conductor");
    expect((await stack.as("fgk_bad", "/conductor/api/metadata/workflow")).status).toBe(401);
  });

  it("paths the gateway does not name are 404 before any upstream call", async () => {
    const before = (await stack.records()).length;
    for (const path of [
      "/conductor/api/admin/config",
      "/conductor/api/workflow/fb-1/correlated/x",
      "/conductor/other",
      "/conductor/api/queue/update",
    ]) {
      expect((await stack.as(groupAdmin, path)).status, path).toBe(404);
    }
    expect((await stack.records()).length).toBe(before);
  });
});

describe("non-admins", () => {
  it("see the definitions labelled with one of their groups or roles (case-insensitive), and no other", async () => {
    const list = (await (await stack.as(alice, "/conductor/api/metadata/workflow")).json()) as { name: string }[];
    expect(list.map((d) => d.name)).toEqual(["wfA"]);
    expect((await stack.as(alice, "/conductor/api/metadata/workflow/wfB")).status).toBe(404);
  });

  it("start only those: 403 for a definition not labelled for them, 404 for none", async () => {
    const ok = await stack.as(alice, "/conductor/api/workflow", { method: "POST", json: { name: "wfA", input: { a: 1 } } });
    expect(ok.status).toBe(200);
    const id = await ok.text();
    const sent = (await stack.records()).filter((r) => r.method === "POST" && r.path === "/api/workflow").at(-1)!;
    expect(JSON.parse(sent.body)).toEqual({
      name: "FACEBOOK___wfA",
      input: { a: 1 },
      taskToDomain: { "*": "FACEBOOK" },
      correlationId: "alice",
    });
    expect((await stack.as(alice, `/conductor/api/workflow/${id}`)).status).toBe(200);

    const denied = await stack.as(alice, "/conductor/api/workflow", { method: "POST", json: { name: "wfB" } });
    expect(denied.status).toBe(403);
    expect((await stack.as(alice, "/conductor/api/workflow/nothing", { method: "POST", json: {} })).status).toBe(404);
  });

  it("start by name (POST /api/workflow/{name}) becomes one StartWorkflowRequest", async () => {
    const res = await stack.as(alice, "/conductor/api/workflow/wfA?version=1&priority=3&correlationId=bob", {
      method: "POST",
      json: { x: 1 },
    });
    expect(res.status).toBe(200);
    const sent = (await stack.records()).filter((r) => r.method === "POST" && r.path === "/api/workflow").at(-1)!;
    expect(JSON.parse(sent.body)).toEqual({
      name: "FACEBOOK___wfA",
      version: 1,
      priority: 3,
      input: { x: 1 },
      taskToDomain: { "*": "FACEBOOK" },
      correlationId: "alice",
    });
  });

  it("see and act on only the executions they started", async () => {
    expect((await stack.as(alice, "/conductor/api/workflow/fb-1")).status).toBe(200);
    expect((await stack.as(alice, "/conductor/api/workflow/fb-2")).status).toBe(404);
    expect((await stack.as(alice, "/conductor/api/workflow/fb-2", { method: "DELETE" })).status).toBe(404);
    expect((await stack.as(alice, "/conductor/api/workflow/fb-2/pause", { method: "PUT" })).status).toBe(404);
    expect((await stack.as(alice, "/conductor/api/tasks/task-fb1/log")).status).toBe(200);
    const search = await stack.as(alice, "/conductor/api/workflow/search");
    const body = (await search.json()) as { results: { workflowId: string; correlationId: string }[] };
    expect(body.results.every((r) => r.correlationId === "alice")).toBe(true);
    expect(body.results.map((r) => r.workflowId)).toContain("fb-1");
    const q = new URL(`http://x${(await stack.records()).at(-1)!.path}`).searchParams.get("query");
    expect(q).toBe("workflowType STARTS_WITH 'FACEBOOK___' AND correlationId IN (alice)");
  });

  it.each([
    ["POST", "/conductor/api/metadata/workflow", { name: "x", tasks: [] }],
    ["PUT", "/conductor/api/metadata/workflow", []],
    ["DELETE", "/conductor/api/metadata/workflow/wfA/1", undefined],
    ["GET", "/conductor/api/metadata/taskdefs", undefined],
    ["POST", "/conductor/api/metadata/taskdefs", []],
    ["GET", "/conductor/api/event", undefined],
    ["POST", "/conductor/api/event", {}],
    ["GET", "/conductor/api/tasks/queue/all", undefined],
    ["GET", "/conductor/schedule", undefined],
    ["POST", "/conductor/schedule", {}],
    ["PUT", "/conductor/api/workflow/bulk/pause", ["fb-1"]],
    ["POST", "/conductor/api/workflow/bulk/terminate", ["fb-1"]],
    ["GET", "/conductor/api/workflow/running/wfA", undefined],
  ])("%s %s is for admins: 403", async (method, path, json) => {
    const res = await stack.as(alice, path, { method, json });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("FORBIDDEN");
  });
});

// Every Conductor route whose handler called requireAdmin before the routes were split by area (fcc2b24); each now
// gets `adminOnly` from its area's view or its own registration, and a dropped one would answer a non-admin.
const ADMIN_ONLY: [string, string, unknown][] = [
  ["POST", "/conductor/api/metadata/workflow", { name: "x", tasks: [] }],
  ["PUT", "/conductor/api/metadata/workflow", []],
  ["DELETE", "/conductor/api/metadata/workflow/wfA/1", undefined],
  ["GET", "/conductor/api/metadata/taskdefs", undefined],
  ["GET", "/conductor/api/metadata/taskdefs/t1", undefined],
  ["POST", "/conductor/api/metadata/taskdefs", []],
  ["PUT", "/conductor/api/metadata/taskdefs", { name: "t1" }],
  ["DELETE", "/conductor/api/metadata/taskdefs/t1", undefined],
  ["PUT", "/conductor/api/workflow/bulk/pause", ["fb-1"]],
  ["PUT", "/conductor/api/workflow/bulk/resume", ["fb-1"]],
  ["POST", "/conductor/api/workflow/bulk/retry", ["fb-1"]],
  ["POST", "/conductor/api/workflow/bulk/restart", ["fb-1"]],
  ["POST", "/conductor/api/workflow/bulk/terminate", ["fb-1"]],
  ["DELETE", "/conductor/api/workflow/bulk/terminate", ["fb-1"]],
  ["GET", "/conductor/api/workflow/running/wfA", undefined],
  ["GET", "/conductor/api/event", undefined],
  ["GET", "/conductor/api/event/conductor:wfA:t", undefined],
  ["POST", "/conductor/api/event", {}],
  ["PUT", "/conductor/api/event", {}],
  ["DELETE", "/conductor/api/event/h1", undefined],
  ["GET", "/conductor/api/tasks/queue/all", undefined],
  ["GET", "/conductor/api/tasks/queue/all/verbose", undefined],
  ["GET", "/conductor/api/tasks/queue/sizes?taskType=t1", undefined],
  ["GET", "/conductor/schedule", undefined],
  ["GET", "/conductor/schedule/wfA:1", undefined],
  ["POST", "/conductor/schedule", {}],
  ["PUT", "/conductor/schedule/wfA:1", {}],
  ["DELETE", "/conductor/schedule/wfA:1", undefined],
];

describe("every route that was admin-only before the routes were split by area", () => {
  it.each(ADMIN_ONLY)("%s %s: 403 to a non-admin, and nothing sent upstream", async (method, path, json) => {
    const before = (await stack.records()).length;
    const res = await stack.as(alice, path, { method, json });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toContain("is for Conductor admins");
    expect((await stack.records()).length).toBe(before);
  });
});

describe("admins", () => {
  it("are made by a role in ADMIN_ROLES or a group in ADMIN_GROUPS, case-insensitively", async () => {
    expect((await stack.as(groupAdmin, "/conductor/api/metadata/taskdefs")).status).toBe(200);
    const roleAdmin = await stack.key({ subject: "ra", roles: ["owner"] });
    expect((await stack.as(roleAdmin, "/conductor/api/tasks/queue/all")).status).toBe(200);
    const custom = await conductorStack("rbac-custom", { ADMIN_ROLES: "boss", ADMIN_GROUPS: "ops-team" });
    const owner = await custom.key({ subject: "o", roles: ["OWNER"] });
    expect((await custom.as(owner, "/conductor/api/metadata/taskdefs")).status).toBe(403);
    const boss = await custom.key({ subject: "b", groups: ["OPS-TEAM"] });
    await custom.seed({ taskDefs: [] });
    expect((await custom.as(boss, "/conductor/api/metadata/taskdefs")).status).toBe(200);
  });

  it("see every execution of their tenant, whoever started it", async () => {
    expect((await stack.as(groupAdmin, "/conductor/api/workflow/fb-2")).status).toBe(200);
    const search = await stack.as(groupAdmin, "/conductor/api/workflow/search");
    const q = new URL(`http://x${(await stack.records()).at(-1)!.path}`).searchParams.get("query");
    expect(q).toBe("workflowType STARTS_WITH 'FACEBOOK___'");
    expect(((await search.json()) as { results: unknown[] }).results.length).toBeGreaterThanOrEqual(2);
  });
});
