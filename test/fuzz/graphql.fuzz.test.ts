/**
 * Property tests of the GraphQL guard (seeded, reproducible: FC_SEED overrides the seed).
 * The generator builds documents whose executed root fields it knows; the guard must allow exactly when every
 * one of them is in scope, and must never throw, whatever the input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_GRAPHQL_LIMITS } from "../../src/constants";
import { Kind, Lexer, Source, TokenKind } from "graphql";
import { answeredLocally, decideOperation } from "../../src/engines/prefect/cli";
import { decideAsRoute } from "../engines/prefect/seen";
import { a, b, prefectStandIn, twoTenants } from "../engines/prefect/standin";
import { decidePrefectRequest } from "../../src/engines/prefect/decide";
import { reshapeByPk } from "../../src/engines/prefect/rewrite";
import { analyzeRequest, measureOperation, nestsDeeperThan, parseDocument, selectOperation } from "../../src/engines/prefect/policy";

const SEED = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.FC_SEED ?? 20261122);
const FIELDS = [
  "flow",
  "flow_run",
  "project",
  "create_flow_run",
  "delete_flow",
  "cancel_flow_run",
  "set_flow_run_states",
  "delete_flow_run",
  "insert_flow_one",
];
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
        const d = decideAsRoute(
          { query: g.document, operationName: g.operationName, persistedQueryHash: null },
          scopes,
          DEFAULT_GRAPHQL_LIMITS,
          "POST",
        );
        const expected = [...g.rootFields].every((f) => granted(scopes, `${g.type}/${f}`));
        expect(d.ok).toBe(expected);
        if (d.ok) expect(new Set(d.value.rootFields)).toEqual(g.rootFields);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.option(fc.string({ maxLength: 20 })), (text, op) => {
        const d = decideAsRoute({ query: text, operationName: op, persistedQueryHash: null }, ["query/*"], DEFAULT_GRAPHQL_LIMITS, "POST");
        expect(typeof d.ok).toBe("boolean");
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("never throws on GraphQL-flavoured noise", () => {
    const tokens = fc.constantFrom(
      "{",
      "}",
      "(",
      ")",
      "...",
      "on",
      "query",
      "mutation",
      "fragment",
      "F",
      "a",
      ":",
      "@skip",
      "$v",
      '"s"',
      "[",
      "]",
      "#c\n",
      "__schema",
    );
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 60 }), (parts) => {
        const d = decideAsRoute(
          { query: parts.join(" "), operationName: null, persistedQueryHash: null },
          ["query/*"],
          DEFAULT_GRAPHQL_LIMITS,
          "POST",
        );
        expect(typeof d.ok).toBe("boolean");
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("measures a random fragment graph as its naive expansion would, walking each written selection once", () => {
    // Fragment i may spread only fragments after it (no cycles): the naive expansion terminates, if exponentially.
    type Item = { kind: "leaf" } | { kind: "field"; inner: number[] } | { kind: "spread"; to: number } | { kind: "inline"; to: number };
    const graph = fc
      .integer({ min: 1, max: 7 })
      .chain((n) =>
        fc.tuple(
          ...Array.from({ length: n }, (_, i) =>
            fc.array(
              fc.oneof(
                fc.constant<Item>({ kind: "leaf" }),
                ...(i + 1 < n
                  ? [
                      fc
                        .array(fc.integer({ min: i + 1, max: n - 1 }), { minLength: 1, maxLength: 3 })
                        .map((inner): Item => ({ kind: "field", inner })),
                      fc.integer({ min: i + 1, max: n - 1 }).map((to): Item => ({ kind: "spread", to })),
                      fc.integer({ min: i + 1, max: n - 1 }).map((to): Item => ({ kind: "inline", to })),
                    ]
                  : []),
              ),
              { minLength: 1, maxLength: 4 },
            ),
          ),
        ),
      );
    fc.assert(
      fc.property(graph, (frags) => {
        const render = (item: Item, k: number): string =>
          item.kind === "leaf"
            ? `f${k}`
            : item.kind === "field"
              ? `o${k} { ${item.inner.map((t) => `...F${t}`).join(" ")} }`
              : item.kind === "spread"
                ? `...F${item.to}`
                : `... on Query { ...F${item.to} }`;
        const query = `query { ...F0 } ${frags.map((items, i) => `fragment F${i} on Query { ${items.map(render).join(" ")} }`).join(" ")}`;
        // The expansion, naively: what the server would resolve (every spread where it sits).
        const naive = (i: number): { depth: number; cost: number } =>
          frags[i]!.reduce(
            (acc, item) => {
              const sub =
                item.kind === "leaf"
                  ? { depth: 1, cost: 1 }
                  : item.kind === "field"
                    ? item.inner
                        .map(naive)
                        .reduce((a, b) => ({ depth: Math.max(a.depth, b.depth + 1), cost: a.cost + b.cost }), { depth: 1, cost: 1 })
                    : naive(item.to);
              return { depth: Math.max(acc.depth, sub.depth), cost: acc.cost + sub.cost };
            },
            { depth: 0, cost: 0 },
          );
        const limits = { ...DEFAULT_GRAPHQL_LIMITS, maxDepth: 100, maxCost: 10_000_000, maxAliases: 1000 };
        const parsed = parseDocument(query, limits);
        if (!parsed.ok) throw new Error(parsed.reason);
        const selected = selectOperation(parsed.value, null);
        if (!selected.ok) throw new Error(selected.reason);
        const fragments = new Map(
          parsed.value.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
        );
        const m = measureOperation(selected.value, fragments);
        const written =
          1 +
          frags.reduce(
            (n, items) => n + items.reduce((k, it) => k + (it.kind === "field" ? 1 + it.inner.length : it.kind === "inline" ? 2 : 1), 0),
            0,
          );
        expect(m).toEqual({ ok: true, ...naive(0), visits: expect.any(Number) });
        expect(m.visits).toBeLessThanOrEqual(written);
        const a = analyzeRequest({ query, operationName: null, persistedQueryHash: null }, { ...limits, maxCost: 5 });
        expect(a.ok).toBe(naive(0).cost <= 5);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("counts bracket nesting as graphql-js's lexer reads the text (strings, block strings, comments, escapes)", () => {
    const pieces = fc.constantFrom(
      "{",
      "}",
      "[",
      "]",
      "(",
      ")",
      "a",
      " ",
      "\n",
      "\r",
      ",",
      "...",
      '"{["',
      '"\\"{"',
      '"\\\\"',
      '"\\u{7B}"',
      '""',
      '"""{ ["""',
      '"""a\\"""{"""',
      '""""""',
      '"""\\"""',
      '"""x""""',
      "# { [ (\n",
      "#}\r",
      "#",
    );
    const lexerNesting = (text: string): number | null => {
      let depth = 0;
      let max = 0;
      try {
        const lexer = new Lexer(new Source(text));
        for (let t = lexer.advance(); t.kind !== TokenKind.EOF; t = lexer.advance()) {
          if (t.kind === TokenKind.BRACE_L || t.kind === TokenKind.BRACKET_L || t.kind === TokenKind.PAREN_L) max = Math.max(max, ++depth);
          else if (t.kind === TokenKind.BRACE_R || t.kind === TokenKind.BRACKET_R || t.kind === TokenKind.PAREN_R)
            depth = Math.max(0, depth - 1);
        }
      } catch {
        return null; // not lexable: the parser refuses it whatever the count
      }
      return max;
    };
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 80 }), (parts) => {
        const text = parts.join("");
        const nesting = lexerNesting(text);
        if (nesting === null) return;
        expect(nestsDeeperThan(text, nesting), text).toBe(false);
        if (nesting > 0) expect(nestsDeeperThan(text, nesting - 1), text).toBe(true);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it("never forwards a request holding auth_info or tenant, whatever it is batched with and whatever the scopes", () => {
    const ROOTS = ["tenant", "auth_info", "flow", "project", "__typename", "__schema"];
    const element = fc.record({
      type: fc.constantFrom(...TYPES),
      fields: fc.array(fc.record({ field: fc.constantFrom(...ROOTS), how: fc.constantFrom("plain", "alias", "inline", "spread") }), {
        minLength: 1,
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(
        fc.array(element, { minLength: 1, maxLength: 4 }),
        scopesArb,
        fc.constantFrom("GET" as const, "POST" as const),
        (batch, scopes, method) => {
          const ops = batch.map(({ type, fields }) => {
            const frags: string[] = [];
            const on = type[0]!.toUpperCase() + type.slice(1);
            const sel = fields
              .map(({ field, how }, i) => {
                const f = field === "__typename" ? field : `${field} { id }`;
                if (how === "alias") return `k${i}: ${f}`;
                if (how === "inline") return `... on ${on} { ${f} }`;
                if (how === "spread") {
                  frags.push(`fragment G${i} on ${on} { ${f} }`);
                  return `...G${i}`;
                }
                return f;
              })
              .join(" ");
            const a = analyzeRequest(
              { query: `${type} { ${sel} } ${frags.join(" ")}`, operationName: null, persistedQueryHash: null },
              DEFAULT_GRAPHQL_LIMITS,
            );
            if (!a.ok) throw new Error(a.reason);
            return a.value;
          });
          const local = answeredLocally(ops);
          const allowed = ops.map((op) => decideOperation(op, scopes, method, local)).every((d) => d.ok);
          const holdsLocal = batch.some((e) => e.fields.some((f) => f.field === "tenant" || f.field === "auth_info"));
          // Forwarded means allowed and not answered here: then nothing local may be in it.
          if (allowed && !local) expect(holdsLocal).toBe(false);
          // Answered here only when every element is a query of local fields and __typename (or __typename alone).
          if (local) {
            for (const e of batch) {
              expect(e.fields.every((f) => f.field === "tenant" || f.field === "auth_info" || f.field === "__typename")).toBe(true);
              if (e.fields.some((f) => f.field !== "__typename")) expect(e.type).toBe("query");
            }
          }
        },
      ),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

describe("Prefect tenant rewrite properties (multi-tenant mode)", () => {
  // Two tenants' rows in an executing stand-in of Prefect Server (test/engines/prefect/standin.ts), which filters
  // nothing by tenant: whatever the document, the rewritten one must validate there and answer only acme's rows.
  const A = "aaaa0000-0000-4000-8000-00000000000a";
  const B = "bbbb0000-0000-4000-8000-00000000000b";
  const evil = (table: string) =>
    `{_or: [{${table === "tenant" ? "id" : "tenant_id"}: {_eq: "${B}"}}, {id: {_in: ["${b(3)}", "${b(4)}"]}}]}`;
  const inner: Record<string, string[]> = {
    flow: ["project { id tenant_id }", 'flow_runs(where: {tenant_id: {_eq: "' + B + '"}}) { id tenant_id }', "tenant { id }"],
    flow_run: ["flow { id tenant_id project { id } }", "task_runs { id tenant_id }", "logs_aggregate { aggregate { count } nodes { id } }"],
    project: ["flows { id tenant_id flow_runs { id } }", "flows_aggregate { aggregate { count } }"],
    log: [],
    task_run: ["flow_run { id tenant_id }", "task { id tenant_id }"],
  };
  const root = fc.record({
    table: fc.constantFrom("flow", "flow_run", "project", "log", "task_run"),
    form: fc.constantFrom("list", "by_pk", "aggregate"),
    where: fc.constantFrom("none", "literal", "variable"),
    pk: fc.constantFrom(3, 4, 1),
    owner: fc.constantFrom("a", "b"),
    rel: fc.nat(3),
    wrap: fc.constantFrom("plain", "inline", "named", "alias"),
  });
  it("answers only the caller's rows, through aliases, fragments, variables and _by_pk, and every document validates", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(root, { minLength: 1, maxLength: 4 }), async (roots) => {
        const standIn = prefectStandIn(twoTenants(A, B));
        const defs: string[] = [];
        const frags: string[] = [];
        const variables: Record<string, unknown> = {};
        const sels = roots.map((r, i) => {
          const rel = inner[r.table]![r.rel % Math.max(1, inner[r.table]!.length)] ?? "";
          const rows = `id tenant_id ${rel}`;
          let field: string;
          if (r.form === "by_pk") field = `${r.table}_by_pk(id: "${(r.owner === "a" ? a : b)(r.pk)}") { ${rows} }`;
          else {
            let args = "";
            if (r.where === "literal") args = `(where: ${evil(r.table)})`;
            if (r.where === "variable") {
              defs.push(`$w${i}: ${r.table}_bool_exp`);
              variables[`w${i}`] = { _or: [{ tenant_id: { _eq: B } }, { id: { _eq: b(4) } }] };
              args = `(where: $w${i})`;
            }
            field =
              r.form === "list" ? `${r.table}${args} { ${rows} }` : `${r.table}_aggregate${args} { aggregate { count } nodes { ${rows} } }`;
          }
          const keyed = `k${i}: ${field}`;
          if (r.wrap === "inline") return `... on Query { ${keyed} }`;
          if (r.wrap === "named") {
            frags.push(`fragment F${i} on Query { ${keyed} }`);
            return `...F${i}`;
          }
          return keyed;
        });
        const query = `query${defs.length ? `(${defs.join(", ")})` : ""} { ${sels.join(" ")} } ${frags.join(" ")}`;
        const d = decidePrefectRequest(
          { method: "POST", contentType: "application/json", body: JSON.stringify({ query, variables }), params: new URLSearchParams() },
          { scopes: ["query/*"], isolatedTenantId: A },
          DEFAULT_GRAPHQL_LIMITS,
        );
        if (!d.ok || !d.value.forward) throw new Error(`refused: ${JSON.stringify(d)} ${query}`);
        const plan = d.value.forward[0]!;
        const res = await standIn.handle(
          new Request("http://standin/graphql", { method: "POST", body: JSON.stringify({ query: plan.query, variables: plan.variables }) }),
        );
        const answer = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
        expect(answer.errors, `${query}\n${plan.query}`).toBeUndefined();
        reshapeByPk(answer.data, plan.byPkKeys);
        const text = JSON.stringify(answer.data);
        expect(text.includes("bbbbbbbb") || text.includes(B), `${query}\n${text}`).toBe(false);
        // Counts are acme's alone (one row of each table there).
        for (const m of text.matchAll(/"count":(\d+)/g)) expect(Number(m[1])).toBeLessThanOrEqual(1);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
