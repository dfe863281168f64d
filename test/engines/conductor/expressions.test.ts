/**
 * Attacker's pass (attack3) over issue 25, class 2: Conductor resolves every `${...}` in a definition's inputs
 * and outputs with ParametersUtils.replaceVariables (conductor-oss/conductor core/utils/ParametersUtils.java), which
 * reads a path that names an environment variable or a Java system property of the shared server
 * (common/utils/EnvUtils.java `isEnvironmentVariable`, `getSystemParametersValue`) before reading the workflow's
 * own document, resolves `${...}` nested in a path first (so the name can come from the start input), and reads
 * `workflow.secrets.*` / `workflow.env.*` from server-wide stores. So `${SPRING_DATASOURCE_PASSWORD}` in an output
 * parameter handed the server's secrets to any tenant's definition writer, with no capability.
 * Through the real Worker against the recording stub: refused (400 naming the field), nothing sent.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../helpers";
import { conductorStack, seedDynamicForkExecution, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("exprs", {
    ALLOWED_SYSTEM_TASKS: "SIMPLE,SUB_WORKFLOW,SWITCH,DO_WHILE,FORK_JOIN,FORK_JOIN_DYNAMIC,JOIN,WAIT,TERMINATE",
  });
  await seedTwoTenants(stack);
  await seedDynamicForkExecution(stack);
  admin = await stack.key({ subject: "fb-admin", roles: ["OWNER"], scopes: ["conductor", "conductor-capability/*"] });
});

const count = async () => (await stack.records()).length;
const post = (body: unknown, path = "/conductor/api/metadata/workflow") => stack.as(admin, path, { method: "POST", json: body });

async function refusedUnsent(send: () => Promise<Response>, says: string): Promise<void> {
  const before = await count();
  const res = await send();
  expect(res.status, await res.clone().text()).toBe(400);
  expect((await errorOf(res)).message).toContain(says);
  expect(await count()).toBe(before);
}

let n = 0;
const simple = (inputParameters: Record<string, unknown>) => ({ name: "t", taskReferenceName: "t", type: "SIMPLE", inputParameters });
const def = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ name: `exwf${++n}`, version: 1, tasks, ...extra });

describe("a `${...}` that reads the server's environment, properties or shared stores is refused", () => {
  it.each([
    ["an environment variable in a task input", def([simple({ x: "${SPRING_DATASOURCE_PASSWORD}" })]), "tasks[0].inputParameters.x"],
    ["a system property in an output parameter", def([simple({})], { outputParameters: { p: "${java.home}" } }), "outputParameters.p"],
    ["a name chosen by the start input (nested)", def([simple({ x: "${${workflow.input.name}}" })]), "inputParameters.x"],
    ["workflow.secrets", def([simple({ x: "${workflow.secrets.db}" })]), "inputParameters.x"],
    ["workflow.env", def([simple({ x: "${workflow.env.region}" })]), "inputParameters.x"],
    [
      "inside a list, in a SWITCH case",
      def([
        {
          name: "s",
          taskReferenceName: "s",
          type: "SWITCH",
          evaluatorType: "value-param",
          expression: "k",
          inputParameters: { k: "a" },
          decisionCases: { a: [simple({ l: ["ok", "${HOME}"] })] },
        },
      ]),
      "decisionCases",
    ],
    [
      "in a sub-workflow name",
      def([{ name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "${JAVA_HOME}" } }]),
      "subWorkflowParam",
    ],
    [
      "in a DO_WHILE's items",
      def([{ name: "l", taskReferenceName: "l", type: "DO_WHILE", items: "${PATH}", loopOver: [simple({})] }]),
      "items",
    ],
  ])("%s", async (_n, body, says) => {
    await refusedUnsent(() => post(body), says);
  });

  it("in a task definition's inputTemplate", async () => {
    await refusedUnsent(
      () => post([{ name: "tdx", inputTemplate: { x: "${AWS_SECRET_ACCESS_KEY}" } }], "/conductor/api/metadata/taskdefs"),
      "inputTemplate.x",
    );
  });

  it("in an event handler's start input", async () => {
    const h = {
      name: "hx",
      event: "conductor:wfA:t",
      actions: [{ action: "start_workflow", start_workflow: { name: "wfA", input: { x: "${DATABASE_URL}" } } }],
    };
    await refusedUnsent(() => post(h, "/conductor/api/event"), "start_workflow.input.x");
    // Over the payload, a bare name is an environment variable's or a property's if the server has one.
    for (const x of ["${workflowInstanceId}", "${user.home}", "${http_proxy}"]) {
      const bare = { ...h, name: "hy", actions: [{ action: "start_workflow", start_workflow: { name: "wfA", input: { x } } }] };
      await refusedUnsent(() => post(bare, "/conductor/api/event"), "$.<field>");
    }
    const rooted = {
      ...h,
      name: "hz",
      actions: [
        { action: "start_workflow", start_workflow: { name: "wfA", input: { x: "${$.workflowInstanceId}", y: "${$['data'].id}" } } },
      ],
    };
    const res = await post(rooted, "/conductor/api/event");
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("the workflow's own document still passes (workflow.*, a task's input and output, CPEWF_TASK_ID, `${}`)", async () => {
    const tasks = [
      simple({
        a: "${workflow.input.x}",
        b: "id ${workflow.workflowId} of ${workflow.correlationId}",
        c: "${CPEWF_TASK_ID}",
        d: "${t0.output.list[0].name}",
        e: "${t0.output}",
        f: ["${workflow.variables.v}", { g: "${t0.taskId}" }],
        h: "${}",
        i: "${workflow.input['x']}",
      }),
    ];
    const res = await post(def(tasks, { outputParameters: { o: "${t.output.result}" } }));
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

/**
 * Conductor reads a path with Jayway JsonPath (json-path 2.4.0), whose functions and filters compute (attack25):
 * `concat()` joins strings into a `${workflow.secrets.*}` that `substituteSecrets` replaces at hand-off, and a
 * filter's `=~` runs the writer's regular expression on the shared server. Only selecting paths pass.
 */
