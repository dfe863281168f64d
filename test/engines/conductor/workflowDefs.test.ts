import { describe, expect, it } from "vitest";
import { prefixWorkflowDef as prefixWorkflowDefVerdict, stripWorkflowDef } from "../../../src/engines/conductor/workflowDefs";
import { seen } from "./seen";
import { prefixTenant, stripTenant, nameProblem } from "../../../src/engines/conductor/tenantNames";
import nested from "../../fixtures/conductor/workflow_defs/nested_tasks_decision.json";
import nestedPrefixed from "../../fixtures/conductor/workflow_defs/nested_tasks_decision_prefixed.json";
import single from "../../fixtures/conductor/workflow_defs/single_subworkflow.json";
import singlePrefixed from "../../fixtures/conductor/workflow_defs/single_subworkflow_prefixed.json";
import dynamicFork from "../../fixtures/conductor/workflow_defs/workflow_with_dynamic_fork.json";
import dynamicForkPrefixed from "../../fixtures/conductor/workflow_defs/workflow_with_dynamic_fork_prefixed.json";
import labeled from "../../fixtures/conductor/workflow_defs/multpile_workflows_labeled.json";
import labeledPrefixed from "../../fixtures/conductor/workflow_defs/multpile_workflows_labeled_prefixed.json";

// The policies answer in `Verdict`s; `seen` reads them in the shapes the expectations below were written in.
const prefixWorkflowDef = (...a: Parameters<typeof prefixWorkflowDefVerdict>) => seen(prefixWorkflowDefVerdict(...a), (def) => ({ def }));

const ALL_TYPES = [
  "SIMPLE",
  "SUB_WORKFLOW",
  "DECISION",
  "SWITCH",
  "DO_WHILE",
  "EVENT",
  "FORK",
  "FORK_JOIN",
  "FORK_JOIN_DYNAMIC",
  "JOIN",
  "EXCLUSIVE_JOIN",
  "WAIT",
  "TERMINATE",
  "KAFKA_PUBLISH",
  "SET_VARIABLE",
  "JSON_JQ_TRANSFORM",
  "HTTP",
  "LAMBDA",
  "INLINE",
];
/**
 * The fixtures use two capabilities (src/engines/conductor/capabilities.ts): nested_tasks_decision runs JavaScript
 * (a DO_WHILE loopCondition, LAMBDA scripts) and workflow_with_dynamic_fork sets workflowStatusListenerEnabled.
 */
const opts = {
  tenant: "FACEBOOK",
  ownerEmail: "testmail",
  allowedTaskTypes: ALL_TYPES,
  capabilities: new Set(["javascript", "status_listener"] as const),
};

describe("tenant names", () => {
  it("prefixes and strips, keeping GLOBAL___ names", () => {
    expect(prefixTenant("A", "wf")).toBe("A___wf");
    expect(prefixTenant("A", "GLOBAL___task")).toBe("GLOBAL___task");
    expect(stripTenant("A", "A___wf")).toBe("wf");
    expect(stripTenant("A", "A___A___wf")).toBe("wf");
    expect(stripTenant("A", "B___wf")).toBeNull();
    expect(stripTenant("A", "AB___wf")).toBeNull();
    expect(stripTenant("A", "wf")).toBeNull();
  });

  it("refuses names that could reach another tenant or another path", () => {
    for (const bad of ["B___x", "a/b", "..", "x..y", "", "a\nb", "x".repeat(201)]) expect(nameProblem(bad), bad).not.toBeNull();
    expect(nameProblem("Mount_all-from inventory.v2")).toBeNull();
  });
});

