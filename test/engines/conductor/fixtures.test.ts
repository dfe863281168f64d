/**
 * Every fixture pair of ../shared/reference/conductor through the real Worker to the recording Conductor stub:
 * what a client sends arrives as the prefixed twin, and what the upstream stores comes back as the plain file.
 * Tenant FACEBOOK; the writing admin's email is `testmail`, as in the twins.
 */
import { beforeAll, describe, expect, it } from "vitest";
import nested from "../../fixtures/conductor/workflow_defs/nested_tasks_decision.json";
import nestedP from "../../fixtures/conductor/workflow_defs/nested_tasks_decision_prefixed.json";
import single from "../../fixtures/conductor/workflow_defs/single_subworkflow.json";
import singleP from "../../fixtures/conductor/workflow_defs/single_subworkflow_prefixed.json";
import dynFork from "../../fixtures/conductor/workflow_defs/workflow_with_dynamic_fork.json";
import dynForkP from "../../fixtures/conductor/workflow_defs/workflow_with_dynamic_fork_prefixed.json";
import labeled from "../../fixtures/conductor/workflow_defs/multpile_workflows_labeled.json";
import labeledP from "../../fixtures/conductor/workflow_defs/multpile_workflows_labeled_prefixed.json";
import taskdefs from "../../fixtures/conductor/tasks/taskdefs.json";
import taskdefsP from "../../fixtures/conductor/tasks/taskdefs_prefixed.json";
import handler from "../../fixtures/conductor/events/event_handler.json";
import handlerP from "../../fixtures/conductor/events/event_handler_prefixed.json";
import exec1 from "../../fixtures/conductor/execs/workflow_execution.json";
import exec1P from "../../fixtures/conductor/execs/workflow_execution_prefixed.json";
import exec2 from "../../fixtures/conductor/execs/workflow_execution2.json";
import exec2P from "../../fixtures/conductor/execs/workflow_execution2_prefixed.json";
import dyn from "../../fixtures/conductor/execs/dynamic_exec.json";
import dynP from "../../fixtures/conductor/execs/dynamic_exec_prefixed.json";
import polled from "../../fixtures/conductor/tasks/polled_task.json";
import polledP from "../../fixtures/conductor/tasks/polled_task_prefixed.json";
import { conductorStack, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("fixtures", {
    ALLOWED_SYSTEM_TASKS: "SIMPLE,SUB_WORKFLOW,DECISION,SWITCH,DO_WHILE,FORK_JOIN,FORK_JOIN_DYNAMIC,JOIN,TERMINATE,LAMBDA,FORK",
  });
  // The fixtures use capabilities (src/engines/conductor/capabilities.ts), granted by scope: nested_tasks_decision runs
  // JavaScript (a DO_WHILE loopCondition, LAMBDA scripts), workflow_with_dynamic_fork sets
  // workflowStatusListenerEnabled, and the event handler starts a workflow (a start_workflow action).
  const capabilities = ["javascript", "status_listener", "start_workflow"].map((c) => `conductor-capability/${c}`);
  admin = await stack.key({ subject: "a@fb.com", email: "testmail", roles: ["OWNER"], scopes: ["conductor", ...capabilities] });
});

const lastBody = async (method: string, pathStart: string) => {
  const recs = (await stack.records()).filter((r) => r.method === method && r.path.startsWith(pathStart));
  return JSON.parse(recs.at(-1)!.body) as unknown;
};

describe("Conductor fixtures through the Worker", () => {
  it.each([
    ["nested_tasks_decision", nested, nestedP],
    ["single_subworkflow", single, singleP],
    ["workflow_with_dynamic_fork", dynFork, dynForkP],
  ])("workflow definition %s: sent plain, stored as its twin, read back plain", async (_n, plain, twin) => {
    const res = await stack.as(admin, "/conductor/api/metadata/workflow", { method: "POST", json: plain });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    expect(await lastBody("POST", "/api/metadata/workflow")).toEqual(twin);
    const name = (plain as { name: string }).name;
    const back = await stack.as(admin, `/conductor/api/metadata/workflow/${name}`);
    expect(back.status).toBe(200);
    expect(await back.json()).toEqual(plain);
  });

  it("a stored listing of labelled definitions comes back as the plain listing (PUT writes the twins)", async () => {
    const put = await stack.as(admin, "/conductor/api/metadata/workflow", { method: "PUT", json: labeled });
    expect(put.status).toBe(200);
    // The twins of this listing were made without an owner: compare everything else.
    const sent = (await lastBody("PUT", "/api/metadata/workflow")) as Record<string, unknown>[];
    expect(sent.map(({ ownerEmail, ...d }) => (expect(ownerEmail).toBe("testmail"), d))).toEqual(labeledP);
    const list = (await (await stack.as(admin, "/conductor/api/metadata/workflow")).json()) as { name: string }[];
    const names = new Set((labeled as { name: string }[]).map((d) => d.name));
    expect(list.filter((d) => names.has(d.name))).toEqual(labeled);
  });

  it("task definitions: the plain list is stored as the twins and read back plain", async () => {
    const res = await stack.as(admin, "/conductor/api/metadata/taskdefs", { method: "POST", json: taskdefs });
    expect(res.status).toBeLessThan(300);
    expect(await lastBody("POST", "/api/metadata/taskdefs")).toEqual(taskdefsP);
    expect(await (await stack.as(admin, "/conductor/api/metadata/taskdefs")).json()).toEqual(taskdefs);
  });

  it("event handler: stored as the twin (prefixes, task domain, caller), read back plain", async () => {
    const res = await stack.as(admin, "/conductor/api/event", { method: "POST", json: handler });
    expect(res.status).toBeLessThan(300);
    expect(await lastBody("POST", "/api/event")).toEqual(handlerP);
    expect(await (await stack.as(admin, "/conductor/api/event")).json()).toEqual([handler]);
    const byEvent = await stack.as(admin, `/conductor/api/event/${encodeURIComponent("conductor:invoke_wf:handle_wf")}`);
    expect(await byEvent.json()).toEqual([handler]);
  });

  it.each([
    ["workflow_execution", exec1P, exec1],
    ["workflow_execution2", exec2P, exec2],
    ["dynamic_exec", dynP, dyn],
  ])("execution %s: the stored twin reads back as the plain file", async (_n, twin, plain) => {
    await stack.seed({ executions: [twin] });
    const id = (twin as { workflowId: string }).workflowId;
    const res = await stack.as(admin, `/conductor/api/workflow/${id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(plain);
  });

  it("polled task: the stored twin reads back as the plain file, once its workflow is the tenant's", async () => {
    const task = polledP as { taskId: string; workflowInstanceId: string };
    await stack.seed({
      tasks: [polledP],
      executions: [
        {
          workflowId: task.workflowInstanceId,
          workflowType: "FACEBOOK___test_wf1",
          workflowName: "FACEBOOK___test_wf1",
          correlationId: "a@fb.com",
          tasks: [],
        },
      ],
    });
    const res = await stack.as(admin, `/conductor/api/tasks/${task.taskId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(polled);
  });
});
