/**
 * GET /conductor/api/workflow/{id}/hierarchy: the execution tree, checked at every level, within the budget.
 */
import { beforeAll, describe, expect, it } from "vitest";
import dynP from "../../fixtures/conductor/execs/dynamic_exec_prefixed.json";
import dyn from "../../fixtures/conductor/execs/dynamic_exec.json";
import { conductorStack, clone, type ConductorStack } from "./harness";

interface Node {
  workflowId: string;
  execution: Record<string, unknown>;
  definition: Record<string, unknown> | null;
  taskLogs: Record<string, unknown>;
  subWorkflows: Node[];
  omitted?: number;
  truncated?: boolean;
}

const root = dynP as {
  workflowId: string;
  correlationId: string;
  tasks: { taskType: string; subWorkflowId?: string; outputData?: { subWorkflowId?: string } }[];
};
/** Each sub-workflow id once (some tasks carry it only in their output, some repeat it). */
const subIds = [
  ...new Set(root.tasks.filter((t) => t.taskType === "SUB_WORKFLOW").map((t) => t.subWorkflowId ?? t.outputData?.subWorkflowId)),
].filter((id): id is string => !!id);

const sub = (id: string, type: string, correlationId: string, tasks: unknown[] = []) => ({
  workflowId: id,
  workflowName: type,
  workflowType: type,
  workflowVersion: 1,
  correlationId,
  status: "COMPLETED",
  tasks,
});

async function seeded(label: string, env: Record<string, unknown> = {}): Promise<ConductorStack> {
  const s = await conductorStack(label, env);
  const [a, b, c, d, e] = subIds as [string, string, string, string, string];
  await s.seed({
    executions: [
      clone(dynP),
      // a: FACEBOOK's, with a grandchild; b: FACEBOOK's; c: OTHER's (a forged link); d: another user's; e: missing
      sub(a, "FACEBOOK___Mount_cli", root.correlationId, [{ taskType: "SUB_WORKFLOW", taskId: "ta", subWorkflowId: "grandchild" }]),
      sub("grandchild", "FACEBOOK___Leaf", root.correlationId, [{ taskType: "SIMPLE", taskId: "tg" }]),
      sub(b, "FACEBOOK___Mount_cli", root.correlationId),
      sub(c, "OTHER___Secret", root.correlationId),
      sub(d, "FACEBOOK___Mount_cli", "someone-else"),
    ],
    workflowDefs: [
      { name: "FACEBOOK___Mount_cli", version: 1, ownerEmail: "x", tasks: [] },
      { name: "FACEBOOK___Leaf", version: 1, tasks: [] },
      { name: "OTHER___Secret", version: 1, tasks: [] },
    ],
    logs: { tg: [{ log: "leaf ran", taskId: "tg" }] },
  });
  void e;
  return s;
}

describe("execution hierarchy", () => {
  let stack: ConductorStack;
  beforeAll(async () => {
    stack = await seeded("hier");
  });

  it("answers the tree of the caller's own sub-workflows and leaves out the rest", async () => {
    const user = await stack.key({ subject: root.correlationId, groups: [] });
    const res = await stack.as(user, `/conductor/api/workflow/${root.workflowId}/hierarchy`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("OTHER");
    expect(text).not.toContain("Secret");
    const tree = JSON.parse(text) as Node;
    expect(tree.execution).toEqual(dyn);
    expect(tree.subWorkflows.map((n) => n.workflowId).sort()).toEqual([subIds[0], subIds[1]].sort());
    const a = tree.subWorkflows.find((n) => n.workflowId === subIds[0])!;
    expect(a.definition).toEqual({ name: "Mount_cli", version: 1, tasks: [] });
    expect(a.subWorkflows[0]!.workflowId).toBe("grandchild");
    expect(a.subWorkflows[0]!.execution.workflowType).toBe("Leaf");
    expect(a.subWorkflows[0]!.taskLogs).toEqual({ tg: [{ log: "leaf ran", taskId: "tg" }] });
    // c (another tenant's), d (another user's), and the missing ones are counted, not shown
    expect({ omitted: tree.omitted, truncated: tree.truncated, subs: tree.subWorkflows.length }).toEqual({
      omitted: subIds.length - 2,
      truncated: false,
      subs: 2,
    });
    expect(tree.truncated).toBe(false);
  });

  it("an admin of the tenant also sees other users' sub-workflows of the tenant", async () => {
    const admin = await stack.key({ subject: "boss", roles: ["OWNER"] });
    const tree = (await (await stack.as(admin, `/conductor/api/workflow/${root.workflowId}/hierarchy`)).json()) as Node;
    expect(tree.subWorkflows.map((n) => n.workflowId).sort()).toEqual([subIds[0], subIds[1], subIds[3]].sort());
  });

  it("another user's root is 404", async () => {
    const other = await stack.key({ subject: "someone-else", groups: [] });
    expect((await stack.as(other, `/conductor/api/workflow/${root.workflowId}/hierarchy`)).status).toBe(404);
  });

  it("stops within the subrequest budget and says so", async () => {
    const small = await seeded("hier-budget", { SUBREQUEST_BUDGET: "10" });
    const user = await small.key({ subject: root.correlationId, groups: [] });
    const res = await small.as(user, `/conductor/api/workflow/${root.workflowId}/hierarchy`);
    expect(res.status).toBe(200);
    const tree = (await res.json()) as Node;
    expect(tree.truncated).toBe(true);
    const calls = (await small.records()).length;
    expect(calls).toBeLessThanOrEqual(10 - 4); // the budget less what is reserved for the request's own work
  });
});
