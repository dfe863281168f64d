/**
 * The costliest GraphQL documents we know how to build for the guard's analysis, each within GRAPHQL_MAX_DOCUMENT_BYTES
 * (64 KB by default; the body limit is larger, but a longer document is refused on its length before parsing):
 * fragments fanning out, deep nesting, many aliases, directives, tokens, long strings, variables and operations.
 * Pure (no Node API): timed by bench/pure.ts, and run by test/engines/prefect/policy.test.ts, which asserts the
 * analysis of each is decided with a walk bounded by the document's size.
 */

export interface GraphQLShape {
  name: string;
  query: string;
  operationName: string | null;
}

/** Roughly the default GRAPHQL_MAX_DOCUMENT_BYTES: shapes grow up to it. */
const DOCUMENT_BYTES = 65_000;

/** `count` fragments F0..F(count-1), fragment i built by `body(i)`; the last one selects a field. */
function fragmentChain(count: number, body: (i: number) => string, on = "Query"): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`fragment F${i} on ${on} { ${i === count - 1 ? "id" : body(i)} }`);
  return out.join("\n");
}

/** Just under the default GRAPHQL_MAX_TOKENS, so that the shapes reach the analysis after the parser. */
const TOKENS = 14_900;

/** As many items of `item(i)` (`tokensEach` tokens each) as fit in the document and the token limit. */
function fill(prefix: string, item: (i: number) => string, suffix: string, tokensEach: number, separator = " "): string {
  const parts: string[] = [];
  let length = prefix.length + suffix.length;
  for (let i = 0; ; i++) {
    const next = item(i);
    if (length + next.length + separator.length > DOCUMENT_BYTES || (i + 1) * tokensEach + 20 > TOKENS) break;
    parts.push(next);
    length += next.length + separator.length;
  }
  return prefix + parts.join(separator) + suffix;
}

/** How many fragments of about `bytesEach` characters and `tokensEach` tokens fit. */
const fitting = (bytesEach: number, tokensEach: number) =>
  Math.min(Math.floor((DOCUMENT_BYTES - 200) / bytesEach), Math.floor((TOKENS - 20) / tokensEach));

export function graphqlShapes(): GraphQLShape[] {
  const shapes: GraphQLShape[] = [];
  const add = (name: string, query: string, operationName: string | null = null) => shapes.push({ name, query, operationName });

  // The issue's example: 27 fragments each spreading the next twice (1.3 KB, 2^27 fields expanded).
  add("fan-out x2, 27 fragments", `query { ...F0 }\n${fragmentChain(27, (i) => `...F${i + 1} ...F${i + 1}`)}`);
  add("fan-out x2 under tenant, 27 fragments", `query { tenant { ...F0 } }\n${fragmentChain(27, (i) => `...F${i + 1} ...F${i + 1}`)}`);
  // The same as long as the document allows (about 1,800 fragments).
  add("fan-out x2, document-sized", `query { ...F0 }\n${fragmentChain(fitting(40, 11), (i) => `...F${i + 1} ...F${i + 1}`)}`);
  // Aliased fields around each spread: the expansion is real output, not merged spreads.
  add(
    "fan-out x2 with aliases",
    `query { ...F0 }\n${fragmentChain(40, (i) => `a${i}: flow { id } ...F${i + 1} b${i}: flow { id } ...F${i + 1}`)}`,
  );
  // Fan-out inside nested fields and inline fragments (depth grows by one per fragment).
  add("fan-out x2 nested", `query { ...F0 }\n${fragmentChain(14, (i) => `x { ...F${i + 1} } y { ... on T { ...F${i + 1} } }`)}`);
  // Dense fragment graph: fragment i spreads every fragment after it (about n^2/2 spreads, each checked once).
  {
    const n = 100;
    const body = (i: number) => Array.from({ length: n - i - 1 }, (_, k) => `...F${i + k + 1}`).join(" ");
    add("dense fragment graph (every fragment spreads all later ones)", `query { ...F0 }\n${fragmentChain(n, body)}`);
  }
  // A long chain of single spreads: deep recursion through fragments, no depth.
  add("fragment chain", `query { ...F0 }\n${fragmentChain(fitting(32, 9), (i) => `...F${i + 1}`)}`);
  // Cycles: a long chain closing on itself, and a fragment reaching itself through an inline fragment.
  add(
    "fragment cycle (long)",
    `query { ...F0 }\n${fragmentChain(fitting(32, 9), (i) => `...F${i + 1}`)}`.replace(/\{ id \}$/, "{ ...F0 }"),
  );
  add(
    "fragment cycle through inline fragment",
    "query { ...A } fragment A on Query { ... on Query { flow { ...B } } } fragment B on flow { ... { ...A } }",
  );
  // Deep nesting as far as the tokens allow: fields, inline fragments (no depth, but nested walks), list values.
  {
    const levels = 7_000;
    add("deep fields", `query { ${"a { ".repeat(levels)}b${" }".repeat(levels)} }`);
    add("deep inline fragments", `query { ${"... { ".repeat(levels / 2)}b${" }".repeat(levels / 2)} }`);
    add("deep list value", `query { flow(where: ${"[".repeat(levels)}1${"]".repeat(levels)}) { id } }`);
    // Just under the nesting limit: 15 fields deep (14 and a leaf), each in an inline fragment, inside a 60-deep value.
    add(
      "deep but within the nesting limit",
      `query { ${"... { a { ".repeat(14)}b(v: ${"[".repeat(60)}1${"]".repeat(60)})${" } }".repeat(14)} }`,
    );
  }
  add(
    "many aliases",
    fill("query { ", (i) => `a${i}: flow { id }`, " }", 6),
  );
  add(
    "many repeated fields (one key)",
    fill("query { ", () => "flow { id }", " }", 4),
  );
  add(
    "many directives",
    fill("query { flow ", () => "@include(if: true)", " { id } }", 7),
  );
  add(
    "many tokens",
    fill("query { flow(where: {id: {_in: [", () => "1", "]}}) { id } }", 1, ","),
  );
  add("too many tokens", `query { flow(where: {id: {_in: [${"1,".repeat(30_000)}]}}) { id } }`);
  add("long string", `query { flow(where: {name: {_eq: "${"x".repeat(DOCUMENT_BYTES - 100)}"}}) { id } }`);
  add("long block string", `query { flow(where: {name: {_eq: """${"x\\n".repeat((DOCUMENT_BYTES - 100) / 3)}"""}}) { id } }`);
  add("long comment", `# ${"x".repeat(DOCUMENT_BYTES - 100)}\nquery { flow { id } }`);
  add(
    "many variables",
    fill("query Q(", (i) => `$v${i}: Int`, ") { flow { id } }", 4, ", "),
    "Q",
  );
  {
    const doc = fill("", (i) => `query Q${i} { flow { id } }`, "", 8, "\n");
    const last = doc.slice(doc.lastIndexOf("query Q") + 6).split(" ")[0]!;
    add("many operations, operationName picks the last", doc, last);
    add("many operations, operationName picks none", doc, "Nope");
  }
  add(
    "many fragments never spread",
    fill("query { flow { id } } ", (i) => `fragment U${i} on Query { id }`, "", 7),
  );
  return shapes;
}
