/**
 * An independent attacker's pass over issue 25 (attack25): Conductor reads a `${...}` path with Jayway JsonPath
 * (conductor-oss/conductor core/utils/ParametersUtils.java `documentContext.read(paramPath)`, json-path 2.4.0 per
 * dependencies.gradle), and JsonPath has functions. `concat` (json-path internal/function/text/Concatenate.java)
 * joins the strings of the array it is applied to and its parameters (JSON literals, unicode escapes read, or paths)
 * into one string: a join *inside* one expression, which the "side by side" rule of expressions.ts does not see.
 * The joined `${workflow.secrets.X}` is then replaced at hand-off by `substituteSecrets` (ExecutionService.poll for
 * a worker; `executeSyncSystemTaskWithSecrets` for SET_VARIABLE, which stores it in `workflow.variables`, read back
 * with GET /api/workflow/{id}), from the store every tenant shares (EnvVariableSecretsDAO: CONDUCTOR_SECRET_*).
 *
 * Checked against Conductor's own ParametersUtils and json-path 2.4.0 compiled from source (see the report of
 * attack25): input `{"parts": ["$", "{workflow.secrets.DB}"]}` and `${workflow.input.parts.concat()}` resolve to
 * `${workflow.secrets.DB}` and hand off `hunter2` (CONDUCTOR_SECRET_DB=hunter2); so does
 * `${workflow.input.concat("$", "\u007bworkflow.secrets.DB\u007d")}` with no data at all.
 *
 * Each test below was a finding (the gateway accepted and forwarded it); the fix holds paths to selecting JsonPath
 * (src/engines/conductor/expressions.ts `DOCUMENT_PATH`, `PAYLOAD_PATH`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let writer: string;

beforeAll(async () => {
  stack = await conductorStack("attack25jp");
  await seedTwoTenants(stack);
  // A definition writer with no capability at all: SET_VARIABLE and SIMPLE need none.
  writer = await stack.key({ subject: "fb-writer", roles: ["OWNER"], scopes: ["conductor"] });
});

const count = async () => (await stack.records()).length;
let n = 0;
const def = (tasks: unknown[]) => ({ name: `jp${++n}`, version: 1, tasks });
const setVariable = (inputParameters: Record<string, unknown>) => ({
  name: "sv",
  taskReferenceName: "sv",
  type: "SET_VARIABLE",
  inputParameters,
});
const simple = (inputParameters: Record<string, unknown>) => ({ name: "t", taskReferenceName: "t", type: "SIMPLE", inputParameters });

async function refusedUnsent(body: unknown): Promise<void> {
  const before = await count();
  const res = await stack.as(writer, "/conductor/api/metadata/workflow", { method: "POST", json: body });
  expect(res.status, await res.clone().text()).toBe(400);
  expect(await count()).toBe(before);
}

describe("a JsonPath function joins a shared secret's reference inside one expression (attack25, high)", () => {
  it.each([
    ["concat over an array of the start input, into SET_VARIABLE", def([setVariable({ leak: "${workflow.input.parts.concat()}" })])],
    ["concat over an array of the start input, to a worker", def([simple({ leak: "k=${workflow.input.parts.concat()}" })])],
    [
      "concat of literal parameters with unicode escapes, no data at all",
      def([setVariable({ leak: '${workflow.input.concat("$", "\\u007bworkflow.secrets.DB\\u007d")}' })]),
    ],
    ["concat of a literal and a path", def([simple({ leak: '${workflow.input.concat("$", $.workflow.input.b)}' })])],
  ])("%s is refused", async (_what, body) => {
    await refusedUnsent(body);
  });

  it("over an event's payload, in an event handler's start input (the started workflow then passes it on)", async () => {
    const granted = await stack.key({
      subject: "fb-granted",
      roles: ["OWNER"],
      scopes: ["conductor", "conductor-capability/start_workflow"],
    });
    const handler = {
      name: "jph",
      event: "conductor:wfA:t",
      actions: [
        {
          action: "start_workflow",
          start_workflow: { name: "wfA", input: { x: '${$.concat("$", "\\u007bworkflow.secrets.DB\\u007d")}' } },
        },
      ],
    };
    const before = await count();
    const res = await stack.as(granted, "/conductor/api/event", { method: "POST", json: handler });
    expect(res.status, await res.clone().text()).toBe(400);
    expect(await count()).toBe(before);
  });

  it("the data that completes it passes the data rule (it holds no `${workflow.secrets`)", async () => {
    const res = await stack.as(writer, "/conductor/api/workflow/wfA", {
      method: "POST",
      json: { parts: ["$", "{workflow.secrets.DB}"], b: "{workflow.secrets.DB}" },
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

/**
 * The same reader evaluates JsonPath filters, whose `=~` runs a Java regular expression the definition writes over
 * data the start input gives (json-path filter/EvaluatorFactory RegexpEvaluator). Measured with Conductor's
 * ParametersUtils and json-path 2.4.0 on JDK 21: `((a+)+)+b` over 28 `a`s and a `!` took 14.7 s of one CPU, each
 * further `a` doubling it, in the decider (a sweeper retries the workflow): any writer stalls the shared server
 * for every tenant with no capability (medium: availability).
 */
describe("a JsonPath filter runs a regular expression on the shared server (attack25, medium)", () => {
  it("a filter with =~ is refused", async () => {
    await refusedUnsent(def([simple({ r: "${workflow.input.l[?(@.v =~ /((a+)+)+b/)]}" })]));
  });
});
