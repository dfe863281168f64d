/**
 * The pre-read's answer (src/engines/prefect/owners.ts): only rows that say their value and their tenant count,
 * and an answer holding any other row proves nothing, so the ids it was asked about are refused, never taken as
 * new or as the caller's.
 */
import { describe, expect, it } from "vitest";
import { checkOwners, ownersFromAnswer } from "../../../src/engines/prefect/owners";
import type { IdCheck } from "../../../src/engines/prefect/rewrite";

const MINE = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const FLOW = "33333333-3333-4333-8333-333333333333";

const group: IdCheck = {
  table: "flow",
  column: "version_group_id",
  value: "vg",
  where: "mutation/create_flow input.version_group_id",
  mayBeNew: true,
};
const flow: IdCheck = { table: "flow", column: "id", value: FLOW, where: "mutation/delete_flow input.flow_id" };

/** The answer's reading, then the check for the caller's tenant: allowed or not. */
const allowed = (checks: IdCheck[], answer: unknown): boolean => {
  const owners = ownersFromAnswer(checks, answer);
  return owners.ok && checkOwners(checks, owners.value, MINE).ok;
};

describe("the owners' pre-read answer", () => {
  it("takes a version group no flow holds as new, and one holding another tenant's flow as not the caller's", () => {
    expect(allowed([group], { data: { t0: [] } })).toBe(true);
    expect(allowed([group], { data: { t0: [{ version_group_id: "vg", tenant_id: MINE }] } })).toBe(true);
    expect(allowed([group], { data: { t0: [{ version_group_id: "vg", tenant_id: OTHER }] } })).toBe(false);
  });

  it("refuses a version group when a row of the answer does not say its tenant", () => {
    for (const row of [
      { version_group_id: "vg", tenant_id: null },
      { version_group_id: "vg", tenant_id: 7 },
      { version_group_id: "vg" },
      { version_group_id: null, tenant_id: OTHER },
      null,
      "vg",
      [OTHER],
    ]) {
      expect(allowed([group], { data: { t0: [row] } }), JSON.stringify(row)).toBe(false);
      expect(ownersFromAnswer([group], { data: { t0: [{ version_group_id: "vg", tenant_id: MINE }, row] } }).ok).toBe(false);
    }
  });

  it("refuses an id the answer does not show in the caller's tenant, and an answer that is not one", () => {
    expect(allowed([flow], { data: { t0: [{ id: FLOW, tenant_id: MINE }] } })).toBe(true);
    expect(allowed([flow], { data: { t0: [{ id: FLOW.toUpperCase(), tenant_id: MINE.toUpperCase() }] } })).toBe(true);
    expect(allowed([flow], { data: { t0: [{ id: FLOW, tenant_id: null }] } })).toBe(false);
    for (const answer of [null, [], "x", { data: null }, { data: { t0: null } }, { data: { t0: {} } }, { errors: [{}], data: { t0: [] } }])
      expect(allowed([flow], answer), JSON.stringify(answer)).toBe(false);
  });
});
