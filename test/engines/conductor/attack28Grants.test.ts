/**
 * A seventh attacker's pass over issue 25 (attack28): can a granted decoder build `${workflow.secrets.X}` that
 * Conductor then substitutes? Read in conductor-oss/conductor (b54f0d4): `substituteSecrets` runs over a task's
 * *resolved input* at hand-off (ExecutionService poll, AsyncSystemTaskExecutor, WorkflowExecutorOps for synchronous
 * system tasks), never over an output. So a JSON_JQ_TRANSFORM (or INLINE) task whose literal code computes the text
 * `${workflow.secrets.DB}` from pieces (`"$" + "{workflow.secrets.DB}"`; `[36]|implode` in jq; no text rule can see
 * it) puts it in its output, and the next task's `${jq.output.result}` resolves to it and is substituted when that
 * task is handed off: a SET_VARIABLE stores the secret for the writer to read back.
 *
 * Rated: the documented power of the grant, not a hole. `jq` and `javascript` are capabilities that nothing grants
 * by default; docs/security.md says what a granted one does is the grantee's (JavaScript reaches what the JVM
 * reaches; jq's own builtins, `env` among them, read the server's environment, which is where the default secrets
 * store, EnvVariableSecretsDAO, keeps `CONDUCTOR_SECRET_*`). What this adds is that the reach is the secrets store
 * whatever its type, which the docs now say. The test pins what the gateway decides: refused without the grant,
 * accepted with it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let plain: string;
let jqWriter: string;

beforeAll(async () => {
  stack = await conductorStack("attack28grant");
  await seedTwoTenants(stack);
  plain = await stack.key({ subject: "a28-writer", roles: ["OWNER"], scopes: ["conductor"] });
  jqWriter = await stack.key({ subject: "a28-jq", roles: ["OWNER"], scopes: ["conductor", "conductor-capability/jq"] });
});

const builder = {
  name: "a28jqsecret",
  version: 1,
  tasks: [
    {
      name: "jq",
      taskReferenceName: "jq",
      type: "JSON_JQ_TRANSFORM",
      inputParameters: { queryExpression: '{x: ("$" + "{workflow.secrets.DB}")}' },
    },
    { name: "sv", taskReferenceName: "sv", type: "SET_VARIABLE", inputParameters: { leak: "${jq.output.result.x}" } },
  ],
};

describe("a jq task building a secret reference (attack28: the grant's documented power)", () => {
  it("is refused without conductor-capability/jq, naming the capability", async () => {
    const res = await stack.as(plain, "/conductor/api/metadata/workflow", { method: "POST", json: builder });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("conductor-capability/jq");
  });

  it("is accepted with the grant: what the jq code computes is the grantee's", async () => {
    const res = await stack.as(jqWriter, "/conductor/api/metadata/workflow", { method: "POST", json: builder });
    expect(res.status, await res.clone().text()).toBe(200);
  });
});
