/**
 * Ownership only of what the gateway created (issue 25, class 3), through the real Worker and the stand-in, which
 * honours idempotency keys as Orkes Conductor documents them (test/setup/conductor.ts: a key is looked up per
 * workflow name, whoever started the execution holding it). A start reusing another user's key with
 * RETURN_EXISTING must neither reach their execution nor make the caller its owner.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("owners");
  await seedTwoTenants(stack);
  alice = await stack.key({ subject: "alice", groups: ["test"] });
  bob = await stack.key({ subject: "bob", groups: ["test"] });
  admin = await stack.key({ subject: "fb-admin", groups: ["network-admin"] });
});

const start = (key: string, body: Record<string, unknown>) => stack.as(key, "/conductor/api/workflow", { method: "POST", json: body });
const statusOf = async (id: string) =>
  ((await stack.state()).executions as { workflowId: string; status: string }[]).find((x) => x.workflowId === id)?.status;
const lastStartBody = async () =>
  JSON.parse((await stack.records()).filter((r) => r.method === "POST" && r.path === "/api/workflow").at(-1)!.body) as Record<
    string,
    unknown
  >;

describe("idempotency keys are the caller's own", () => {
  it("another user's key with RETURN_EXISTING starts the caller's own execution; theirs stays out of reach", async () => {
    const first = await start(alice, { name: "wfA", idempotencyKey: "order-17", idempotencyStrategy: "RETURN_EXISTING" });
    expect(first.status).toBe(200);
    const alices = await first.text();
    // Alice's retry finds her execution: the feature works for its owner.
    const again = await start(alice, { name: "wfA", idempotencyKey: "order-17", idempotencyStrategy: "RETURN_EXISTING" });
    expect(await again.text()).toBe(alices);

    const bobs = await start(bob, { name: "wfA", idempotencyKey: "order-17", idempotencyStrategy: "RETURN_EXISTING" });
    expect(bobs.status).toBe(200);
    expect(await bobs.text()).not.toBe(alices);
    // Bob cannot see, terminate or pause Alice's execution.
    expect((await stack.as(bob, `/conductor/api/workflow/${alices}`)).status).toBe(404);
    expect((await stack.as(bob, `/conductor/api/workflow/${alices}`, { method: "DELETE" })).status).toBe(404);
    expect((await stack.as(bob, `/conductor/api/workflow/${alices}/pause`, { method: "PUT" })).status).toBe(404);
    expect(await statusOf(alices)).toBe("RUNNING");
  });

  it("the engine sees a key scoped to tenant and subject; the owner reads back the key as they wrote it", async () => {
    const res = await start(alice, { name: "wfA", idempotencyKey: "invoice-9", idempotencyStrategy: "FAIL" });
    const id = await res.text();
    const sent = (await lastStartBody()).idempotencyKey as string;
    expect(sent).toMatch(/^fg1\.[0-9a-f]{32}\.invoice-9$/);
    const read = (await (await stack.as(alice, `/conductor/api/workflow/${id}`)).json()) as { idempotencyKey: string };
    expect(read.idempotencyKey).toBe("invoice-9");
    // FAIL: the caller's own repeat is refused by the engine, relayed as a conflict.
    expect((await start(alice, { name: "wfA", idempotencyKey: "invoice-9", idempotencyStrategy: "FAIL" })).status).toBe(409);
    // Bob's scope differs from Alice's; an admin's too (admins are scoped like everyone).
    await start(bob, { name: "wfA", idempotencyKey: "invoice-9" });
    const bobKey = (await lastStartBody()).idempotencyKey as string;
    await start(admin, { name: "wfA", idempotencyKey: "invoice-9" });
    const adminKey = (await lastStartBody()).idempotencyKey as string;
    expect(new Set([sent, bobKey, adminKey]).size).toBe(3);
  });

  it("refuses a key that is not text and a strategy Conductor does not have, before the engine is asked", async () => {
    const before = (await stack.records()).length;
    for (const body of [
      { name: "wfA", idempotencyKey: 7 },
      { name: "wfA", idempotencyKey: { k: 1 } },
      { name: "wfA", idempotencyKey: "x".repeat(257) },
      { name: "wfA", idempotencyKey: "a\nb" },
      { name: "wfA", idempotencyKey: "k", idempotencyStrategy: "return_existing" },
      { name: "wfA", IdempotencyKey: "order-17", idempotencyStrategy: "RETURN_EXISTING" },
    ]) {
      expect((await start(alice, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await stack.records()).length).toBe(before);
  });
});

describe("a second spelling of a start's fields", () => {
  it("is refused for every field the gateway sets or checks, not only the idempotency key's, before the engine is asked", async () => {
    const before = (await stack.records()).length;
    for (const body of [
      { name: "wfA", TaskToDomain: { "*": "OTHER" } },
      { name: "wfA", CorrelationId: "bob" },
      { name: "wfA", workflowdef: { name: "x", tasks: [] } },
      { name: "wfA", Name: "OTHER___wfA" },
      { name: "wfA", ExternalInputPayloadStoragePath: "workflow/ot-in.json" },
    ]) {
      const res = await start(alice, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.text()).toContain(Object.keys(body)[1]!);
    }
    expect((await stack.records()).length).toBe(before);
  });
});

describe("no owner is learned from a start's answer", () => {
  it("an engine answering a keyed start with someone else's execution gives the caller nothing of it", async () => {
    // Bob's scoped key, as the engine holds it, planted on an execution of Alice's: an engine whose key table
    // disagrees with the gateway's scoping (or any answer naming an execution the gateway did not create).
    await start(bob, { name: "wfA", idempotencyKey: "probe" });
    const bobScoped = ((await lastStartBody()).idempotencyKey as string).replace(/probe$/, "planted");
    await stack.seed({
      executions: [
        {
          workflowId: "fb-planted",
          workflowName: "FACEBOOK___wfA",
          workflowType: "FACEBOOK___wfA",
          correlationId: "alice",
          status: "RUNNING",
          idempotencyKey: bobScoped,
          tasks: [],
        },
      ],
    });
    const res = await start(bob, { name: "wfA", idempotencyKey: "planted", idempotencyStrategy: "RETURN_EXISTING" });
    expect(res.status).toBe(502);
    expect(await res.text()).not.toContain("fb-planted");
    expect((await stack.as(bob, "/conductor/api/workflow/fb-planted", { method: "DELETE" })).status).toBe(404);
    expect((await stack.as(bob, "/conductor/api/workflow/fb-planted/restart", { method: "POST" })).status).toBe(404);
    expect(await statusOf("fb-planted")).toBe("RUNNING");

    // The same through a synchronous execution: the run is not shown, and it does not become Bob's.
    const sync = await stack.as(bob, "/conductor/api/workflow/execute/wfA/1?waitForSeconds=0", {
      method: "POST",
      json: { idempotencyKey: "planted", idempotencyStrategy: "RETURN_EXISTING" },
    });
    expect(sync.status).toBe(502);
    expect((await stack.as(bob, "/conductor/api/workflow/fb-planted", { method: "DELETE" })).status).toBe(404);
    expect(await statusOf("fb-planted")).toBe("RUNNING");
  });

  it("a keyed start of the caller's own is answered, and its owner read back from the engine", async () => {
    const res = await start(bob, { name: "wfA", idempotencyKey: "mine-1", idempotencyStrategy: "RETURN_EXISTING" });
    const id = await res.text();
    expect(res.status).toBe(200);
    const again = await start(bob, { name: "wfA", idempotencyKey: "mine-1", idempotencyStrategy: "RETURN_EXISTING" });
    expect(await again.text()).toBe(id);
    const reads = (await stack.records()).filter((r) => r.method === "GET" && r.path.startsWith(`/api/workflow/${id}`));
    expect(reads.length).toBeGreaterThan(0);
    expect((await stack.as(bob, `/conductor/api/workflow/${id}/pause`, { method: "PUT" })).status).toBe(200);
  });
});
