/**
 * Issue 25, class 2: code and outbound power in fields, not only in task types. Through the real Worker against the
 * recording Conductor stub: every field Conductor evaluates as code, or by which it sends outside the workflow, is
 * refused (403 naming the capability, nothing sent) unless the writer's key holds its `conductor-capability/<name>`
 * scope, and then stays inside the tenant's names; unknown fields and task types, and repeated keys, are refused
 * (400, nothing sent). The expectations come from Conductor's source (cited per case), not from the gateway's table.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
/** A Conductor admin of FACEBOOK with no capability. */
let plain: string;
/** The same admin holding every capability. */
let granted: string;
/** Only `conductor-capability/javascript`. */
let jsOnly: string;
/** Only `conductor-capability/start_workflow`. */
let startOnly: string;

/** INLINE, LAMBDA, HTTP, START_WORKFLOW and the unsupported types are listed so the capability, not the allow-list, decides. */
const ALLOWED =
  "SIMPLE,SUB_WORKFLOW,DECISION,SWITCH,DO_WHILE,EVENT,FORK_JOIN,JOIN,WAIT,TERMINATE,KAFKA_PUBLISH,JSON_JQ_TRANSFORM,INLINE,LAMBDA,HTTP,START_WORKFLOW,BUSINESS_RULE,LLM_CHAT_COMPLETE,USER_DEFINED";

const scopes = (...caps: string[]) => ["conductor", ...caps.map((c) => `conductor-capability/${c}`)];

beforeAll(async () => {
  stack = await conductorStack("caps", { ALLOWED_SYSTEM_TASKS: ALLOWED });
  await seedTwoTenants(stack);
  plain = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
  granted = await stack.key({ subject: "fb-admin", roles: ["OWNER"], scopes: ["conductor", "conductor-capability/*"] });
  jsOnly = await stack.key({ subject: "fb-admin", roles: ["OWNER"], scopes: scopes("javascript") });
  startOnly = await stack.key({ subject: "fb-admin", roles: ["OWNER"], scopes: scopes("start_workflow") });
});

const count = async () => (await stack.records()).length;
let n = 0;
const def = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ name: `capwf${++n}`, version: 1, tasks, ...extra });
const post = (key: string, body: unknown, path = "/conductor/api/metadata/workflow") => stack.as(key, path, { method: "POST", json: body });

/** Expects `status` (400 or 403) with a message containing `says`, and nothing sent upstream. */
async function refusedUnsent(send: () => Promise<Response>, status: 400 | 403, says: string): Promise<void> {
  const before = await count();
  const res = await send();
  const text = await res.clone().text();
  expect(res.status, text).toBe(status);
  const e = await errorOf(res);
  expect(e.code).toBe(status === 403 ? "FORBIDDEN" : "BAD_REQUEST");
  expect(e.message).toContain(says);
  expect(await count()).toBe(before);
}

/** The body the stub received last. */
const lastSent = async () => JSON.parse((await stack.records()).at(-1)!.body) as Record<string, unknown>;

const switchWith = (evaluatorType: string, expression = "$.x > 1 ? 'a' : 'b'") => ({
  name: "sw",
  taskReferenceName: "sw",
  type: "SWITCH",
  evaluatorType,
  expression,
  inputParameters: { x: "${workflow.input.x}" },
  decisionCases: { a: [{ name: "t", taskReferenceName: "t", type: "SIMPLE" }] },
});

