/**
 * The definition listing's reused rewrite (ConductorUpstream.listRewritten): while Conductor answers with the same
 * bytes, a rewrite made earlier is served again, but only to a caller of the same tenant and the same view. These
 * run the real Worker against one Conductor answering every tenant the same bytes, in an order that would hand
 * one caller's rewrite to the next if the cache were keyed by anything less.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let fbAdmin: string;
let otAdmin: string;
let fbOps: string;
let fbTest: string;
let fbNone: string;

beforeAll(async () => {
  stack = await conductorStack("listing-cache");
  await seedTwoTenants(stack);
  fbAdmin = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
  otAdmin = await stack.key({ subject: "ot-admin", tenant: "OTHER", roles: ["OWNER"] });
  fbOps = await stack.key({ subject: "fb-ops", groups: ["ops"] });
  fbTest = await stack.key({ subject: "fb-test", roles: ["TEST"] });
  fbNone = await stack.key({ subject: "fb-none", groups: ["nobody"] });
});

async function names(key: string): Promise<{ names: string[]; text: string }> {
  const res = await stack.as(key, "/conductor/api/metadata/workflow");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const text = await res.text();
  return { names: (JSON.parse(text) as { name: string }[]).map((d) => d.name).sort(), text };
}

describe("the reused listing rewrite", () => {
  it("never serves one tenant's or one view's rewrite to another, in any order", async () => {
    for (let round = 0; round < 3; round++) {
      const fb = await names(fbAdmin);
      expect(fb.names).toEqual(["wfA", "wfB"]);
      expect(fb.text).toContain("first - TEST");
      expect(fb.text).not.toContain("theirs");
      const ot = await names(otAdmin);
      expect(ot.names).toEqual(["wfA"]);
      expect(ot.text).toContain("theirs - TEST");
      expect(ot.text).not.toContain("first");
      expect((await names(fbOps)).names).toEqual(["wfB"]);
      expect((await names(fbTest)).names).toEqual(["wfA"]);
      expect((await names(fbNone)).names).toEqual([]);
    }
  });

  it("serves a fresh rewrite as soon as Conductor's answer changes", async () => {
    expect((await names(fbAdmin)).names).toEqual(["wfA", "wfB"]);
    const created = await stack.as(fbAdmin, "/conductor/api/metadata/workflow", {
      method: "POST",
      json: { name: "wfC", version: 1, description: "third - OPS", tasks: [] },
    });
    expect(created.status).toBeLessThan(300);
    expect((await names(fbAdmin)).names).toEqual(["wfA", "wfB", "wfC"]);
    expect((await names(fbOps)).names).toEqual(["wfB", "wfC"]);
    expect((await names(otAdmin)).names).toEqual(["wfA"]);
  });
});
