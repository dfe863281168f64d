/**
 * A sixth attacker's pass over issue 25 (attack27): the escape decoder of Conductor's data rule made slow.
 *
 * `holdsSecretOpening` (src/engines/conductor/expressions.ts) decodes `\uXXXX` escapes again and again until nothing
 * changes, so that an escape which decodes to an escape is read too. Each round is linear, but the number of rounds
 * is the attacker's: `\u005c` decodes to a backslash, so `\u005cu005cu005c...u0041` loses one `u005c` a round, and
 * a string of n characters takes n/5 rounds over the whole text, every one of them a full pass: quadratic. Measured
 * on the function (node, one core): 80 KB of it took 0.69 s, four times the text about sixteen times the time, so
 * a 1 MB start body (MAX_BODY_BYTES' default) costs on the order of two minutes of CPU, checked twice (the client's
 * JSON in `secretReferenceProblem`, then the body text in `ConductorUpstream.send`). Any holder of a Conductor
 * start grant spends the Worker's CPU limit with one request and no upstream call (medium: availability, no
 * crossing). Performance is not asserted here (docs/benchmarks.md); the test states the bound the fix gives:
 * escapes nested deeper than any JSON a client writes are refused, with nothing sent.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let alice: string;

beforeAll(async () => {
  stack = await conductorStack("attack27esc");
  await seedTwoTenants(stack);
  alice = await stack.key({ subject: "alice", groups: ["test"] });
});

/** A backslash escaped as `\u005c`, `levels` deep: each round of decoding peels one level. */
const nested = (levels: number) => `\\u005c${"u005c".repeat(levels - 1)}u0041`;

describe("escapes nested without bound make the data rule's decoder quadratic (attack27, medium)", () => {
  it("a start input whose escapes nest deeper than any JSON does is refused, and nothing is sent", async () => {
    const before = (await stack.records()).length;
    const res = await stack.as(alice, "/conductor/api/workflow", { method: "POST", json: { name: "wfA", input: { x: nested(200) } } });
    expect(res.status, await res.clone().text()).toBe(400);
    expect(await res.text()).toContain("nested");
    expect((await stack.records()).slice(before).filter((r) => r.path === "/api/workflow")).toEqual([]);
  });

  it("escapes a few levels deep, with no secret behind them, still pass", async () => {
    const res = await stack.as(alice, "/conductor/api/workflow", { method: "POST", json: { name: "wfA", input: { x: nested(4) } } });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("a secret reference behind escapes a few levels deep is still refused", async () => {
    // `\u005cu0024` decodes to `\u0024`, then to `$`.
    const res = await stack.as(alice, "/conductor/api/workflow", {
      method: "POST",
      json: { name: "wfA", input: { x: "\\u005cu0024{workflow.secrets.DB}" } },
    });
    expect(res.status, await res.clone().text()).toBe(400);
  });
});
