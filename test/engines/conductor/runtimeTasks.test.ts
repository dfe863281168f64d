/**
 * Issue 17, classes 4, 5 and 7 on the Conductor and worker routes, through the real Worker against the recording
 * Conductor stub: no client-supplied data makes Conductor run a task type outside the allow-list, a name outside
 * the tenant's space or code (class 4); no client-set payload path becomes a READ grant (class 5); deep JSON is a
 * 400 before anything parses or walks it (class 7). Every refusal is checked to have sent nothing upstream.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, errorOf, uniqueTag } from "../../helpers";
import { conductorStack, seedDynamicForkExecution, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;
let alice: string;

/** Everything but INLINE and LAMBDA is in the default allow-list; the code rules are tested with them allowed. */
const ALLOWED =
  "SIMPLE,SUB_WORKFLOW,DECISION,SWITCH,DO_WHILE,EVENT,FORK,FORK_JOIN,FORK_JOIN_DYNAMIC,JOIN,EXCLUSIVE_JOIN,WAIT,TERMINATE,KAFKA_PUBLISH,SET_VARIABLE,JSON_JQ_TRANSFORM,INLINE,LAMBDA,DYNAMIC";

beforeAll(async () => {
  stack = await conductorStack("runtime", { ALLOWED_SYSTEM_TASKS: ALLOWED });
  await seedTwoTenants(stack);
  await seedDynamicForkExecution(stack);
  admin = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
  alice = await stack.key({ subject: "alice", groups: ["TEST"] });
});

const count = async () => (await stack.records()).length;

/** Sends and expects a 400 that reached nothing upstream; returns the error message. */
async function refused(key: string, path: string, init: { method: string; json?: unknown; body?: string }): Promise<string> {
  const before = await count();
  const res = await stack.as(
    key,
    path,
    init.body !== undefined ? { method: init.method, body: init.body, headers: { "content-type": "application/json" } } : init,
  );
  const text = await res.clone().text();
  expect(res.status, text).toBe(400);
  expect((await errorOf(res)).code).toBe("BAD_REQUEST");
  expect(await count()).toBe(before);
  return text;
}

const def = (tasks: unknown[]) => ({ name: "attack", version: 1, tasks });
const source = { name: "inventory", taskReferenceName: "inv", type: "SIMPLE" };
const join = { name: "join", taskReferenceName: "join", type: "JOIN" };
const nested = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