/** Code fields: each is refused with no capability (403, names the scope) and accepted with it. */
const CODE: [string, unknown[], Record<string, unknown>, string][] = [
  // core/execution/mapper/SwitchTaskMapper.java: evaluators.get(evaluatorType).evaluate(expression, input)
  ["SWITCH evaluatorType javascript", [switchWith("javascript")], {}, "javascript"],
  ["SWITCH evaluatorType graaljs", [switchWith("graaljs")], {}, "javascript"],
  ["SWITCH evaluatorType python", [switchWith("python", "'a'")], {}, "python"],
  // core/execution/mapper/DecisionTaskMapper.java: ScriptEvaluator.eval(caseExpression, input)
  [
    "DECISION caseExpression",
    [{ name: "d", taskReferenceName: "d", type: "DECISION", caseExpression: "Java.type('java.lang.System').exit(1)", decisionCases: {} }],
    {},
    "javascript",
  ],
  // core/execution/tasks/DoWhile.java: ScriptEvaluator.evalBool(loopCondition, input)
  [
    "DO_WHILE loopCondition",
    [
      {
        name: "l",
        taskReferenceName: "l",
        type: "DO_WHILE",
        loopCondition: "$.l.iteration < 3",
        loopOver: [{ name: "t", taskReferenceName: "t" }],
      },
    ],
    {},
    "javascript",
  ],
  // core/execution/tasks/Inline.java: evaluatorType from the inputs
  [
    "INLINE with the javascript evaluator",
    [{ name: "i", taskReferenceName: "i", type: "INLINE", inputParameters: { evaluatorType: "javascript", expression: "1" } }],
    {},
    "javascript",
  ],
  // core/execution/tasks/Lambda.java
  ["LAMBDA", [{ name: "l", taskReferenceName: "l", type: "LAMBDA", inputParameters: { scriptExpression: "return 1" } }], {}, "javascript"],
  // JsonJQTransformTaskMapper.java
  [
    "JSON_JQ_TRANSFORM",
    [{ name: "j", taskReferenceName: "j", type: "JSON_JQ_TRANSFORM", inputParameters: { queryExpression: ".a" } }],
    {},
    "jq",
  ],
  // A SWITCH nested in a fork in a loop is the same code.
  [
    "SWITCH javascript nested in forkTasks",
    [
      {
        name: "f",
        taskReferenceName: "f",
        type: "FORK_JOIN",
        forkTasks: [[{ name: "w", taskReferenceName: "w", type: "WAIT" }], [switchWith("javascript")]],
      },
    ],
    {},
    "javascript",
  ],
];

/** Outbound fields: refused with no capability, accepted with it (names checked below). */
const OUTBOUND: [string, unknown[], Record<string, unknown>, string][] = [
  [
    "HTTP",
    [{ name: "h", taskReferenceName: "h", type: "HTTP", inputParameters: { http_request: { uri: "http://intranet/x", method: "GET" } } }],
    {},
    "http",
  ],
  [
    "KAFKA_PUBLISH",
    [
      {
        name: "k",
        taskReferenceName: "k",
        type: "KAFKA_PUBLISH",
        inputParameters: { kafka_request: { bootStrapServers: "kafka:9092", topic: "out" } },
      },
    ],
    {},
    "kafka",
  ],
  ["EVENT", [{ name: "e", taskReferenceName: "e", type: "EVENT", sink: "conductor" }], {}, "event"],
  [
    "START_WORKFLOW",
    [{ name: "s", taskReferenceName: "s", type: "START_WORKFLOW", inputParameters: { startWorkflow: { name: "wfA", input: {} } } }],
    {},
    "start_workflow",
  ],
  // core/listener/WorkflowStatusListener.java; the sink is read by the status listener
  ["workflowStatusListenerEnabled", [], { workflowStatusListenerEnabled: true }, "status_listener"],
  [
    "workflowStatusListenerSink naming another tenant's queue",
    [],
    { workflowStatusListenerSink: "conductor:OTHER___queue" },
    "status_listener",
  ],
  ["workflowStatusListenerSink naming a shared broker", [], { workflowStatusListenerSink: "kafka:shared-topic" }, "status_listener"],
];