describe("workflow definitions (fixture twins, tenant FACEBOOK, user testmail)", () => {
  it.each([
    ["nested_tasks_decision", nested, nestedPrefixed],
    ["single_subworkflow", single, singlePrefixed],
    ["workflow_with_dynamic_fork", dynamicFork, dynamicForkPrefixed],
  ])("%s: prefixing the plain file gives its twin", (_name, plain, prefixed) => {
    const out = prefixWorkflowDef(plain, opts);
    expect(out).toEqual({ def: prefixed });
  });

  it("stripping each twin of a listing gives the plain listing", () => {
    expect((labeledPrefixed as unknown[]).map((d) => stripWorkflowDef(d, "FACEBOOK"))).toEqual(labeled);
  });

  it("drops a definition of another tenant", () => {
    expect(stripWorkflowDef({ ...single, name: "OTHER___workflow1" }, "FACEBOOK")).toBeNull();
    expect(stripWorkflowDef({ ...single, name: "workflow1" }, "FACEBOOK")).toBeNull();
  });

  it("refuses ___ in names, taskToDomain in sub-workflows, and task types off the allow-list, at any depth", () => {
    const strict = {
      ...opts,
      allowedTaskTypes: ["SIMPLE", "SUB_WORKFLOW", "DECISION", "DO_WHILE", "FORK_JOIN", "JOIN", "TERMINATE", "FORK_JOIN_DYNAMIC"],
    };
    const noSub = { ...opts, allowedTaskTypes: strict.allowedTaskTypes.filter((t) => t !== "SUB_WORKFLOW") };
    expect(prefixWorkflowDef(nested, noSub)).toEqual({ refused: expect.stringContaining("SUB_WORKFLOW") }); // nested in a fork
    expect(prefixWorkflowDef(nested, strict)).toHaveProperty("def");
    expect(prefixWorkflowDef({ ...single, name: "OTHER___x" }, opts)).toHaveProperty("refused");
    const withDomain = structuredClone(single) as { tasks: { subWorkflowParam: Record<string, unknown> }[] };
    withDomain.tasks[0]!.subWorkflowParam.taskToDomain = { "*": "OTHER" };
    expect(prefixWorkflowDef(withDomain, opts)).toHaveProperty("refused");
    const deep = {
      name: "w",
      tasks: [
        {
          name: "d",
          type: "DECISION",
          decisionCases: { a: [{ name: "x", type: "DO_WHILE", loopOver: [{ name: "evil", type: "HTTP" }] }] },
        },
      ],
    };
    expect(prefixWorkflowDef(deep, strict)).toEqual({ refused: expect.stringContaining("HTTP") });
    expect(prefixWorkflowDef("nope", opts)).toHaveProperty("refused");
    expect(prefixWorkflowDef({ name: "w", tasks: "x" }, opts)).toHaveProperty("refused");
  });
});

describe("granted capabilities stay in the tenant's names (src/engines/conductor/capabilities.ts)", () => {
  const all = {
    ...opts,
    allowedTaskTypes: [...ALL_TYPES, "START_WORKFLOW"],
    capabilities: new Set(["javascript", "kafka", "status_listener", "start_workflow"] as const),
  };
  const plain = {
    name: "w",
    workflowStatusListenerEnabled: true,
    workflowStatusListenerSink: "conductor:done",
    rateLimitConfig: { rateLimitKey: "${workflow.input.k}", concurrentExecLimit: 2 },
    tasks: [
      {
        name: "k",
        taskReferenceName: "k",
        type: "KAFKA_PUBLISH",
        inputParameters: { kafka_request: { bootStrapServers: "b:9092", topic: "out" } },
      },
      { name: "s", taskReferenceName: "s", type: "START_WORKFLOW", inputParameters: { startWorkflow: { name: "next", version: 2 } } },
      {
        name: "l",
        taskReferenceName: "l",
        type: "DO_WHILE",
        loopCondition: "$.l.iteration < 2",
        loopOver: [{ name: "t", taskReferenceName: "t" }],
      },
    ],
  };

  it("prefixes every name a capability opens, and stripping gives the plain definition back", () => {
    const out = prefixWorkflowDef(plain, { ...all, ownerEmail: null }) as { def: Record<string, any> };
    expect(out.def.workflowStatusListenerSink).toBe("conductor:FACEBOOK___done");
    expect(out.def.rateLimitConfig.rateLimitKey).toBe("FACEBOOK___${workflow.input.k}");
    expect(out.def.tasks[0].inputParameters.kafka_request.topic).toBe("FACEBOOK___out");
    expect(out.def.tasks[1].inputParameters.startWorkflow).toEqual({
      name: "FACEBOOK___next",
      version: 2,
      taskToDomain: { "*": "FACEBOOK" },
      correlationId: "${workflow.correlationId}",
    });
    expect(JSON.parse(JSON.stringify(stripWorkflowDef(out.def, "FACEBOOK")))).toEqual(plain);
  });

  it("each capability is needed: without it the same definition is refused, naming its scope", () => {
    for (const missing of all.capabilities) {
      const fewer = new Set([...all.capabilities].filter((c) => c !== missing));
      expect(prefixWorkflowDef(plain, { ...all, capabilities: fewer }), missing).toEqual({
        refused: expect.stringContaining(`conductor-capability/${missing}`),
      });
    }
  });
});
