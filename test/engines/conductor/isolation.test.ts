/**
 * Tenant isolation through the real Worker: tenants FACEBOOK and OTHER share one (stub) Conductor, which, like the
 * real one, answers anything it is asked. Whatever a FACEBOOK caller asks, nothing of OTHER's comes back and
 * nothing of OTHER's is acted on.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let fbAdmin: string;

beforeAll(async () => {
  stack = await conductorStack("isolation");
  await seedTwoTenants(stack);
  fbAdmin = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
});

const noOther = async (res: Response) => {
  const text = await res.text();
  expect(text).not.toContain("OTHER");
  expect(text).not.toContain("ot-1");
  return text === "" ? null : (JSON.parse(text) as unknown);
};

describe("another tenant's items answer 404, and are never acted on", () => {
  it.each([
    ["GET", "/conductor/api/workflow/ot-1"],
    ["GET", "/conductor/api/workflow/ot-1/hierarchy"],
    ["DELETE", "/conductor/api/workflow/ot-1"],
    ["DELETE", "/conductor/api/workflow/ot-1/remove"],
    ["PUT", "/conductor/api/workflow/ot-1/pause"],
    ["PUT", "/conductor/api/workflow/ot-1/resume"],
    ["POST", "/conductor/api/workflow/ot-1/restart"],
    ["POST", "/conductor/api/workflow/ot-1/retry"],
    ["POST", "/conductor/api/workflow/ot-1/rerun"],
    ["PUT", "/conductor/api/workflow/ot-1/skiptask/ref"],
    ["GET", "/conductor/api/tasks/task-ot1"],
    ["GET", "/conductor/api/tasks/task-ot1/log"],
    ["GET", "/conductor/api/tasks/task-forged"],
    ["GET", "/conductor/api/tasks/task-forged/log"],
    ["GET", "/conductor/api/metadata/taskdefs/t9"],
    ["GET", "/conductor/api/workflow/no-such-id"],
  ])("%s %s", async (method, path) => {
    const res = await stack.as(fbAdmin, path, { method, ...(method === "POST" && path.endsWith("rerun") ? { json: {} } : {}) });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("NOT_FOUND");
    const state = (await stack.state()) as { executions: { workflowId: string; status: string }[] };
    expect(state.executions.find((e) => e.workflowId === "ot-1")!.status).toBe("RUNNING");
    const acted = (await stack.records()).filter((r) => r.method !== "GET" && r.path.includes("ot-1"));
    expect(acted).toEqual([]);
  });

  it("names resolve in the caller's tenant only: wfA is FACEBOOK's wfA", async () => {
    const res = await stack.as(fbAdmin, "/conductor/api/metadata/workflow/wfA");
    expect(await noOther(res)).toMatchObject({ name: "wfA", description: "first - TEST" });
    const sched = await stack.as(fbAdmin, "/conductor/schedule/wfA:1");
    expect(await noOther(sched)).toEqual({ name: "wfA:1", workflowName: "wfA", workflowVersion: "1", cronString: "* * * * *" });
  });

  it.each([
    ["/conductor/api/metadata/workflow", ["wfA", "wfB"]],
    ["/conductor/api/metadata/taskdefs", ["t1", "GLOBAL___shared"]],
    ["/conductor/api/event", ["h1"]],
    ["/conductor/schedule", ["wfA:1"]],
  ])("listing %s shows only the tenant's, unprefixed", async (path, names) => {
    const res = await stack.as(fbAdmin, path);
    expect(res.status).toBe(200);
    const list = (await noOther(res)) as { name: string }[];
    expect(list.map((x) => x.name).sort()).toEqual(names.sort());
  });

  it("queues: only the tenant's, renamed; shared queues left out", async () => {
    expect(await noOther(await stack.as(fbAdmin, "/conductor/api/tasks/queue/all"))).toEqual({ t1: 3, t2: 2 });
    expect(await noOther(await stack.as(fbAdmin, "/conductor/api/tasks/queue/all/verbose"))).toEqual({ t1: { FACEBOOK: { a: 3 } } });
    const sizes = await stack.as(fbAdmin, "/conductor/api/tasks/queue/sizes?taskType=t1&taskType=t2");
    expect(await noOther(sizes)).toEqual({ t1: 0, t2: 2 });
    expect((await stack.records()).at(-1)!.path).toBe("/api/tasks/queue/sizes?taskType=FACEBOOK___t1&taskType=FACEBOOK___t2");
  });

  it("search: the upstream is asked for the tenant's executions, and the answer is filtered again", async () => {
    const res = await stack.as(fbAdmin, `/conductor/api/workflow/search?query=${encodeURIComponent("status IN (RUNNING)")}&size=50`);
    expect(res.status).toBe(200);
    const body = (await noOther(res)) as { totalHits: number; results: { workflowId: string; workflowType: string }[] };
    expect(body.results.map((r) => r.workflowId).sort()).toEqual(["fb-1", "fb-2"]);
    expect(body.results[0]!.workflowType).not.toContain("___");
    const q = new URL(`http://x${(await stack.records()).at(-1)!.path}`).searchParams;
    expect(q.get("query")).toBe("workflowType STARTS_WITH 'FACEBOOK___' AND (status IN (RUNNING))");
    expect(q.get("size")).toBe("50");
    const v2 = await stack.as(fbAdmin, "/conductor/api/workflow/search-v2");
    expect(((await noOther(v2)) as { results: unknown[] }).results).toHaveLength(2);
  });

  it("bulk: another tenant's ids are reported as unknown and never sent upstream", async () => {
    const res = await stack.as(fbAdmin, "/conductor/api/workflow/bulk/terminate?reason=cleanup", {
      method: "POST",
      json: ["fb-2", "ot-1", "nope"],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { bulkSuccessfulResults: string[]; bulkErrorResults: Record<string, string> };
    expect(body.bulkSuccessfulResults).toEqual(["fb-2"]);
    expect(Object.keys(body.bulkErrorResults).sort()).toEqual(["nope", "ot-1"]);
    expect(body.bulkErrorResults["ot-1"]).toBe(body.bulkErrorResults["ot-1"]!.replace("OTHER", "")); // says nothing of whose
    const sent = (await stack.records()).filter((r) => r.path.startsWith("/api/workflow/bulk/terminate"));
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toEqual(["fb-2"]);
    expect(sent[0]!.path).toBe("/api/workflow/bulk/terminate?reason=cleanup");
  });

  it("external payloads: a path shown in the tenant's execution can be read; another tenant's cannot", async () => {
    await stack.as(fbAdmin, "/conductor/api/workflow/fb-1");
    const mine = await stack.as(
      fbAdmin,
      "/conductor/api/workflow/externalstoragelocation?operation=READ&payloadType=WORKFLOW_OUTPUT&path=workflow/fb-out.json",
    );
    expect(mine.status).toBe(200);
    const theirs = await stack.as(
      fbAdmin,
      "/conductor/api/workflow/externalstoragelocation?operation=READ&payloadType=WORKFLOW_OUTPUT&path=workflow/ot-out.json",
    );
    expect(theirs.status).toBe(404);
    const write = await stack.as(
      fbAdmin,
      "/conductor/api/tasks/externalstoragelocation?operation=WRITE&payloadType=TASK_OUTPUT&path=workflow/ot-out.json",
    );
    expect(write.status).toBe(200);
    const minted = ((await write.json()) as { path: string }).path;
    expect(minted).not.toBe("workflow/ot-out.json"); // a WRITE cannot name (and overwrite) an existing path
    const readBack = await stack.as(
      fbAdmin,
      `/conductor/api/tasks/externalstoragelocation?operation=READ&payloadType=TASK_OUTPUT&path=${encodeURIComponent(minted)}`,
    );
    expect(readBack.status).toBe(200);
  });

  it("an identity header sent by the client changes nothing", async () => {
    const res = await stack.as(fbAdmin, "/conductor/api/workflow/ot-1", { headers: { "x-tenant-id": "OTHER", from: "alice" } });
    expect(res.status).toBe(404);
    const listing = await stack.as(fbAdmin, "/conductor/api/metadata/workflow", { headers: { "x-tenant-id": "OTHER" } });
    await noOther(listing);
    const rec = (await stack.records()).at(-1)!;
    expect(rec.headers["x-tenant-id"]).toBeUndefined();
    expect(rec.headers["x-flowgate-tenant"]).toBe("FACEBOOK");
  });

  it("the other tenant, symmetrically, sees none of FACEBOOK's", async () => {
    const other = await stack.key({ subject: "alice", tenant: "OTHER", roles: ["OWNER"] });
    expect((await stack.as(other, "/conductor/api/workflow/fb-1")).status).toBe(404);
    const search = await stack.as(other, "/conductor/api/workflow/search");
    const body = (await search.json()) as { results: { workflowId: string }[] };
    expect(body.results.map((r) => r.workflowId)).toEqual(["ot-1"]);
  });
});
