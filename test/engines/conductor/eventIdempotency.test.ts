/**
 * Idempotency keys of the workflows an event handler starts (EventHandler.StartWorkflow.idempotencyKey, read by
 * Conductor's SimpleActionProcessor): scoped like a start's (src/engines/conductor/startWorkflow.ts) to the
 * handler's author, whose subject the started workflows carry. Unscoped, a handler could hold a key in another
 * user's scope (`fg1.<digest of tenant and subject>.<key>`; the digest is no secret), and an engine that honours
 * keys would then answer, or refuse, that user's own starts with the handler's execution.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { idempotencyScope } from "../../../src/engines/conductor/startWorkflow";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("event-idem");
  await seedTwoTenants(stack);
  admin = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
});

const scopeOf = idempotencyScope;

describe("an event handler's start_workflow idempotency key", () => {
  it("is scoped to the handler's author: a key spelled in another user's scope stays inside the author's", async () => {
    const victim = `fg1.${await scopeOf("FACEBOOK", "fb-user")}.order-42`;
    const res = await stack.as(admin, "/conductor/api/event", {
      method: "POST",
      json: {
        name: "h-idem",
        event: "conductor:wfA:t",
        actions: [
          { action: "start_workflow", start_workflow: { name: "wfA", idempotencyKey: victim, idempotencyStrategy: "RETURN_EXISTING" } },
        ],
        active: true,
      },
    });
    expect(res.status).toBeLessThan(300);
    const sent = JSON.parse((await stack.records()).at(-1)!.body) as { actions: { start_workflow: { idempotencyKey: string } }[] };
    const key = sent.actions[0]!.start_workflow.idempotencyKey;
    expect(key.startsWith(`fg1.${await scopeOf("FACEBOOK", "fb-admin")}.`)).toBe(true);
    expect(key.startsWith(victim)).toBe(false);
  });

  it("that is not text is refused", async () => {
    const before = (await stack.records()).length;
    const res = await stack.as(admin, "/conductor/api/event", {
      method: "POST",
      json: {
        name: "h2",
        event: "conductor:wfA:t",
        actions: [{ action: "start_workflow", start_workflow: { name: "wfA", idempotencyKey: 7 } }],
      },
    });
    expect(res.status).toBe(400);
    expect((await stack.records()).length).toBe(before);
  });
});
