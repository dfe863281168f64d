/**
 * FlowAPI's aggregation unit, derived as FlowMachine's `get_aggregation_unit` does (issue 17): own parameter, else
 * the sub-query the kind is built on, else none (`nonspatial`).
 */
import { describe, expect, it } from "vitest";
import { aggregationUnit as unitVerdict, inexactNumber, queryScopes as scopesVerdict } from "../../src/engines/flowapi/policy";
import { repeatedKey } from "../../src/proxy/json";
import type { Obj } from "../../src/jsonValue";

// The policy answers in `Verdict`s (src/verdict.ts); the expectations below read them as the unit, the scopes, or
// the refusal's reason.
const aggregationUnit = (query: Obj) => {
  const v = unitVerdict(query);
  return v.ok ? { unit: v.value } : { refused: v.reason };
};
const queryScopes = (spec: unknown) => {
  const v = scopesVerdict(spec);
  return v.ok ? { scopes: v.value } : { refused: v.reason };
};

const daily = (unit: string) => ({ query_kind: "daily_location", date: "2016-01-01", method: "last", aggregation_unit: unit });

describe("aggregation unit", () => {
  it.each([
    ["a reference location's own", daily("admin2"), "admin2"],
    ["spatial_aggregate: its locations'", { query_kind: "spatial_aggregate", locations: daily("admin3") }, "admin3"],
    [
      "joined_spatial_aggregate: its locations', not its metric's",
      {
        query_kind: "joined_spatial_aggregate",
        locations: daily("admin1"),
        metric: { query_kind: "radius_of_gyration", aggregation_unit: "admin3" },
        method: "avg",
      },
      "admin1",
    ],
    ["flows: its from_location's", { query_kind: "flows", from_location: daily("admin1"), to_location: daily("admin1") }, "admin1"],
    [
      "modal_location: its first location's",
      { query_kind: "spatial_aggregate", locations: { query_kind: "modal_location", locations: [daily("lon-lat"), daily("lon-lat")] } },
      "lon-lat",
    ],
    [
      "majority_location through location_visits",
      {
        query_kind: "spatial_aggregate",
        locations: {
          query_kind: "majority_location",
          subscriber_location_weights: { query_kind: "location_visits", locations: [daily("admin3")] },
        },
      },
      "admin3",
    ],
    [
      "a histogram has none",
      {
        query_kind: "histogram_aggregate",
        metric: { query_kind: "displacement", reference_location: daily("admin3") },
        bins: { n_bins: 5 },
      },
      null,
    ],
    ["a kind without a unit has none", { query_kind: "total_network_objects", total_by: "day" }, null],
  ])("%s", (_n, query, unit) => {
    expect(aggregationUnit(query)).toEqual({ unit });
  });

  it("refuses what FlowMachine refuses: a unit beside one taken from a sub-query, or a sub-query without one", () => {
    expect(aggregationUnit({ query_kind: "spatial_aggregate", aggregation_unit: "admin3", locations: daily("admin3") })).toHaveProperty(
      "refused",
    );
    expect(aggregationUnit({ query_kind: "spatial_aggregate", locations: { query_kind: "daily_location" } })).toHaveProperty("refused");
    expect(aggregationUnit({ query_kind: "spatial_aggregate" })).toHaveProperty("refused");
    expect(aggregationUnit({ query_kind: "__proto__" })).toEqual({ unit: null });
  });

  it("every scope of a query carries the derived unit", () => {
    expect(queryScopes({ query_kind: "spatial_aggregate", locations: daily("admin3") })).toEqual({
      scopes: ["admin3:spatial_aggregate:spatial_aggregate", "admin3:spatial_aggregate:daily_location"],
    });
  });
});

describe("repeatedKey: a key given twice in one object, as Python's json reads keys (after unescaping)", () => {
  it("finds repeats in any object at any depth, and nothing else", () => {
    const cases: [string, string | null][] = [
      ['{"a":1,"b":2}', null],
      ['{"a":1,"a":2}', "a"],
      ['{"a":{"a":1},"b":[{"a":1},{"a":2}]}', null],
      ['{"x":[{"a":1,"a":2}]}', "a"],
      ['{"a\\u0062":1,"ab":2}', "ab"],
      ['{"s":"\\"a\\":1,","a":1,"t":"{\\"a\\":2}"}', null],
      ['{"s":"\\\\","a":1,"a":2}', "a"],
      ['[{"k":1},{"k":2}]', null],
      ['{"":1,"":2}', ""],
      ['{"a":[1,{"b":2}],"a ":3}', null],
      ['"{\\"a\\":1,\\"a\\":2}"', null],
    ];
    for (const [text, key] of cases) {
      JSON.parse(text); // each case is valid JSON
      expect(repeatedKey(text), text).toBe(key);
    }
    expect(inexactNumber({ a: [1, 2.5, -9007199254740991] })).toBeNull();
    expect(inexactNumber({ a: [9007199254740992] })).toMatch(/2\^53/);
    expect(inexactNumber(JSON.parse("[1e400]"))).toMatch(/range/);
  });
});
