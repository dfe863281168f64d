/**
 * A fifth attacker's pass over issue 25 (attack26): headers that change how a body or a method is read. Each held:
 * the gateway reads the bytes it received as UTF-8 JSON whatever `content-encoding` says (so a gzip body is not
 * JSON to it, and refused), never forwards `content-encoding`, `x-http-method-override` or `transfer-encoding`
 * (not on CONDUCTOR_FORWARDED_HEADERS), and sends its own method, body and content type upstream.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await conductorStack("attack26hdr");
  await seedTwoTenants(stack);
  alice = await stack.key({ subject: "alice", groups: ["test"] });
  bob = await stack.key({ subject: "bob", groups: ["test"] });
});

const gzip = async (text: string) =>
  new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());

describe("headers that change how a request is read (attack26: held)", () => {
  it("a gzip body (content-encoding: gzip) holding a secret reference is not read as JSON: 400, nothing sent", async () => {
    const before = (await stack.records()).length;
    const body = await gzip(JSON.stringify({ name: "wfA", input: { x: "${workflow.secrets.DB}" } }));
    const res = await stack.as(alice, "/conductor/api/workflow", {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await stack.records()).length).toBe(before);
  });

  it("a plain start carrying content-encoding, method-override and transfer-encoding headers reaches Conductor without them", async () => {
    const before = (await stack.records()).length;
    const res = await stack.as(alice, "/conductor/api/workflow", {
      method: "POST",
      body: JSON.stringify({ name: "wfA" }),
      headers: {
        "content-type": "application/json; charset=utf-16",
        "x-http-method-override": "DELETE",
        "x-method-override": "DELETE",
        "content-encoding": "identity",
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    // The start, and before it the definition's read for its RBAC labels (a GET): no DELETE.
    const sent = (await stack.records()).slice(before).filter((r) => r.method !== "GET");
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/workflow"]);
    for (const h of ["x-http-method-override", "x-method-override", "content-encoding", "transfer-encoding"])
      expect(sent[0]!.headers[h], h).toBeUndefined();
    expect(sent[0]!.headers["content-type"]).toMatch(/^application\/json(; ?charset=utf-8)?$/i);
  });

  it("a GET with X-HTTP-Method-Override: DELETE on another user's execution stays a read, and a 404", async () => {
    const before = (await stack.records()).length;
    const res = await stack.as(bob, "/conductor/api/workflow/fb-1", { headers: { "x-http-method-override": "DELETE" } });
    expect(res.status).toBe(404);
    const sent = (await stack.records()).slice(before);
    expect(sent.every((r) => r.method === "GET")).toBe(true);
  });

  it("a repeated content-type (joined by the runtime) does not make the gateway read the body another way", async () => {
    const headers = new Headers({ "content-type": "text/plain" });
    headers.append("content-type", "application/json");
    const before = (await stack.records()).length;
    const res = await stack.as(alice, "/conductor/api/workflow", {
      method: "POST",
      body: JSON.stringify({ name: "wfA", input: { x: "${workflow.secrets.DB}" } }),
      headers: Object.fromEntries(headers),
    });
    expect(res.status, await res.clone().text()).toBe(400);
    expect((await stack.records()).length).toBe(before);
  });
});
