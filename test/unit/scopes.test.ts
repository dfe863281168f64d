import { describe, expect, it } from "vitest";
import { hasScope, parseScopePattern, scopeMatches } from "../../src/formats/scopes";

describe("scope patterns", () => {
  it.each([
    ["query/*", "query/flow", true],
    ["query/*", "mutation/flow", false],
    ["mutation/create_*", "mutation/create_flow_run", true],
    ["mutation/create_*", "mutation/delete_flow", false],
    ["mutation/create_flow_run", "mutation/create_flow_run", true],
    ["mutation/create_flow_run", "mutation/create_flow_run_x", false],
    ["*/flow", "query/flow", true],
    ["admin", "admin", true],
    ["admin", "administrator", false],
    ["worker", "worker/SIMPLE", false],
    ["worker/*", "worker", false],
    ["query/*", "query/a/b", false],
    ["query/fl.w", "query/flaw", false],
    ["query/(a|b)", "query/a", false],
  ])("%s grants %s: %s", (pattern, required, expected) => {
    expect(scopeMatches(pattern, required)).toBe(expected);
  });

  it("refuses malformed patterns, including a bare *", () => {
    for (const bad of ["*", "", "a b", "query/", "/x", "a/b/c", "x".repeat(200), "adm*n"]) {
      expect(parseScopePattern(bad), bad).toBeNull();
    }
    for (const good of ["admin", "query/*", "mutation/create_*", "worker/SIMPLE", "u:K:q", "*/*"]) {
      expect(parseScopePattern(good), good).toBe(good);
    }
  });

  it("hasScope looks at every held pattern", () => {
    expect(hasScope(["query/*", "conductor"], "conductor")).toBe(true);
    expect(hasScope([], "admin")).toBe(false);
  });
});
