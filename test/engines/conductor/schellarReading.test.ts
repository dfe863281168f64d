/**
 * Schedules as Schellar reads them (FRINXio/schellar schellar/api.go: `json.NewDecoder(r.Body).Decode(&schedule)`
 * into ifc.Schedule, Go's encoding/json): a key matches a field case-insensitively (Unicode simple folding: `ſ` is
 * `s`, the Kelvin sign `k`), the last match winning; and `PUT /schedule/{name}` updates the schedule the body's
 * `name` names (postgres.go `Update`: `WHERE schedule_name=$1` with `schedule.Name`), not the path's. So a second
 * spelling of `name` or `workflowName` after the gateway's would name another tenant's schedule and workflow.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../helpers";
import { conductorStack, seedTwoTenants, type ConductorStack } from "./harness";

let stack: ConductorStack;
let admin: string;

beforeAll(async () => {
  stack = await conductorStack("schellar-read");
  await seedTwoTenants(stack);
  admin = await stack.key({ subject: "fb-admin", roles: ["OWNER"] });
});

const base = { name: "wfA:1", workflowName: "wfA", workflowVersion: "1", cronString: "* * * * *" };

describe("a schedule Schellar could read as another tenant's is refused, nothing sent", () => {
  it.each([
    ["Name", { ...base, Name: "OTHER___wfA:1" }],
    ["WorkflowName", { ...base, WorkflowName: "OTHER___wfA" }],
    ["NAME and workflowname", { ...base, NAME: "OTHER___wfA:1", workflowname: "OTHER___wfA" }],
    ["long s (U+017F)", { ...base, "cron\u017Ftring": "0 0 1 1 *", "\u017Ftatus": "x" }],
    ["Kelvin sign in a field name", { ...base, "chec\u212AWarningSeconds": 1 }],
    ["TaskToDomain", { ...base, TaskToDomain: { "*": "OTHER" } }],
    ["CorrelationId", { ...base, CorrelationId: "someone-else" }],
    ["a field Schellar does not have", { ...base, owner: "x" }],
  ])("POST with %s", async (_label, json) => {
    const before = (await stack.records()).length;
    const res = await stack.as(admin, "/conductor/schedule", { method: "POST", json });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("BAD_REQUEST");
    expect((await stack.records()).length).toBe(before);
  });

  it("PUT with a second spelling of name (Schellar would update the schedule the body names)", async () => {
    const before = (await stack.records()).length;
    const res = await stack.as(admin, "/conductor/schedule/wfA:1", {
      method: "PUT",
      json: { ...base, Name: "OTHER___wfA:1", WorkflowName: "OTHER___wfA" },
    });
    expect(res.status).toBe(400);
    expect((await stack.records()).length).toBe(before);
  });

  it("a schedule spelled as Schellar's fields are passes, each key once and exact", async () => {
    const res = await stack.as(admin, "/conductor/schedule", {
      method: "POST",
      json: { ...base, name: "wfA:7", workflowVersion: "7", enabled: true, workflowContext: { Name: "data, not a field" } },
    });
    expect(res.status).toBe(201);
    const sent = JSON.parse((await stack.records()).at(-1)!.body) as Record<string, unknown>;
    const folded = Object.keys(sent).map((k) => k.toLowerCase());
    expect(new Set(folded).size).toBe(folded.length);
    expect(sent.name).toBe("FACEBOOK___wfA:7");
    expect(sent.workflowContext).toEqual({ Name: "data, not a field" });
  });
});
