/**
 * A fifth attacker's pass over issue 25 (attack26): `${workflow.secrets.X}` reaches the workflow's document through
 * a query parameter, not a JSON body. `secretReferenceProblem` (src/engines/conductor/expressions.ts) is applied to
 * JSON bodies (`jsonBody`) and task results only, but Conductor copies two query parameters into fields a selecting
 * path reads:
 * - `DELETE /api/workflow/{id}?reason=` becomes the workflow's `reasonForIncompletion`
 *   (WorkflowExecutorOps.terminateWorkflow), and Conductor starts the definition's `failureWorkflow` with the input
 *   `{reason, workflowId, failureStatus, failedWorkflow, ...}` (same file, the `failureWorkflow` block); and the parent
 *   of a terminated sub-workflow reads it as its SUB_WORKFLOW task's reason;
 * - a poll's `workerid` becomes the task's `workerId` (ExecutionService.poll `taskModel.setWorkerId(workerId)`),
 *   which `${<ref>.workerId}` reads (ParametersUtils.getTaskInputV2 taskParams) as long as no result overwrote it
 *   (a task left IN_PROGRESS on one branch of a fork, read by a later task of another branch).
 * Either way the resolved value is the literal `${workflow.secrets.DB}`, which `substituteSecrets` replaces at
 * hand-off (a worker's poll; SET_VARIABLE, which stores it in `workflow.variables` for the caller to read back), from
 * the store every tenant shares (EnvVariableSecretsDAO: the server's CONDUCTOR_SECRET_* variables). Checked on the
 * real reader with test/node/parametersUtils/run.sh: `{"input":{"reason":"${workflow.secrets.DB}"},
 * "params":{"s":"${workflow.input.reason}"}}` resolves to `${workflow.secrets.DB}` and hands off `hunter2`.
 *
 * High (reaches a shared secret with no capability): left to the lead as `it.fails`; each test states the refusal
 * the fix should give, so it turns green (and the `.fails` must go) when the class is closed.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, uniqueTag } from "../../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let alice: string;
let writer: string;

beforeAll(async () => {
  stack = await conductorStack("attack26sec");
  await seedTwoTenants(stack);
  alice = await stack.key({ subject: "alice", groups: ["test"] });
  writer = await stack.key({ subject: "fb-writer", roles: ["OWNER"], scopes: ["conductor"] });
});

const SECRET = "${workflow.secrets.DB}";

describe("terminate's reason carries a shared secret's reference into a failure workflow (attack26, high)", () => {
  it("the definitions that pass the reason on are accepted (no capability needed)", async () => {
    // The failure workflow Conductor starts with `reason` in its input, and stores it through SET_VARIABLE.
    const failure = {
      name: "a26fail",
      version: 1,
      tasks: [{ name: "sv", taskReferenceName: "sv", type: "SET_VARIABLE", inputParameters: { leak: "${workflow.input.reason}" } }],
    };
    const main = {
      name: "a26main",
      version: 1,
      failureWorkflow: "a26fail",
      tasks: [{ name: "t1", taskReferenceName: "t", type: "SIMPLE", inputParameters: {} }],
    };
    for (const body of [failure, main]) {
      const res = await stack.as(writer, "/conductor/api/metadata/workflow", { method: "POST", json: body });
      expect(res.status, await res.clone().text()).toBe(200);
    }
  });

  // FIXME(attack26, high): `reason` is a "text" parameter (routes/workflows.ts `action("DELETE", [], "terminate",
  // { reason: "text" })`, and the admins' bulk terminate), checked for length and control characters only.
  it("a terminate whose reason names a shared secret is refused, and nothing is sent", async () => {
    const before = (await stack.records()).length;
    const res = await stack.as(alice, `/conductor/api/workflow/fb-1?reason=${encodeURIComponent(SECRET)}`, { method: "DELETE" });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await stack.records()).slice(before).filter((r) => r.method === "DELETE")).toEqual([]);
  });
});

describe("a poll's workerid carries a shared secret's reference into ${<ref>.workerId} (attack26, high)", () => {
  it("the definition that reads a polled task's workerId from another branch is accepted", async () => {
    const def = {
      name: "a26fork",
      version: 1,
      tasks: [
        {
          name: "fork",
          taskReferenceName: "fork",
          type: "FORK_JOIN",
          forkTasks: [
            [{ name: "t1", taskReferenceName: "held", type: "SIMPLE" }],
            [
              { name: "t1", taskReferenceName: "done", type: "SIMPLE" },
              { name: "sv", taskReferenceName: "sv", type: "SET_VARIABLE", inputParameters: { leak: "${held.workerId}" } },
            ],
          ],
        },
        { name: "join", taskReferenceName: "join", type: "JOIN", joinOn: ["held", "sv"] },
      ],
    };
    const res = await stack.as(writer, "/conductor/api/metadata/workflow", { method: "POST", json: def });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  // FIXME(attack26, high): workers/route.ts `workerIdParam` checks length and control characters only; the
  // TaskResult's `workerId` is checked (secretReferenceProblem over the body), the poll's and ack's are not.
  it("a poll whose workerid names a shared secret is refused, and nothing is sent", async () => {
    await stack.seed({ fill: [{ tenant: "FACEBOOK", taskType: "t1", count: 1 }] });
    const res = await asAdmin("/admin/keys", {
      method: "POST",
      env: stack.env,
      json: { tenant: "FACEBOOK", subject: `worker-${uniqueTag("w")}`, scopes: ["worker"], servesTenants: ["FACEBOOK"] },
    });
    expect(res.status).toBe(201);
    const worker = ((await res.json()) as { key: string }).key;
    const before = (await stack.records()).length;
    const poll = await stack.as(
      worker,
      `/workers/conductor/api/tasks/poll/batch/t1?count=1&timeout=0&workerid=${encodeURIComponent(SECRET)}`,
    );
    expect(poll.status, await poll.clone().text()).toBe(400);
    expect((await stack.records()).slice(before).filter((r) => r.path.includes("workerid"))).toEqual([]);
  });
});

/**
 * A start's input can come from external payload storage: the gateway mints a WRITE location for the tenant
 * (routes/storage.ts), the client PUTs the JSON straight to the store (a presigned URI: the gateway never sees it),
 * and a start naming that path (`externalInputPayloadStoragePath`, allowed once minted for the tenant) has Conductor
 * download it as the workflow's input (ExecutionDAOFacade.populateWorkflowAndTaskPayloadData, `internalizeInput`).
 * So `{"x": "${workflow.secrets.DB}"}` becomes `workflow.input.x`, unread by `secretReferenceProblem`, and
 * `${workflow.input.x}` in any task hands the shared secret off. A worker's `externalOutputPayloadStoragePath` is
 * refused for this very reason (runtimeData.ts: "the gateway must read it"); the start's is not.
 */
