import { describe, expect, it } from "vitest";
import { stripTenantDeep } from "../../../src/engines/conductor/tenantNames";
import { prefixTaskDef as prefixTaskDefVerdict, stripTaskDef } from "../../../src/engines/conductor/taskDefs";
import { prefixEventHandler as prefixEventHandlerVerdict, stripEventHandler } from "../../../src/engines/conductor/events";
import handler from "../../fixtures/conductor/events/event_handler.json";
import handlerp from "../../fixtures/conductor/events/event_handler_prefixed.json";
import exec1 from "../../fixtures/conductor/execs/workflow_execution.json";
import exec1p from "../../fixtures/conductor/execs/workflow_execution_prefixed.json";
import exec2 from "../../fixtures/conductor/execs/workflow_execution2.json";
import exec2p from "../../fixtures/conductor/execs/workflow_execution2_prefixed.json";
import dyn from "../../fixtures/conductor/execs/dynamic_exec.json";
import dynp from "../../fixtures/conductor/execs/dynamic_exec_prefixed.json";
import polled from "../../fixtures/conductor/tasks/polled_task.json";
import polledp from "../../fixtures/conductor/tasks/polled_task_prefixed.json";
import polledList from "../../fixtures/conductor/tasks/polled_tasks.json";
import polledListp from "../../fixtures/conductor/tasks/polled_tasks_prefixed.json";
import output from "../../fixtures/conductor/tasks/task_output_with_dynamictasks.json";
import outputp from "../../fixtures/conductor/tasks/task_output_with_dynamictasks_prefixed.json";
import taskdefs from "../../fixtures/conductor/tasks/taskdefs.json";
import taskdefsp from "../../fixtures/conductor/tasks/taskdefs_prefixed.json";
import { seen } from "./seen";

// The policies answer in `Verdict`s; `seen` reads them in the shapes the expectations below were written in.
const prefixTaskDef = (...a: Parameters<typeof prefixTaskDefVerdict>) => seen(prefixTaskDefVerdict(...a), (def) => ({ def }));
const prefixEventHandler = (...a: Parameters<typeof prefixEventHandlerVerdict>) =>
  seen(prefixEventHandlerVerdict(...a), (h) => ({ handler: h }));

describe("answers from Conductor (fixture twins, tenant FACEBOOK)", () => {
  it.each([
    ["workflow_execution", exec1p, exec1],
    ["workflow_execution2", exec2p, exec2],
    ["dynamic_exec (with doubled prefixes)", dynp, dyn],
    ["polled_task", polledp, polled],
    ["polled_tasks", polledListp, polledList],
    ["task_output_with_dynamictasks", outputp, output],
  ])("%s: stripping the stored form gives the plain file", (_n, stored, plain) => {
    expect(stripTenantDeep(stored, "FACEBOOK")).toEqual(plain);
  });

  it("leaves another tenant's prefix alone (ownership is decided before)", () => {
    expect(stripTenantDeep({ a: "OTHER___x", b: ["FACEBOOK___y"] }, "FACEBOOK")).toEqual({ a: "OTHER___x", b: ["y"] });
  });
});

describe("task definitions (fixture twins)", () => {
  it("prefixing each plain definition gives its twin; stripping the twins gives the plain list", () => {
    expect((taskdefs as unknown[]).map((d) => prefixTaskDef(d, "FACEBOOK", null))).toEqual(
      (taskdefsp as unknown[]).map((def) => ({ def })),
    );
    expect((taskdefsp as unknown[]).map((d) => stripTaskDef(d, "FACEBOOK"))).toEqual(taskdefs);
  });

  it("drops another tenant's definitions and refuses unusable names", () => {
    expect(stripTaskDef({ name: "OTHER___t" }, "FACEBOOK")).toBeNull();
    expect(prefixTaskDef({ name: "OTHER___t" }, "FACEBOOK", null)).toHaveProperty("refused");
    expect(prefixTaskDef({ name: "../t" }, "FACEBOOK", null)).toHaveProperty("refused");
  });
});

describe("event handlers (fixture twins, caller a@fb.com)", () => {
  it("prefixing the plain handler gives its twin, and stripping the twin gives it back", () => {
    // The fixture starts a workflow: the start_workflow capability (src/engines/conductor/capabilities.ts).
    const caller = { tenant: "FACEBOOK", subject: "a@fb.com", capabilities: new Set(["start_workflow"] as const) };
    expect(prefixEventHandler(handler, caller)).toEqual({ handler: handlerp });
    expect(prefixEventHandler(handler, { ...caller, capabilities: new Set() })).toEqual({
      refused: expect.stringContaining("conductor-capability/start_workflow"),
    });
    expect(stripEventHandler(handlerp, "FACEBOOK")).toEqual(handler);
  });

  it("refuses shared queues, actions on arbitrary workflow ids, and client-set taskToDomain", () => {
    const caller = { tenant: "FACEBOOK", subject: "a@fb.com", capabilities: new Set(["start_workflow"] as const) };
    expect(prefixEventHandler({ ...handler, event: "kafka:topic" }, caller)).toHaveProperty("refused");
    expect(
      prefixEventHandler({ ...handler, actions: [{ action: "complete_task", complete_task: { workflowId: "x" } }] }, caller),
    ).toHaveProperty("refused");
    const withDomain = {
      ...handler,
      actions: [{ action: "start_workflow", start_workflow: { name: "w", taskToDomain: { "*": "OTHER" } } }],
    };
    expect(prefixEventHandler(withDomain, caller)).toHaveProperty("refused");
    expect(prefixEventHandler({ ...handler, event: "conductor:OTHER___wf:t" }, caller)).toHaveProperty("refused");
    expect(stripEventHandler({ ...handlerp, name: "OTHER___event_handler" }, "FACEBOOK")).toBeNull();
  });
});