describe("class 4: task lists, types and code chosen by data", () => {
  const forkFrom = (expr: unknown, extra: Record<string, unknown> = {}) => ({
    name: "fork",
    taskReferenceName: "fork",
    type: "FORK_JOIN_DYNAMIC",
    dynamicForkTasksParam: "dynamicTasks",
    dynamicForkTasksInputParamName: "dynamicTasksInput",
    inputParameters: { dynamicTasks: expr, dynamicTasksInput: "${inv.output.dynamic_tasks_input}" },
    ...extra,
  });

  it.each([
    ["the start input", forkFrom("${workflow.input.tasks}")],
    [
      "a literal list (resolved as templates at run time)",
      forkFrom([{ name: "x", taskReferenceName: "x", type: "${workflow.input.type}" }]),
    ],
    ["a SUB_WORKFLOW's output", forkFrom("${sub.output.dynamic_tasks}")],
    ["another key of a worker's output", forkFrom("${inv.output.tasks}")],
    ["an unknown task", forkFrom("${nobody.output.dynamic_tasks}")],
    ["a JsonPath that is not a plain reference", forkFrom("${inv['x'].output.dynamic_tasks}")],
    ["the workflow's context", forkFrom("${workflow.output.dynamic_tasks}")],
    [
      "the simple form (forkTaskType)",
      forkFrom("${inv.output.dynamic_tasks}", { inputParameters: { forkTaskType: "HTTP", forkTaskInputs: "${workflow.input.reqs}" } }),
    ],
    [
      "the simple form (forkTaskWorkflow with taskToDomain in its inputs)",
      forkFrom("${inv.output.dynamic_tasks}", {
        inputParameters: { dynamicTasks: "${inv.output.dynamic_tasks}", forkTaskWorkflow: "wfA", forkTaskInputs: "${workflow.input.x}" },
      }),
    ],
    [
      "the legacy dynamicForkJoinTasksParam",
      {
        name: "fork",
        taskReferenceName: "fork",
        type: "FORK_JOIN_DYNAMIC",
        dynamicForkJoinTasksParam: "dt",
        inputParameters: { dt: "${workflow.input.dt}" },
      },
    ],
  ])("a dynamic fork whose task list comes from %s is refused", async (_, fork) => {
    const sub = { name: "sub", taskReferenceName: "sub", type: "SUB_WORKFLOW", subWorkflowParam: { name: "wfA" } };
    await refused(admin, "/conductor/api/metadata/workflow", { method: "POST", json: def([source, sub, fork, join]) });
  });

  it("a dynamic fork of a worker's dynamic_tasks is accepted, at any depth, and stored in the tenant's space", async () => {
    const nested = {
      name: "loop",
      taskReferenceName: "loop",
      type: "DO_WHILE",
      // No loopCondition (JavaScript, a capability): the loop runs once (DoWhile.evaluateCondition).
      loopOver: [
        source,
        forkFrom("${inv.output.dynamic_tasks}"),
        join,
        { ...forkFrom("${inv.output.dynamicTasks}"), taskReferenceName: "fork2" },
        { ...join, taskReferenceName: "join2" },
      ],
    };
    const res = await stack.as(admin, "/conductor/api/metadata/workflow", { method: "POST", json: def([nested]) });
    expect(res.status, await res.clone().text()).toBe(200);
    const sent = JSON.parse((await stack.records()).at(-1)!.body);
    expect(sent.tasks[0].loopOver[1].inputParameters.dynamicTasks).toBe("${inv.output.dynamic_tasks}");
    expect(sent.tasks[0].loopOver[1].name).toBe("FACEBOOK___fork");
  });

  it("a DYNAMIC task's name is read in the tenant's space, whatever the input says, and shown back unprefixed", async () => {
    const dyn = {
      name: "d",
      taskReferenceName: "d",
      type: "DYNAMIC",
      dynamicTaskNameParam: "taskToRun",
      inputParameters: { taskToRun: "${workflow.input.taskName}" },
    };
    const res = await stack.as(admin, "/conductor/api/metadata/workflow", { method: "POST", json: { ...def([dyn]), name: "dynwf" } });
    expect(res.status, await res.clone().text()).toBe(200);
    const sent = JSON.parse((await stack.records()).at(-1)!.body);
    // "FACEBOOK___HTTP" is not a system task: a start input {"taskName": "HTTP"} runs nothing of Conductor's own.
    expect(sent.tasks[0].inputParameters.taskToRun).toBe("FACEBOOK___${workflow.input.taskName}");
    const back = (await (await stack.as(admin, "/conductor/api/metadata/workflow/dynwf")).json()) as {
      tasks: { inputParameters: Record<string, string> }[];
    };
    expect(back.tasks[0]!.inputParameters.taskToRun).toBe("${workflow.input.taskName}");
  });

  it.each([
    ["no dynamicTaskNameParam", { name: "d", taskReferenceName: "d", type: "DYNAMIC", inputParameters: {} }],
    [
      "a name that is not a string",
      { name: "d", taskReferenceName: "d", type: "DYNAMIC", dynamicTaskNameParam: "t", inputParameters: { t: { a: 1 } } },
    ],
    [
      "another tenant's name",
      { name: "d", taskReferenceName: "d", type: "DYNAMIC", dynamicTaskNameParam: "t", inputParameters: { t: "OTHER___t1" } },
    ],
    [
      "INLINE code from the input",
      {
        name: "i",
        taskReferenceName: "i",
        type: "INLINE",
        inputParameters: { evaluatorType: "graaljs", expression: "${workflow.input.code}" },
      },
    ],
    [
      "INLINE code missing (a task definition's inputTemplate would supply it)",
      { name: "i", taskReferenceName: "i", type: "INLINE", inputParameters: { evaluatorType: "graaljs" } },
    ],
    [
      "jq from the input",
      { name: "j", taskReferenceName: "j", type: "JSON_JQ_TRANSFORM", inputParameters: { queryExpression: "x ${workflow.input.q}" } },
    ],
    [
      "LAMBDA from the input",
      { name: "l", taskReferenceName: "l", type: "LAMBDA", inputParameters: { scriptExpression: "${workflow.input.s}" } },
    ],
    ["an EVENT to a shared queue", { name: "e", taskReferenceName: "e", type: "EVENT", sink: "sqs:everyone" }],
    ["an EVENT sink from the input", { name: "e", taskReferenceName: "e", type: "EVENT", sink: "${workflow.input.sink}" }],
    [
      "a Kafka broker from the input",
      {
        name: "k",
        taskReferenceName: "k",
        type: "KAFKA_PUBLISH",
        inputParameters: { kafka_request: { bootStrapServers: "${workflow.input.host}", topic: "t", value: "v" } },
      },
    ],
    [
      "a Kafka request from the input",
      { name: "k", taskReferenceName: "k", type: "KAFKA_PUBLISH", inputParameters: { kafka_request: "${workflow.input.req}" } },
    ],
    [
      "workflowTaskType (Jackson's second spelling of type)",
      { name: "w", taskReferenceName: "w", type: "SIMPLE", workflowTaskType: "HTTP" },
    ],
    [
      "onStateChange events",
      { name: "s", taskReferenceName: "s", type: "SIMPLE", onStateChange: { onScheduled: [{ type: "sqs:x", payload: {} }] } },
    ],
  ])("a definition with %s is refused", async (_, task) => {
    await refused(admin, "/conductor/api/metadata/workflow", { method: "POST", json: def([task]) });
    await refused(admin, "/conductor/api/metadata/workflow", {
      method: "PUT",
      json: [def([{ name: "sw", taskReferenceName: "sw", type: "SWITCH", decisionCases: { a: [task] } }])],
    });
  });

  it("code written in the definition and an EVENT to the tenant's own events are accepted", async () => {
    const tasks = [
      {
        name: "i",
        taskReferenceName: "i",
        type: "INLINE",
        inputParameters: { evaluatorType: "graaljs", expression: "$.x + 1", x: "${workflow.input.x}" },
      },
      { name: "e", taskReferenceName: "e", type: "EVENT", sink: "conductor" },
      {
        name: "k",
        taskReferenceName: "k",
        type: "KAFKA_PUBLISH",
        inputParameters: { kafka_request: { bootStrapServers: "kafka:9092", topic: "out", value: "${workflow.input.v}" } },
      },
    ];
    const body = { method: "POST", json: { ...def(tasks), name: "codewf" } };
    // Each is a capability (src/engines/conductor/capabilities.ts): refused without its scope, nothing sent.
    const before = await count();
    expect((await stack.as(admin, "/conductor/api/metadata/workflow", body)).status).toBe(403);
    expect(await count()).toBe(before);
    const capabilities = ["javascript", "event", "kafka"].map((c) => `conductor-capability/${c}`);
    const granted = await stack.key({ subject: "fb-admin", roles: ["OWNER"], scopes: ["conductor", ...capabilities] });
    expect((await stack.as(granted, "/conductor/api/metadata/workflow", body)).status).toBe(200);
    const sent = JSON.parse((await stack.records()).at(-1)!.body) as {
      tasks: { inputParameters?: { kafka_request?: { topic: string } } }[];
    };
    expect(sent.tasks[2]!.inputParameters!.kafka_request!.topic).toBe("FACEBOOK___out");
  });

  it.each([
    ["decisionCases", (t: unknown) => ({ name: "s", taskReferenceName: "s", type: "SWITCH", decisionCases: { a: [t] } })],
    ["defaultCase", (t: unknown) => ({ name: "s", taskReferenceName: "s", type: "DECISION", defaultCase: [t] })],
    ["forkTasks", (t: unknown) => ({ name: "f", taskReferenceName: "f", type: "FORK_JOIN", forkTasks: [[], [t]] })],
    ["loopOver", (t: unknown) => ({ name: "l", taskReferenceName: "l", type: "DO_WHILE", loopOver: [t] })],
  ])("an inline sub-workflow definition in %s is refused, as an object or as an expression", async (_, wrap) => {
    const inline = { name: "in", tasks: [{ name: "h", taskReferenceName: "h", type: "HTTP" }] };
    for (const workflowDefinition of [inline, "${workflow.input.def}"]) {
      const sub = { name: "sub", taskReferenceName: "sub", type: "SUB_WORKFLOW", subWorkflowParam: { name: "inner", workflowDefinition } };
      await refused(admin, "/conductor/api/metadata/workflow", { method: "POST", json: def([wrap(wrap(sub))]) });
    }
  });

  it("a start may not carry an inline workflowDef, however its key is spelled in JSON", async () => {
    await refused(alice, "/conductor/api/workflow", {
      method: "POST",
      body: '{"name":"wfA","workflow\\u0044ef":{"name":"x","tasks":[{"name":"h","taskReferenceName":"h","type":"HTTP"}]}}',
    });
    await refused(alice, "/conductor/api/workflow", { method: "POST", body: '{"name":"wfA","taskTo\\u0044omain":{"*":"OTHER"}}' });
  });

  it("duplicate keys: refused in either order (Conductor's Jackson and the gateway need not keep the same one)", async () => {
    await refused(alice, "/conductor/api/workflow", { method: "POST", body: '{"name":"wfA","name":"OTHER___wfA"}' });
    const message = await refused(alice, "/conductor/api/workflow", {
      method: "POST",
      body: '{"name":"OTHER___wfA","name":"wfA","input":{}}',
    });
    expect(message).toContain("appears twice");
  });

  describe("skiptask: a skipped task's output is read like a worker's", () => {
    const skip = (json: unknown) => ({ method: "PUT", json });
    it.each([
      ["an HTTP task", { taskOutput: { dynamic_tasks: [{ name: "h", taskReferenceName: "h", type: "HTTP" }] } }],
      ["another tenant's task", { taskOutput: { dynamic_tasks: [{ name: "OTHER___t1", taskReferenceName: "o", type: "SIMPLE" }] } }],
      [
        "a DYNAMIC task (its name would come from the fork's inputs)",
        {
          taskOutput: {
            dynamic_tasks: [{ name: "d", taskReferenceName: "d", type: "DYNAMIC", dynamicTaskNameParam: "t", inputParameters: { t: "x" } }],
          },
        },
      ],
      [
        "INLINE code (the fork's inputs replace its expression)",
        { taskOutput: { dynamic_tasks: [{ name: "i", taskReferenceName: "i", type: "INLINE", inputParameters: { expression: "1" } }] } },
      ],
      [
        "a nested dynamic fork",
        {
          taskOutput: {
            dynamic_tasks: [
              {
                name: "f",
                taskReferenceName: "f",
                type: "FORK_JOIN_DYNAMIC",
                dynamicForkTasksParam: "d",
                inputParameters: { d: "${x.output.dynamic_tasks}" },
              },
            ],
          },
        },
      ],
      [
        "an inline sub-workflow",
        {
          taskOutput: {
            dynamic_tasks: [
              {
                name: "s",
                taskReferenceName: "s",
                type: "SUB_WORKFLOW",
                subWorkflowParam: { name: "x", workflowDefinition: { name: "y", tasks: [] } },
              },
            ],
          },
        },
      ],
      ["a list that is not a list", { taskOutput: { dynamic_tasks: { name: "h", type: "HTTP" } } }],
      [
        "a type given twice (workflowTaskType after type)",
        { taskOutput: { dynamic_tasks: [{ name: "h", taskReferenceName: "h", type: "SIMPLE", workflowTaskType: "HTTP" }] } },
      ],
      ["a protobuf output", { taskOutputMessage: { "@type": "x" } }],
    ])("%s is refused", async (_, body) => {
      await refused(admin, "/conductor/api/workflow/fb-dyn/skiptask/inv", skip(body));
    });

    it("a forked task named like a task of the definition (which it would stand in for) is refused; nothing is skipped", async () => {
      for (const ref of ["inv2", "inv2__3", "fork"]) {
        const before = (await stack.records()).filter((r) => r.method === "PUT").length;
        const res = await stack.as(
          admin,
          "/conductor/api/workflow/fb-dyn/skiptask/inv",
          skip({
            taskOutput: { dynamic_tasks: [{ name: "s", taskReferenceName: ref, type: "SUB_WORKFLOW", subWorkflowParam: { name: "wfA" } }] },
          }),
        );
        expect(res.status, ref).toBe(400);
        expect((await stack.records()).filter((r) => r.method === "PUT").length).toBe(before);
      }
      // Another tenant's workflow: its definition is not even read.
      const before = await count();
      expect(
        (
          await stack.as(
            admin,
            "/conductor/api/workflow/ot-1/skiptask/inv",
            skip({ taskOutput: { dynamic_tasks: [{ name: "t", taskReferenceName: "new", type: "SIMPLE" }] } }),
          )
        ).status,
      ).toBe(404);
      expect((await stack.records()).slice(before).every((r) => r.method === "GET")).toBe(true);
    });

    it("a list of the tenant's own tasks is sent prefixed", async () => {
      const res = await stack.as(
        admin,
        "/conductor/api/workflow/fb-dyn/skiptask/inv",
        skip({ taskOutput: { dynamic_tasks: [{ name: "t1", taskReferenceName: "a", type: "SIMPLE" }], other: 1 } }),
      );
      expect(res.status).toBe(200);
      const sent = JSON.parse((await stack.records()).at(-1)!.body);
      expect(sent).toEqual({
        taskOutput: { dynamic_tasks: [{ name: "FACEBOOK___t1", taskReferenceName: "a", type: "SIMPLE" }], other: 1 },
      });
    });
  });

  it("rerun: taskInput (a task's already mapped input: sub-workflow name, inline definition, code) is refused; workflowInput is data", async () => {
    await refused(admin, "/conductor/api/workflow/fb-1/rerun", {
      method: "POST",
      json: { reRunFromTaskId: "task-fb1", taskInput: { subWorkflowName: "OTHER___wfA", subWorkflowDefinition: { name: "x", tasks: [] } } },
    });
    const res = await stack.as(admin, "/conductor/api/workflow/fb-1/rerun", {
      method: "POST",
      json: { workflowInput: { tasks: "anything" }, taskInput: {} },
    });
    expect(res.status).toBe(200);
  });
});