describe("a start's input from external payload storage is never read by the gateway (attack26, high)", () => {
  // FIXME(attack26, high): startWorkflow.ts `admitStartRequest` accepts `externalInputPayloadStoragePath` when the
  // path was minted for the tenant; the content behind it is the client's, unchecked. A fix that refuses it (or
  // reads and checks the payload) also changes runtimeTasks.test.ts "a start with a path minted for the tenant".
  it("a start whose input lives in external storage is refused (its content cannot be checked)", async () => {
    const write = await stack.as(alice, "/conductor/api/workflow/externalstoragelocation?operation=WRITE&payloadType=WORKFLOW_INPUT");
    expect(write.status).toBe(200);
    const { path } = (await write.json()) as { path: string };
    // Here the client would PUT {"x":"${workflow.secrets.DB}"} to the location's `uri`, past the gateway.
    await new Promise((r) => setTimeout(r, 50)); // the grant is written in the background (waitUntil)
    const before = (await stack.records()).length;
    const res = await stack.as(alice, "/conductor/api/workflow", {
      method: "POST",
      json: { name: "wfA", externalInputPayloadStoragePath: path },
    });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await stack.records()).slice(before).filter((r) => r.path === "/api/workflow")).toEqual([]);
  });
});

/**
 * The gateway sets every start's `correlationId` to the caller's subject (startWorkflow.ts), and a definition reads it
 * as `${workflow.correlationId}`. A subject is whatever the key's creator or the IdP's subject claim says
 * (JWT_CLAIM_SUBJECT may name a claim the user chooses, such as a username), held only to no control characters:
 * a subject `${workflow.secrets.DB}` makes every workflow its holder starts hand the shared secret off.
 * Medium: it needs an operator or an IdP to hand out such a subject.
 */