describe("a JsonPath that computes rather than selects", () => {
  it.each([
    ["a function over the start input", "${workflow.input.parts.concat()}"],
    ["a function of literals, escapes read", '${workflow.input.concat("$", "\\u007bworkflow.secrets.DB\\u007d")}'],
    ["length()", "${t0.output.list.length()}"],
    ["a filter", "${workflow.input.l[?(@.v == 1)]}"],
    ["a filter's regular expression", "${workflow.input.l[?(@.v =~ /((a+)+)+b/)]}"],
    ["a slice", "${workflow.input.l[0:2]}"],
    ["a union of names", "${workflow.input['a','b']}"],
    ["an escaped quote in a name", "${workflow.input['a\\'b']}"],
    ["a space in a dotted path", "${workflow.input.a b}"],
    ["a function on a task's output", "${t0.output.keys()}"],
  ])("%s is refused", async (_, expr) => {
    await refusedUnsent(() => post(def([simple({ x: expr })])), "does not read the workflow's own document");
  });

  it("a function in an event handler's payload path is refused", async () => {
    const handler = {
      name: "jp-handler",
      event: "conductor:FACEBOOK___wfA:x",
      active: true,
      actions: [
        {
          action: "start_workflow",
          start_workflow: { name: "wfA", input: { x: '${$.concat("$", "\\u007bworkflow.secrets.DB\\u007d")}' } },
        },
      ],
    };
    await refusedUnsent(() => post(handler, "/conductor/api/event"), "is not a path of the event's payload");
  });

  it("selecting paths pass: names, quoted names, indices, wildcards, a deep scan", async () => {
    const tasks = [
      simple({
        a: "${workflow.input.items[*].id}",
        b: "${t0.output.list[-1]}",
        c: "${workflow.input['a b'].c}",
        d: '${workflow.input["x-y"]}',
        e: "${t0.output..id}",
        f: "${workflow.input.wörter.ünï_1}",
      }),
    ];
    const res = await post(def(tasks));
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

/**
 * ForkJoinDynamicTaskMapper puts each forked task's input (from `dynamicForkTasksInputParamName`) into that task's
 * inputParameters, which its own mapper resolves again: a `${HOME}` in data (a worker's output, the start input)
 * is then read from the server's environment (and `$${HOME}` becomes `${HOME}` in the first pass).
 */
describe("data that a dynamic fork resolves again", () => {
  const fork = (inputExpr: string) =>
    def([
      { name: "gen", taskReferenceName: "gen", type: "SIMPLE" },
      {
        name: "f",
        taskReferenceName: "f",
        type: "FORK_JOIN_DYNAMIC",
        dynamicForkTasksParam: "dt",
        dynamicForkTasksInputParamName: "di",
        inputParameters: { dt: "${gen.output.dynamic_tasks}", di: inputExpr },
      },
      { name: "j", taskReferenceName: "j", type: "JOIN" },
    ]);

  it("the fork's inputs come from the task that gives its list, not from the start input", async () => {
    await refusedUnsent(() => post(fork("${workflow.input.di}")), "dynamicForkTasksInputParamName");
    const res = await post(fork("${gen.output.dynamic_tasks_i}"));
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("an output that brings a task list holds no expression that reads the server", async () => {
    const skip = (inputs: unknown) =>
      stack.as(admin, "/conductor/api/workflow/fb-dyn/skiptask/inv", {
        method: "PUT",
        json: { taskOutput: { dynamic_tasks: [{ name: "t", taskReferenceName: "t9", type: "SIMPLE" }], dynamic_tasks_i: { t9: inputs } } },
      });
    await refusedUnsent(() => skip({ a: "${SPRING_DATASOURCE_PASSWORD}" }), "dynamic_tasks_i.t9.a");
    await refusedUnsent(() => skip({ a: "$${HOME}" }), "dynamic_tasks_i.t9.a");
    const res = await skip({ a: "plain", b: "${workflow.input.x}" });
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

/**
 * Attack5: ParametersUtils leaves `${workflow.secrets.X}` literal when it resolves a task's input and resolves it
 * at hand-off, over the resolved input (ExecutionService.poll, AsyncSystemTaskExecutor, the synchronous system
 * tasks: `substituteSecrets`, SECRET_PATTERN `\$\{workflow\.secrets\.([^}]+)\}`), from a store every tenant shares
 * (EnvVariableSecretsDAO by default: CONDUCTOR_SECRET_* and OPENAI_API_KEY and the like). So data, not only a
 * definition, reads it: a start input passed on as `${workflow.input.x}` reached the tenant's worker resolved.
 */
describe("data that names a shared secret", () => {
  const secret = "${workflow.secrets.OPENAI_API_KEY}";
  it.each([
    ["a start's input", "/conductor/api/workflow/wfA", "POST", { x: secret }],
    ["a StartWorkflowRequest's input", "/conductor/api/workflow", "POST", { name: "wfA", input: { a: [`k ${secret} v`] } }],
    ["a rerun's workflowInput", "/conductor/api/workflow/fb-dyn/rerun", "POST", { workflowInput: { x: secret } }],
    ["a skipped task's output", "/conductor/api/workflow/fb-dyn/skiptask/inv", "PUT", { taskOutput: { x: secret } }],
  ])("is refused in %s", async (_what, path, method, json) => {
    await refusedUnsent(() => stack.as(admin, path, { method, json }), "workflow.secrets");
  });

  it("plain data still goes through", async () => {
    const res = await stack.as(admin, "/conductor/api/workflow/wfA", { method: "POST", json: { x: "${workflow.input.y}", y: "a $ {b}" } });
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

/** The reference may be joined at run time from values and text: `${a}${b}` with a = "$", b = "{workflow.secrets.X}". */
describe("a secret reference joined from values (attack5)", () => {
  it.each([
    ["two values side by side", "${workflow.input.a}${workflow.input.b}", "side by side"],
    ["a value then the rest of the opening", "${workflow.input.a}{workflow.secrets.OPENAI_API_KEY}", "could complete"],
    ["a value then part of the opening, then a value", "x${workflow.input.a}flow.sec${workflow.input.b}", "could complete"],
  ])("%s is refused", async (_what, template, says) => {
    await refusedUnsent(() => post(def([simple({ x: template })])), says);
  });

  it("text after a value that cannot finish the opening is kept", async () => {
    const res = await post(def([simple({ x: "${workflow.input.name}.csv", y: "${workflow.input.n}s", z: "a ${workflow.input.b} c" })]));
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("a value holding the opening but for its dot is refused", async () => {
    await refusedUnsent(
      () => stack.as(admin, "/conductor/api/workflow/wfA", { method: "POST", json: { x: "${workflow.secrets" } }),
      "workflow.secrets",
    );
  });
});