describe("class 5: payload paths", () => {
  it("a start naming another tenant's input path is refused, so the path never shows in (nor is granted from) the caller's execution", async () => {
    await refused(alice, "/conductor/api/workflow", {
      method: "POST",
      json: { name: "wfA", externalInputPayloadStoragePath: "workflow/ot-out.json" },
    });
    await refused(alice, "/conductor/api/workflow", { method: "POST", json: { name: "wfA", externalInputPayloadStoragePath: 7 } });
    const read = await stack.as(
      alice,
      "/conductor/api/workflow/externalstoragelocation?operation=READ&payloadType=WORKFLOW_INPUT&path=workflow/ot-out.json",
    );
    expect(read.status).toBe(404);
  });

  it("a start with a path minted for the tenant (a WRITE location it asked for) is refused too: the gateway never reads what the client wrote there", async () => {
    const write = await stack.as(alice, "/conductor/api/workflow/externalstoragelocation?operation=WRITE&payloadType=WORKFLOW_INPUT");
    const { path } = (await write.json()) as { path: string };
    await new Promise((r) => setTimeout(r, 50)); // the grant lands in KV in the background (waitUntil)
    const text = await refused(alice, "/conductor/api/workflow", {
      method: "POST",
      json: { name: "wfA", externalInputPayloadStoragePath: path },
    });
    expect(text).toContain("send the input inline");
  });
});

