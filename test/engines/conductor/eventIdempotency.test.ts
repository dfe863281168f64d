/**
 * Idempotency keys of the workflows an event handler starts (EventHandler.StartWorkflow.idempotencyKey, read by
 * Orkes's action processor). A handler could otherwise hold a key in another user's scope
 * (`fg1.<digest of tenant and subject>.<key>`; the digest is no secret), and an engine that honours keys would then
 * answer, or refuse, that user's own starts with the handler's execution. The capability table
 * (src/engines/conductor/capabilities.ts, EVENT_START_WORKFLOW) holds no such field, so a handler naming one is
 * refused whole: nothing reaches Conductor.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { idempotencyScope } from "../../../src/engines/conductor/startWorkflow";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("event-idem");
  await seedTwoTenants(stack);
  admin = await stack.key({ subject: "fb-admin", roles: ["OWNER"], scopes: ["conductor", "conductor-capability/start_workflow"] });
});

describe("an event handler's start_workflow idempotency key", () => {
  it("is refused, whether spelled in another user's scope or not, and nothing reaches Conductor", async () => {
    const victim = `fg1.${await idempotencyScope("FACEBOOK", "fb-user")}.order-42`;
    for (const idempotencyKey of [victim, "order-42", 7]) {
      const before = (await stack.records()).length;
      const res = await stack.as(admin, "/conductor/api/event", {
        method: "POST",
        json: {
          name: "h-idem",
          event: "conductor:wfA:t",
          actions: [{ action: "start_workflow", start_workflow: { name: "wfA", idempotencyKey, idempotencyStrategy: "RETURN_EXISTING" } }],
          active: true,
        },
      });
      expect(res.status, JSON.stringify(idempotencyKey)).toBe(400);
      expect(await res.text()).toContain("idempotencyKey");
      expect((await stack.records()).length).toBe(before);
    }
  });

  it("a handler without one is accepted with the capability", async () => {
    const res = await stack.as(admin, "/conductor/api/event", {
      method: "POST",
      json: {
        name: "h-plain",
        event: "conductor:wfA:t",
        actions: [{ action: "start_workflow", start_workflow: { name: "wfA" } }],
        active: true,
      },
    });
    expect(res.status).toBeLessThan(300);
  });
});
