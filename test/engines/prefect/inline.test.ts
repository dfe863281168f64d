/**
 * The forwarded document inlines every fragment (src/engines/prefect/rewrite.ts). The cost limit counts the
 * fields of the expanded selection, not the fragments that wrap them: a chain of fragments each spreading the
 * next, spread many times, expands to spreads x chain wrappers around a few fields. The inlining stays within
 * the cost's bound (fields, and as many wrappers again) or is refused, in either tenancy mode.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_GRAPHQL_LIMITS } from "../../../src/constants";
import { decidePrefectRequest, firstRefusal } from "../../../src/engines/prefect/decide";

const TENANT = "11111111-1111-4111-8111-111111111111";

/** `spreads` spreads of F0 at the root, F0 .. F<chain> each spreading the next, the last selecting `leaf`. */
function chained(spreads: number, chain: number, on: (i: number) => string, leaf: string): string {
  const frags = Array.from({ length: chain }, (_, i) => `fragment F${i} on ${on(i)} { ...F${i + 1} }`).join(" ");
  return `query { ${"...F0 ".repeat(spreads)} } ${frags} fragment F${chain} on ${on(chain)} { ${leaf} }`;
}

const decide = (query: string, tenant: string | null) =>
  decidePrefectRequest(
    { method: "POST", contentType: "application/json", body: JSON.stringify({ query }), params: new URLSearchParams() },
    { scopes: ["query/*"], isolatedTenantId: tenant },
    DEFAULT_GRAPHQL_LIMITS,
  );

describe("fragment inlining", () => {
  it("forwards a chain of same-type fragments spliced in: as many selections as fields", () => {
    const d = decide(
      chained(3, 40, () => "Query", "hello"),
      TENANT,
    );
    expect(firstRefusal(d)).toBeNull();
    const query = d.ok ? d.value.forward![0]!.query : "";
    expect(query).not.toContain("...");
    expect(query.match(/hello/g)).toHaveLength(3);
  });

  it("does not expand spreads x chain wrappers (multi-tenant and single-tenant)", () => {
    const maxCost = DEFAULT_GRAPHQL_LIMITS.maxCost;
    const cases = [
      [chained(maxCost / 2, 1_200, () => "Query", "__typename"), TENANT],
      [chained(maxCost / 2, 1_200, () => "Query", "__typename"), null],
      // Types that alternate (invalid for the server, which the gateway does not validate) cannot be flattened.
      [chained(maxCost / 2, 1_200, (i) => (i % 2 ? "Query" : "Root"), "__typename"), null],
    ] as const;
    for (const [query, tenant] of cases) {
      const started = Date.now();
      const d = decide(query, tenant);
      const refusal = firstRefusal(d);
      const forwarded = refusal === null && d.ok ? d.value.forward!.map((p) => p.query).join("") : "";
      expect(forwarded.length, `${tenant} ${query.slice(-40)}`).toBeLessThan(200_000);
      expect(Date.now() - started).toBeLessThan(2_000);
      if (refusal) expect(refusal.ok ? null : refusal.code).toBe("LIMIT_EXCEEDED");
    }
  });
});