describe("class 7: deep JSON", () => {
  it("5,000 nested arrays in a 10 KB definition, 50,000 in a start input: 400, nothing sent", async () => {
    await refused(admin, "/conductor/api/metadata/workflow", {
      method: "POST",
      body: `{"name":"d","tasks":[{"name":"a","taskReferenceName":"a","inputParameters":{"x":${nested(5_000)}}}]}`,
    });
    await refused(alice, "/conductor/api/workflow", { method: "POST", body: `{"name":"wfA","input":{"x":${nested(50_000)}}}` });
    await refused(alice, "/conductor/api/workflow/wfA", { method: "POST", body: `{"x":${nested(50_000)}}` });
    await refused(admin, "/conductor/api/workflow/fb-1/skiptask/inv", { method: "PUT", body: `{"taskOutput":{"x":${nested(5_000)}}}` });
  });

  it("nesting up to the limit passes; brackets inside strings (escaped quotes included) are not nesting", async () => {
    const deep = (n: number) => `${'{"a":'.repeat(n - 1)}{}${"}".repeat(n - 1)}`;
    const ok = await stack.as(alice, "/conductor/api/workflow/wfA", {
      method: "POST",
      body: deep(128),
      headers: { "content-type": "application/json" },
    });
    expect(ok.status, await ok.clone().text()).toBe(200);
    await refused(alice, "/conductor/api/workflow/wfA", { method: "POST", body: deep(129) });
    const strings = JSON.stringify({ s: "[".repeat(10_000), t: `\\"${"{".repeat(10_000)}`, u: '"]]]' });
    const res = await stack.as(alice, "/conductor/api/workflow/wfA", {
      method: "POST",
      body: strings,
      headers: { "content-type": "application/json" },
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

describe("the worker route (classes 4, 5, 7)", () => {
  async function workerKey(s: ConductorStack): Promise<string> {
    const res = await asAdmin("/admin/keys", {
      method: "POST",
      env: s.env,
      json: { tenant: "ops", subject: `worker-${uniqueTag("w")}`, scopes: ["worker"], servesTenants: ["FACEBOOK"] },
    });
    return ((await res.json()) as { key: string }).key;
  }

  it("a task result's output in external storage, a protobuf output, run-time-unsafe task types and deep JSON are refused", async () => {
    const s = await conductorStack("wattack", { ALLOWED_SYSTEM_TASKS: ALLOWED });
    await s.seed({ fill: [{ tenant: "FACEBOOK", taskType: "fork_gen", count: 1 }] });
    const key = await workerKey(s);
    const polled = (await (await s.as(key, "/workers/conductor/api/tasks/poll/batch/fork_gen?count=1&timeout=0")).json()) as {
      taskId: string;
      workflowInstanceId: string;
    }[];
    const ids = { taskId: polled[0]!.taskId, workflowInstanceId: polled[0]!.workflowInstanceId, status: "COMPLETED" };
    const updates = async () => (await s.records()).filter((r) => r.method === "POST" && r.path === "/api/tasks").length;
    const send = (json: unknown) => s.as(key, "/workers/conductor/api/tasks", { method: "POST", json });
    const bad = [
      { ...ids, externalOutputPayloadStoragePath: "task/ot-out.json" },
      { ...ids, outputMessage: { "@type": "x" } },
      ...["INLINE", "DYNAMIC", "FORK_JOIN_DYNAMIC", "JSON_JQ_TRANSFORM", "EVENT", "DECISION"].map((type) => ({
        ...ids,
        outputData: { dynamic_tasks: [{ name: "x", taskReferenceName: "x", type, inputParameters: { expression: "1" } }] },
      })),
    ];
    for (const body of bad) {
      const res = await send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    // update-v2 (update, then poll) takes the same TaskResult through the same check.
    for (const body of bad.slice(0, 3)) {
      expect((await s.as(key, "/workers/conductor/api/tasks/update-v2", { method: "POST", json: body })).status, JSON.stringify(body)).toBe(
        400,
      );
    }
    const deep = await s.as(key, "/workers/conductor/api/tasks", {
      method: "POST",
      body: `{"taskId":"${ids.taskId}","outputData":{"x":${nested(5_000)}}}`,
      headers: { "content-type": "application/json" },
    });
    expect(deep.status).toBe(400);
    expect(await updates()).toBe(0);
    // A forked task may not take the place of a task of the definition (ref_0 is the polled task's own reference).
    expect(
      (
        await send({
          ...ids,
          outputData: { dynamic_tasks: [{ name: "s", taskReferenceName: "ref_0", type: "SUB_WORKFLOW", subWorkflowParam: { name: "w" } }] },
        })
      ).status,
    ).toBe(400);
    // The SDKs' spelling, dynamicTasks, is read the same way.
    expect((await send({ ...ids, outputData: { dynamicTasks: [{ name: "h", taskReferenceName: "h", type: "HTTP" }] } })).status).toBe(400);
    expect(await updates()).toBe(0);
    const ok = await send({
      ...ids,
      outputData: {
        dynamic_tasks: [
          { name: "t", taskReferenceName: "t", type: "SIMPLE" },
          { name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "w" } },
        ],
        dynamicTasks: [{ name: "u", taskReferenceName: "u" }],
      },
    });
    expect(ok.status).toBe(200);
    expect(await updates()).toBe(1);
    const sent = JSON.parse((await s.records()).filter((r) => r.method === "POST" && r.path === "/api/tasks").at(-1)!.body);
    expect(sent.outputData.dynamic_tasks.map((t: { name: string }) => t.name)).toEqual(["FACEBOOK___t", "FACEBOOK___s"]);
    expect(sent.outputData.dynamic_tasks[1].subWorkflowParam.name).toBe("FACEBOOK___w");
    expect(sent.outputData.dynamicTasks[0].name).toBe("FACEBOOK___u");
  });
});
