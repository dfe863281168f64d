import { describe, expect, it } from "vitest";
import { isConductorAdmin, mayUseWorkflowDef, workflowLabels } from "../../../src/engines/conductor/rbac";
import { quoteLiteral, scopedSearchQuery as scopedSearchQueryVerdict, searchQueryProblem } from "../../../src/engines/conductor/search";
import {
  admitStartRequest as admitStartVerdict,
  startRequestFromPath as startFromPathVerdict,
} from "../../../src/engines/conductor/startWorkflow";
import type { Principal } from "../../../src/identity/principal";
import { seen } from "./seen";

// The policies answer in `Verdict`s; `seen` reads them in the shapes the expectations below were written in.
const scopedSearchQuery = (...a: Parameters<typeof scopedSearchQueryVerdict>) => seen(scopedSearchQueryVerdict(...a));
const admitStartRequest = (...a: Parameters<typeof admitStartVerdict>) => seen(admitStartVerdict(...a));
const startRequestFromPath = (...a: Parameters<typeof startFromPathVerdict>) => seen(startFromPathVerdict(...a));

const user = (roles: string[], groups: string[] = []): Principal => ({
  kind: "jwt",
  subject: "u@x",
  roles,
  groups,
  scopes: [],
  tenant: "A",
});

describe("search queries", () => {
  const es = (tenant: string, subject: string | null) => ({ backend: "elasticsearch" as const, tenant, ownExecutionsOf: subject });
  it("puts the tenant (and, for non-admins, the caller) first, then the client's query in parentheses", () => {
    expect(scopedSearchQuery("status = 'RUNNING'", es("A", null))).toBe("workflowType STARTS_WITH 'A___' AND (status = 'RUNNING')");
    expect(scopedSearchQuery("", es("A", "o'brien@x"))).toBe("workflowType STARTS_WITH 'A___' AND correlationId IN (o'brien@x)");
  });

  it("refuses queries that could close the gateway's parenthesis or literal", () => {
    for (const q of ["x) OR (1=1", "a = 'b", "(((", ")(", 'a = "b', "x\u0000y"]) {
      expect(scopedSearchQuery(q, es("A", null)), q).toHaveProperty("refused");
    }
    expect(searchQueryProblem("a = 'it\\'s (fine)' AND (b = \"c)\")")).toBeNull();
    expect(searchQueryProblem("x".repeat(5000))).toBe("too_long");
  });

  it("escapes literals so no value ends them early", () => {
    expect(quoteLiteral("a'b\\")).toBe("'a\\'b\\\\'");
  });
});

describe("RBAC", () => {
  it("makes admins by role or group, case-insensitively", () => {
    expect(isConductorAdmin(user(["owner"]), ["OWNER"], ["NETWORK-ADMIN"])).toBe(true);
    expect(isConductorAdmin(user([], ["network-admin"]), ["OWNER"], ["NETWORK-ADMIN"])).toBe(true);
    expect(isConductorAdmin(user(["OWNERS"]), ["OWNER"], ["NETWORK-ADMIN"])).toBe(false);
  });

  it("reads labels from JSON descriptions and the legacy 'text - A,B' form", () => {
    expect(workflowLabels('{"description":"x","labels":["ADMIN","TEST"]}')).toEqual(["ADMIN", "TEST"]);
    expect(workflowLabels("description - ADMIN,OWNER,TEST")).toEqual(["ADMIN", "OWNER", "TEST"]);
    expect(workflowLabels("no labels here")).toEqual([]);
    expect(workflowLabels("{broken")).toEqual([]);
    expect(workflowLabels(undefined)).toEqual([]);
  });

  it("lets a non-admin use a definition labelled with one of their groups or roles", () => {
    expect(mayUseWorkflowDef(user(["TEST"]), "description - ADMIN,OWNER,TEST")).toBe(true);
    expect(mayUseWorkflowDef(user([], ["ops"]), '{"labels":["OPS"]}')).toBe(true);
    expect(mayUseWorkflowDef(user(["dev"]), "description - ADMIN,OWNER,TEST")).toBe(false);
    expect(mayUseWorkflowDef(user(["dev"]), "unlabelled")).toBe(false);
  });
});

describe("starting a workflow", () => {
  const caller = { tenant: "A", subject: "alice", idempotencyScope: "0123456789abcdef0123456789abcdef" };
  it("names it in the tenant's space, routes tasks to the tenant's domain, records the caller", () => {
    expect(admitStartRequest({ name: "wf", version: 2, input: { x: 1 }, correlationId: "forged" }, caller)).toEqual({
      name: "wf",
      version: 2,
      body: { name: "A___wf", version: 2, input: { x: 1 }, taskToDomain: { "*": "A" }, correlationId: "alice" },
      idempotent: false,
    });
    const params = new URLSearchParams({ version: "3", priority: "5", correlationId: "forged" });
    expect(startRequestFromPath("wf", { x: 1 }, params, caller)).toEqual({
      name: "wf",
      version: 3,
      body: { name: "A___wf", version: 3, priority: 5, input: { x: 1 }, taskToDomain: { "*": "A" }, correlationId: "alice" },
      idempotent: false,
    });
  });

  it("refuses client taskToDomain, inline workflowDef, and names reaching elsewhere", () => {
    for (const body of [
      { name: "wf", taskToDomain: { "*": "B" } },
      { name: "wf", workflowDef: { name: "x", tasks: [] } },
      { name: "B___wf" },
      { name: "../wf" },
      { name: 3 },
      "wf",
    ]) {
      expect(admitStartRequest(body, caller), JSON.stringify(body)).toHaveProperty("refused");
    }
    expect(startRequestFromPath("B___wf", {}, new URLSearchParams(), caller)).toHaveProperty("refused");
    expect(startRequestFromPath("wf", [1], new URLSearchParams(), caller)).toHaveProperty("refused");
    expect(startRequestFromPath("wf", {}, new URLSearchParams({ version: "1 OR 1" }), caller)).toHaveProperty("refused");
  });
});
