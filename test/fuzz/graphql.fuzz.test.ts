/**
 * Property tests of the GraphQL guard (seeded, reproducible: FC_SEED overrides the seed).
 * The generator builds documents whose executed root fields it knows; the guard must allow exactly when every
 * one of them is in scope, and must never throw, whatever the input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_GRAPHQL_LIMITS } from "../../src/constants";
import { decideRequest } from "../../src/engines/prefect/policy";

const SEED = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.FC_SEED ?? 20261122);
const FIELDS = ["flow", "flow_run", "project", "create_flow_run", "delete_flow", "cancel_flow_run", "set_flow_run_states", "delete_flow_run", "insert_flow_one"];
const TYPES = ["query", "mutation", "subscription"] as const;

interface Generated {
  document: string;
  operationName: string | null;
  type: (typeof TYPES)[number];
  rootFields: Set<string>;
}

/** A selection of root fields, hidden in several ways: plain, aliased, inline fragment, named fragment. */
const selection = fc.array(
  fc.record({
    field: fc.constantFrom(...FIELDS),
    how: fc.constantFrom("plain", "alias", "inline", "spread", "skip"),
    alias: fc.constantFrom("a", "create_flow_run", "flow", "x1"),
  }),
  { minLength: 1, maxLength: 5 },
);

const documentArb = fc
  .record({
    type: fc.constantFrom(...TYPES),
    executed: selection,
    other: fc.option(fc.record({ type: fc.constantFrom(...TYPES), sel: selection })),
    named: fc.boolean(),
  })
  .map(({ type, executed, other, named }): Generated => {
    const fragments: string[] = [];
    let n = 0;
    const render = (sel: typeof executed, opType: string) =>
      sel
        .map(({ field, how, alias }) => {
          const f = `${field} { id }`;
          if (how === "alias") return `${alias}: ${f}`;
          if (how === "inline") return `... on ${opType} { ${f} }`;
          if (how === "skip") return `${field} @skip(if: true) { id }`;
          if (how === "spread") {
            const name = `F${n++}`;
            fragments.push(`fragment ${name} on ${opType} { ${f} }`);
            return `...${name}`;
          }
          return f;
        })
        .join(" ");
    const ops = [`${type} ${named || other ? "Exec" : ""} { ${render(executed, type)} }`];
    if (other) ops.push(`${other.type} Other { ${render(other.sel, other.type)} }`);
    return {
      document: [...ops, ...fragments].join("\n"),
      operationName: named || other ? "Exec" : null,
      type,
      rootFields: new Set(executed.map((s) => s.field)),
    };
  });

const scopesArb = fc.uniqueArray(
  fc.oneof(
    fc.constantFrom("query/*", "mutation/*", "subscription/*", "mutation/create_*"),
    fc.constantFrom(...TYPES).chain((t) => fc.constantFrom(...FIELDS).map((f) => `${t}/${f}`)),
  ),
  { maxLength: 6 },
);

const granted = (scopes: string[], required: string) =>
  scopes.some((s) => {
    const [t, n] = s.split("/");
    const [rt, rn] = required.split("/");
    if (t !== rt) return false;
    if (n === "*") return true;
    if (n!.endsWith("*")) return rn!.startsWith(n!.slice(0, -1));
    return n === rn;
  });

describe("GraphQL guard properties", () => {
  it("forwards a request only if every root field of the executed operation is in scope", () => {
    fc.assert(
      fc.property(documentArb, scopesArb, (g, scopes) => {
        const d = decideRequest({ query: g.document, operationName: g.operationName, persistedQueryHash: null }, scopes, DEFAULT_GRAPHQL_LIMITS, "POST");
        const expected = [...g.rootFields].every((f) => granted(scopes, `${g.type}/${f}`));
        expect(d.ok).toBe(expected);
        if (d.ok) expect(new Set(d.operation.rootFields)).toEqual(g.rootFields);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.option(fc.string({ maxLength: 20 })), (text, op) => {
        const d = decideRequest({ query: text, operationName: op, persistedQueryHash: null }, ["query/*"], DEFAULT_GRAPHQL_LIMITS, "POST");
        expect(typeof d.ok).toBe("boolean");
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("never throws on GraphQL-flavoured noise", () => {
    const tokens = fc.constantFrom("{", "}", "(", ")", "...", "on", "query", "mutation", "fragment", "F", "a", ":", "@skip", "$v", '"s"', "[", "]", "#c\n", "__schema");
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 60 }), (parts) => {
        const d = decideRequest({ query: parts.join(" "), operationName: null, persistedQueryHash: null }, ["query/*"], DEFAULT_GRAPHQL_LIMITS, "POST");
        expect(typeof d.ok).toBe("boolean");
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