describe("a subject holding a secret reference becomes the correlationId (attack26, medium)", () => {
  // FIXME(attack26, medium): the subject is not held to `secretReferenceProblem` where it becomes data (admitStartRequest,
  // schedules, event handlers); nor at key creation (admin/validation.ts) or sign-in (identity/jwt.ts).
  it("a start by a subject that names a shared secret is refused, and nothing is sent", async () => {
    const odd = await stack.key({ subject: SECRET, groups: ["test"] });
    const before = (await stack.records()).length;
    const res = await stack.as(odd, "/conductor/api/workflow", { method: "POST", json: { name: "wfA" } });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await stack.records()).slice(before).filter((r) => r.path === "/api/workflow")).toEqual([]);
  });
});

/**
 * An event handler action with `expandInlineJSON: true` has Conductor parse every string of the event's payload
 * that looks like JSON (core/events/SimpleActionProcessor.java `jsonUtils.expand`, Jackson `readValue`), before its
 * `${$...}` paths are read. A JSON text written `{"x":"\u0024{workflow.secrets.DB}"}` holds no `${` for the gateway
 * (the escape is six characters), so it passes both the data rule and the expression rule, in a definition's EVENT
 * task input or in a start input; Jackson decodes it to `${workflow.secrets.DB}`, the handler starts a workflow with
 * it as input, and `${workflow.input.x}` there hands the shared secret off. High, with the `event` and
 * `start_workflow` capabilities (granted for the tenant's own events and workflows, never for the server's secrets).
 */
describe("an event payload's inline JSON is decoded by Conductor after the gateway looked (attack26, high)", () => {
  // FIXME(attack26, high): capabilities.ts classes `EventHandler.Action.expandInlineJSON` as data, and neither
  // `secretReferenceProblem` nor `expressionProblem` reads strings as the JSON Conductor would parse them into.
  it("the chain EVENT task -> handler with expandInlineJSON -> ${workflow.input.x} is not accepted whole", async () => {
    const granted = await stack.key({
      subject: "fb-events",
      roles: ["OWNER"],
      scopes: ["conductor", "conductor-capability/event", "conductor-capability/start_workflow"],
    });
    const inline = '{"x":"\\u0024{workflow.secrets.DB}"}';
    const source = {
      name: "a26src",
      version: 1,
      tasks: [{ name: "e", taskReferenceName: "e", type: "EVENT", sink: "conductor:leak", inputParameters: { j: inline } }],
    };
    const target = {
      name: "a26dst",
      version: 1,
      tasks: [{ name: "sv", taskReferenceName: "sv", type: "SET_VARIABLE", inputParameters: { leak: "${workflow.input.x}" } }],
    };
    const handler = {
      name: "a26h",
      event: "conductor:a26src:leak",
      active: true,
      actions: [{ action: "start_workflow", expandInlineJSON: true, start_workflow: { name: "a26dst", input: { x: "${$.j.x}" } } }],
    };
    const statuses: number[] = [];
    for (const [path, body] of [
      ["/conductor/api/metadata/workflow", source],
      ["/conductor/api/metadata/workflow", target],
      ["/conductor/api/event", handler],
    ] as const) {
      const res = await stack.as(granted, path, { method: "POST", json: body });
      statuses.push(res.status);
    }
    expect(
      statuses.some((s) => s >= 400),
      `statuses ${statuses.join(",")}`,
    ).toBe(true);
  });
});