describe("code and outbound fields need their capability", () => {
  it.each([...CODE, ...OUTBOUND])("%s: 403 without the capability, nothing sent", async (_n, tasks, extra, capability) => {
    await refusedUnsent(() => post(plain, def(tasks, extra)), 403, `conductor-capability/${capability}`);
  });

  it.each(CODE)("%s: accepted with the capability, refused to the same admin without it", async (_n, tasks, extra, capability) => {
    await refusedUnsent(() => post(plain, def(tasks, extra)), 403, `conductor-capability/${capability}`);
    const res = await post(granted, def(tasks, extra));
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("one capability does not grant another (python with javascript only; an HTTP task with javascript only)", async () => {
    await refusedUnsent(() => post(jsOnly, def([switchWith("python", "'a'")])), 403, "conductor-capability/python");
    await refusedUnsent(() => post(jsOnly, def(OUTBOUND[0]![1])), 403, "conductor-capability/http");
    expect((await post(jsOnly, def([switchWith("graaljs")]))).status).toBe(200);
  });

  it("the list form (PUT) is held to the same rule", async () => {
    await refusedUnsent(
      () => stack.as(plain, "/conductor/api/metadata/workflow", { method: "PUT", json: [def([]), def([switchWith("javascript")])] }),
      403,
      "[1]: tasks[0].evaluatorType",
    );
  });

  it("value-param needs no capability (SWITCH, INLINE): it reads an input, runs nothing; the same tasks with javascript do", async () => {
    const inline = (evaluatorType: string) => ({
      name: "i",
      taskReferenceName: "i",
      type: "INLINE",
      inputParameters: { evaluatorType, expression: "x", x: 1 },
    });
    expect((await post(plain, def([switchWith("value-param", "x"), inline("value-param")]))).status).toBe(200);
    await refusedUnsent(
      () => post(plain, def([switchWith("value-param", "x"), inline("javascript")])),
      403,
      "inputParameters.evaluatorType",
    );
  });

  it("an evaluator Conductor does not have is refused even when granted (an event condition would fall back to JavaScript)", async () => {
    await refusedUnsent(() => post(granted, def([switchWith("nashorn")])), 400, "not an evaluator");
    const inline = {
      name: "i",
      taskReferenceName: "i",
      type: "INLINE",
      inputParameters: { evaluatorType: "${workflow.input.e}", expression: "1" },
    };
    await refusedUnsent(() => post(granted, def([inline])), 400, "written out");
  });
});

describe("granted power stays inside the tenant's names", () => {
  it("a Kafka topic is named in the tenant's space, and shown back as written", async () => {
    const body = def(OUTBOUND[1]![1]);
    expect((await post(granted, body)).status).toBe(200);
    const sent = (await lastSent()) as { tasks: { inputParameters: { kafka_request: { topic: string } } }[] };
    expect(sent.tasks[0]!.inputParameters.kafka_request.topic).toBe("FACEBOOK___out");
    const back = (await (await stack.as(granted, `/conductor/api/metadata/workflow/${body.name}`)).json()) as typeof sent;
    expect(back.tasks[0]!.inputParameters.kafka_request.topic).toBe("out");
    const other = {
      name: "k",
      taskReferenceName: "k",
      type: "KAFKA_PUBLISH",
      inputParameters: { kafka_request: { bootStrapServers: "k:1", topic: "OTHER___out" } },
    };
    await refusedUnsent(() => post(granted, def([other])), 400, "topic");
  });

  it("a status listener sink is a queue of the tenant's; a shared broker or another tenant's queue is refused", async () => {
    expect(
      (await post(granted, def([], { workflowStatusListenerEnabled: true, workflowStatusListenerSink: "conductor:done" }))).status,
    ).toBe(200);
    expect((await lastSent()).workflowStatusListenerSink).toBe("conductor:FACEBOOK___done");
    await refusedUnsent(
      () => post(granted, def([], { workflowStatusListenerSink: "kafka:shared-topic" })),
      400,
      "workflowStatusListenerSink",
    );
    await refusedUnsent(() => post(granted, def([], { workflowStatusListenerSink: "conductor:OTHER___queue" })), 400, "separator");
  });

  it("START_WORKFLOW starts a workflow of the tenant's, in its domain; names from data and inline definitions are refused", async () => {
    expect((await post(granted, def(OUTBOUND[3]![1]))).status).toBe(200);
    const sent = (await lastSent()) as { tasks: { inputParameters: { startWorkflow: Record<string, unknown> } }[] };
    expect(sent.tasks[0]!.inputParameters.startWorkflow).toEqual({
      name: "FACEBOOK___wfA",
      input: {},
      taskToDomain: { "*": "FACEBOOK" },
      correlationId: "${workflow.correlationId}",
    });
    const start = (startWorkflow: unknown) =>
      def([{ name: "s", taskReferenceName: "s", type: "START_WORKFLOW", inputParameters: { startWorkflow } }]);
    await refusedUnsent(() => post(granted, start("${workflow.input.request}")), 400, "startWorkflow");
    await refusedUnsent(() => post(granted, start({ name: "${workflow.input.name}" })), 400, "written out");
    await refusedUnsent(() => post(granted, start({ name: "OTHER___wfA" })), 400, "separator");
    await refusedUnsent(() => post(granted, start({ name: "wfA", workflowDef: { name: "x", tasks: [] } })), 400, "workflowDef");
    await refusedUnsent(() => post(granted, start({ name: "wfA", taskToDomain: { "*": "OTHER" } })), 400, "taskToDomain");
    await refusedUnsent(() => post(granted, start({ name: "wfA", correlationId: "${workflow.input.owner}" })), 400, "correlationId");
  });

  it("a Kafka key serializer is one KafkaPublishTask knows, never a class named by data; unknown request fields are refused", async () => {
    const kafka = (req: Record<string, unknown>) =>
      def([
        {
          name: "k",
          taskReferenceName: "k",
          type: "KAFKA_PUBLISH",
          inputParameters: { kafka_request: { bootStrapServers: "b:9092", topic: "t", ...req } },
        },
      ]);
    await refusedUnsent(() => post(granted, kafka({ keySerializer: "${workflow.input.cls}" })), 400, "keySerializer");
    await refusedUnsent(() => post(granted, kafka({ keySerializer: "com.example.Gadget" })), 400, "keySerializer");
    await refusedUnsent(() => post(granted, kafka({ Topic: "x" })), 400, "Topic");
    expect((await post(granted, kafka({ keySerializer: "org.apache.kafka.common.serialization.LongSerializer" }))).status).toBe(200);
  });

  it("HTTP needs its URL written out, not from the start input, and no service discovery", async () => {
    const http = (req: unknown) => def([{ name: "h", taskReferenceName: "h", type: "HTTP", inputParameters: { http_request: req } }]);
    await refusedUnsent(() => post(granted, http({ uri: "${workflow.input.url}" })), 400, "uri");
    await refusedUnsent(() => post(granted, http({ uri: "http://x/", vipAddress: "svc" })), 400, "vipAddress");
    await refusedUnsent(
      () => post(granted, def([{ name: "h", taskReferenceName: "h", type: "HTTP", inputParameters: { uri: "http://x/" } }])),
      400,
      "http_request",
    );
  });

  it("an EVENT sink is Conductor's own queue (named after the tenant's workflow, Event.computeQueueName); a shared queue is refused", async () => {
    const event = (sink: string) => def([{ name: "e", taskReferenceName: "e", type: "EVENT", sink }]);
    await refusedUnsent(() => post(plain, event("conductor:done")), 403, "conductor-capability/event");
    expect((await post(granted, event("conductor:done"))).status).toBe(200);
    await refusedUnsent(() => post(granted, event("sqs:shared")), 400, "sink");
  });

  it("a workflow's rate-limit key is named in the tenant's space", async () => {
    expect((await post(plain, def([], { rateLimitConfig: { rateLimitKey: "${workflow.input.k}", concurrentExecLimit: 1 } }))).status).toBe(
      200,
    );
    expect((await lastSent()).rateLimitConfig).toEqual({ rateLimitKey: "FACEBOOK___${workflow.input.k}", concurrentExecLimit: 1 });
  });
});

describe("event handlers", () => {
  const handler = (extra: Record<string, unknown> = {}, action: Record<string, unknown> = {}) => ({
    name: `h${++n}`,
    event: "conductor:wfA:t",
    active: true,
    actions: [{ action: "start_workflow", start_workflow: { name: "wfB", input: { a: "${$.x}" } }, ...action }],
    ...extra,
  });
  const postHandler = (key: string, body: unknown) => post(key, body, "/conductor/api/event");

  it("a start_workflow action needs the start_workflow capability", async () => {
    await refusedUnsent(() => postHandler(plain, handler()), 403, "conductor-capability/start_workflow");
    expect((await postHandler(startOnly, handler())).status).toBe(200);
    expect(((await lastSent()).actions as { start_workflow: unknown }[])[0]!.start_workflow).toMatchObject({
      name: "FACEBOOK___wfB",
      taskToDomain: { "*": "FACEBOOK" },
    });
  });

  // core/events/DefaultEventProcessor.java: a condition with no evaluator (or one of an unknown name) runs as JavaScript.
  it.each([
    ["no evaluatorType", { condition: "$.a == 1" }],
    ["evaluatorType javascript", { condition: "$.a == 1", evaluatorType: "javascript" }],
    ["evaluatorType graaljs", { condition: "$.a == 1", evaluatorType: "graaljs" }],
  ])("a condition with %s needs javascript", async (_n, extra) => {
    await refusedUnsent(() => postHandler(startOnly, handler(extra)), 403, "conductor-capability/javascript");
  });

  it("a value-param condition needs nothing more; an unknown evaluator is refused even when granted", async () => {
    expect((await postHandler(startOnly, handler({ condition: "a", evaluatorType: "value-param" }))).status).toBe(200);
    await refusedUnsent(() => postHandler(granted, handler({ condition: "$.a", evaluatorType: "nashorn" })), 400, "not an evaluator");
  });

  it("actions that name workflow ids (complete_task, fail_task, terminate_workflow, update_workflow_variables) are refused even when granted", async () => {
    for (const action of ["complete_task", "fail_task", "terminate_workflow", "update_workflow_variables"]) {
      const body = handler({}, { action, start_workflow: undefined, [action]: { workflowId: "${$.workflowId}" } });
      await refusedUnsent(() => postHandler(granted, body), 400, action);
    }
  });
});

describe("unknown fields, unknown task types and repeated keys are refused", () => {
  it.each([
    [
      "a WorkflowDef key in another case (Jackson is case-sensitive: Conductor would ignore it, a later one would not)",
      def([], { WorkflowStatusListenerSink: "kafka:x" }),
      "WorkflowStatusListenerSink",
    ],
    ["a key no WorkflowDef has", def([], { tenant: "OTHER" }), "tenant"],
    [
      "a WorkflowTask key no WorkflowTask has",
      def([{ name: "t", taskReferenceName: "t", type: "SIMPLE", evaluatortype: "javascript" }]),
      "evaluatortype",
    ],
    ["a WorkflowTask key in another case", def([{ name: "t", taskReferenceName: "t", Type: "HTTP" }]), "Type"],
    [
      "cacheConfig (a cache every tenant shares)",
      def([{ name: "t", taskReferenceName: "t", cacheConfig: { key: "k", ttlInSecond: 9 } }]),
      "cacheConfig",
    ],
    ["an input schema (the schema registry is shared)", def([], { inputSchema: { name: "OTHER___s" } }), "inputSchema"],
    ["an agent definition in metadata", def([], { metadata: { agentDef: { model: "x" } } }), "agentDef"],
    [
      "a sub-workflow idempotency key",
      def([{ name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "wfA", idempotencyKey: "k" } }]),
      "idempotencyKey",
    ],
    [
      "an inline task definition routing to the operator's queues",
      def([{ name: "t", taskReferenceName: "t", taskDefinition: { name: "t", isolationGroupId: "g" } }]),
      "isolationGroupId",
    ],
    [
      'an inline task definition named by a number (Jackson reads it as the name "5", outside the tenant\'s)',
      def([{ name: "t", taskReferenceName: "t", taskDefinition: { name: 5 } }]),
      "taskDefinition: name must be a string",
    ],
  ])("%s", async (_n, body, says) => {
    await refusedUnsent(() => post(granted, body), 400, says);
  });

  it("a nested task list in another shape (which the walk would not enter) is refused", async () => {
    const http = { name: "h", taskReferenceName: "h", type: "HTTP", inputParameters: { http_request: { uri: "${workflow.input.u}" } } };
    for (const [task, says] of [
      [{ name: "d", taskReferenceName: "d", type: "DECISION", caseValueParam: "p", decisionCases: { a: http } }, "decisionCases"],
      [{ name: "f", taskReferenceName: "f", type: "FORK_JOIN", forkTasks: [http] }, "forkTasks"],
      [{ name: "l", taskReferenceName: "l", type: "DO_WHILE", loopOver: { 0: http } }, "loopOver"],
    ] as const) {
      await refusedUnsent(() => post(granted, def([task])), 400, says);
    }
  });

  it.each([
    ["BUSINESS_RULE (an Orkes type this Conductor maps to USER_DEFINED)", "not a task type"],
    ["LLM_CHAT_COMPLETE", "not accepted"],
    ["USER_DEFINED", "not accepted"],
  ])("task type %s is refused though ALLOWED_SYSTEM_TASKS lists it", async (type, says) => {
    await refusedUnsent(() => post(granted, def([{ name: "t", taskReferenceName: "t", type: type.split(" ")[0] }])), 400, says);
  });

  it("a task definition with an unknown field, a queue route, or a power input in its template is refused", async () => {
    for (const [d, says] of [
      [{ name: "t1", Name: "OTHER___t1" }, "Name"],
      [{ name: "t1", executionNameSpace: "x" }, "executionNameSpace"],
      [{ name: "t1", inputTemplate: { expression: "Java.type('x')" } }, "inputTemplate.expression"],
      [{ name: "t1", inputTemplate: { forkTaskType: "HTTP" } }, "inputTemplate.forkTaskType"],
    ] as const) {
      await refusedUnsent(() => post(plain, [d], "/conductor/api/metadata/taskdefs"), 400, says);
    }
  });

  it.each([
    ["in a task (type twice)", '{"name":"dup1","tasks":[{"name":"t","taskReferenceName":"t","type":"SIMPLE","type":"HTTP"}]}'],
    ["spelled with an escape", '{"name":"dup2","tasks":[{"name":"t","taskReferenceName":"t","type":"SIMPLE","typ\\u0065":"INLINE"}]}'],
    ["in a data map", '{"name":"dup3","tasks":[],"inputTemplate":{"a":1,"a":2}}'],
    ["at the top", '{"name":"dup4","tasks":[],"name":"OTHER___dup4"}'],
  ])("a key repeated %s", async (_n, body) => {
    await refusedUnsent(
      () =>
        stack.as(granted, "/conductor/api/metadata/workflow", { method: "POST", body, headers: { "content-type": "application/json" } }),
      400,
      "appears twice",
    );
  });

  it("a repeated key in an event handler or a start is refused too", async () => {
    const send = (path: string, body: string) =>
      stack.as(granted, path, { method: "POST", body, headers: { "content-type": "application/json" } });
    await refusedUnsent(
      () => send("/conductor/api/event", '{"name":"h","event":"conductor:wfA:t","event":"kafka:x","actions":[]}'),
      400,
      "appears twice",
    );
    await refusedUnsent(() => send("/conductor/api/workflow", '{"name":"wfA","input":{"x":1,"x":2}}'), 400, "appears twice");
  });

  it("a run-time task list (skiptask output) is held to WorkflowTask's fields, with no capability", async () => {
    const skip = (task: Record<string, unknown>) =>
      stack.as(granted, "/conductor/api/workflow/fb-1/skiptask/x", {
        method: "PUT",
        json: { taskOutput: { dynamic_tasks: [{ name: "t", taskReferenceName: "t9", type: "SIMPLE", ...task }] } },
      });
    await refusedUnsent(() => skip({ Type: "HTTP" }), 400, "Type");
    await refusedUnsent(() => skip({ loopCondition: "true" }), 403, "conductor-capability/javascript");
  });
});

describe("what needs no capability still passes", () => {
  it("a definition of SIMPLE, SUB_WORKFLOW, value-param SWITCH, DO_WHILE over items, WAIT and TERMINATE tasks", async () => {
    const tasks = [
      { name: "a", taskReferenceName: "a", type: "SIMPLE", inputParameters: { x: "${workflow.input.x}" } },
      { name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "wfA", version: 1 } },
      switchWith("value-param", "x"),
      {
        name: "l",
        taskReferenceName: "l",
        type: "DO_WHILE",
        items: "${workflow.input.list}",
        loopOver: [{ name: "b", taskReferenceName: "b" }],
      },
      { name: "w", taskReferenceName: "w", type: "WAIT" },
      { name: "t", taskReferenceName: "t", type: "TERMINATE", inputParameters: { terminationStatus: "COMPLETED" } },
    ];
    const extra = { timeoutSeconds: 60, timeoutPolicy: "ALERT_ONLY", restartable: true, variables: {}, metadata: {} };
    const res = await post(plain, def(tasks, extra));
    expect(res.status, await res.clone().text()).toBe(200);
    // The same loop with a loopCondition is JavaScript (DoWhile.evaluateCondition evaluates it with the items).
    const withCondition = tasks.map((t) => (t.type === "DO_WHILE" ? { ...t, loopCondition: "$.b.ok" } : t));
    await refusedUnsent(() => post(plain, def(withCondition, extra)), 403, "loopCondition");
  });
});
