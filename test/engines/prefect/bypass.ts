/**
 * Attempts to get past the GraphQL guard with a key holding only
 * `query/*, mutation/create_flow_run, mutation/cancel_flow_run, mutation/set_flow_run_states`.
 * Each must be refused; `status` is what the gateway must answer.
 */
export interface Bypass {
  name: string;
  status: number;
  /** JSON body (object or array), or raw text with `contentType`. */
  json?: unknown;
  text?: string;
  contentType?: string;
  method?: "GET" | "POST" | "PUT" | "DELETE";
  query?: Record<string, string>;
}

const create = 'create_flow_run(input: {flow_id: "x"}) { id }';

/** Fragments F0..F(n-1) on Query, each spreading the next twice: 2^n fields once expanded. */
const fanOut = (n: number) =>
  Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ${i === n - 1 ? "__typename" : `...F${i + 1} ...F${i + 1}`} }`).join(" ");

export const BYPASSES: Bypass[] = [
  // Second root field and aliases
  {
    name: "second root field after an allowed one",
    status: 403,
    json: { query: `mutation { ${create} delete_flow(input: {flow_id: "x"}) { success } }` },
  },
  {
    name: "forbidden field aliased as an allowed one",
    status: 403,
    json: { query: `mutation { create_flow_run: delete_flow(input: {flow_id: "x"}) { success } }` },
  },
  {
    name: "alias chain",
    status: 403,
    json: { query: `mutation { a: create_flow_run(input:{flow_id:"x"}){id} b: delete_project(input:{project_id:"p"}){success} }` },
  },
  {
    name: "forbidden field first, allowed second",
    status: 403,
    json: { query: `mutation { delete_flow(input: {flow_id: "x"}) { success } ${create} }` },
  },
  // Fragments
  {
    name: "inline fragment on Mutation",
    status: 403,
    json: { query: `mutation { ... on Mutation { delete_flow(input: {flow_id: "x"}) { success } } }` },
  },
  {
    name: "inline fragment without type",
    status: 403,
    json: { query: `mutation { ... { delete_flow(input: {flow_id: "x"}) { success } } }` },
  },
  {
    name: "fragment spread on Mutation",
    status: 403,
    json: { query: `mutation M { ...F } fragment F on Mutation { delete_flow(input: {flow_id: "x"}) { success } }` },
  },
  {
    name: "nested fragment spreads",
    status: 403,
    json: {
      query: `mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { delete_project(input:{project_id:"p"}){success} }`,
    },
  },
  {
    name: "fragment defined before the operation",
    status: 403,
    json: { query: `fragment F on Mutation { delete_flow(input: {flow_id: "x"}) { success } } mutation { ${create} ...F }` },
  },
  {
    name: "inline fragment with @include(if:false)",
    status: 403,
    json: { query: `mutation { ${create} ... @include(if: false) { delete_flow(input: {flow_id: "x"}) { success } } }` },
  },
  {
    name: "field with @skip(if:true)",
    status: 403,
    json: { query: `mutation { ${create} delete_flow(input: {flow_id: "x"}) @skip(if: true) { success } }` },
  },
  {
    name: "fragment cycle",
    status: 400,
    json: { query: `mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { ...A }` },
  },
  { name: "unknown fragment", status: 400, json: { query: `mutation { ${create} ...Missing }` } },
  {
    name: "duplicate fragment names",
    status: 400,
    json: {
      query: `mutation { ...F } fragment F on Mutation { ${create} } fragment F on Mutation { delete_flow(input:{flow_id:"x"}){success} }`,
    },
  },
  // Several operations
  {
    name: "two operations, no operationName",
    status: 400,
    json: { query: `query Q { flow { id } } mutation M { delete_flow(input: {flow_id: "x"}) { success } }` },
  },
  {
    name: "mutation after a query, picked by operationName",
    status: 403,
    json: { query: `query Q { flow { id } } mutation M { delete_flow(input: {flow_id: "x"}) { success } }`, operationName: "M" },
  },
  { name: "operationName naming nothing", status: 400, json: { query: `query Q { flow { id } }`, operationName: "Nope" } },
  {
    name: "duplicate operation names",
    status: 400,
    json: { query: `mutation M { ${create} } mutation M { delete_flow(input:{flow_id:"x"}){success} }`, operationName: "M" },
  },
  {
    name: "anonymous mutation beside a named query",
    status: 400,
    json: { query: `query Q { flow { id } } mutation { delete_flow(input:{flow_id:"x"}){success} }` },
  },
  // Batches
  {
    name: "batch mixing allowed and forbidden",
    status: 403,
    json: [{ query: `query { flow { id } }` }, { query: `mutation { delete_flow(input: {flow_id: "x"}) { success } }` }],
  },
  { name: "batch with a malformed element", status: 400, json: [{ query: `query { flow { id } }` }, { query: `mutation {` }] },
  { name: "batch with a non-object element", status: 400, json: [{ query: `query { flow { id } }` }, 42] },
  { name: "empty batch", status: 400, json: [] },
  { name: "oversized batch", status: 400, json: Array.from({ length: 26 }, () => ({ query: "{ flow { id } }" })) },
  // Comments and strings that mention allowed fields
  {
    name: "comment naming an allowed field",
    status: 403,
    json: { query: `mutation {\n # create_flow_run\n delete_flow(input: {flow_id: "x"}) { success } }` },
  },
  {
    name: "string argument naming an allowed field",
    status: 403,
    json: { query: `mutation { delete_flow(input: {flow_id: "create_flow_run"}) { success } }` },
  },
  {
    name: "operation named like an allowed field",
    status: 403,
    json: { query: `mutation create_flow_run { delete_flow(input: {flow_id: "x"}) { success } }` },
  },
  {
    name: "block string hiding nothing",
    status: 403,
    json: { query: `mutation { delete_flow(input: {flow_id: """create_flow_run"""}) { success } }` },
  },
  // Transport
  { name: "mutation over GET", status: 405, method: "GET", query: { query: `mutation { ${create} }` } },
  { name: "subscription over GET", status: 405, method: "GET", query: { query: `subscription { flow_run { id } }` } },
  { name: "PUT", status: 405, method: "PUT", json: { query: `{ flow { id } }` } },
  {
    name: "text/plain body",
    status: 415,
    text: `{"query":"mutation { delete_flow(input:{flow_id:\\"x\\"}){success} }"}`,
    contentType: "text/plain",
  },
  { name: "form body", status: 415, text: "query=mutation%20%7B%20delete_flow%20%7D", contentType: "application/x-www-form-urlencoded" },
  { name: "no content type", status: 415, text: `{"query":"{ flow { id } }"}`, contentType: "" },
  { name: "body that is not JSON", status: 400, text: "{query: mutation", contentType: "application/json" },
  // Repeated keys: the gateway decides on the value JSON.parse keeps (the last), which is the one Prefect 1.x's
  // Apollo server (JSON.parse too) executes; the bytes are forwarded as they are, so both read the same one.
  {
    name: "repeated query key, an allowed query first and the mutation last",
    status: 403,
    text: `{"query":"{ flow { id } }","query":"mutation { delete_flow(input:{flow_id:\\"x\\"}){success} }"}`,
    contentType: "application/json",
  },
  {
    name: "repeated operationName key, the allowed operation first",
    status: 403,
    text: `{"query":"query Q { flow { id } } mutation M { delete_flow(input:{flow_id:\\"x\\"}){success} }","operationName":"Q","operationName":"M"}`,
    contentType: "application/json",
  },
  { name: "missing query", status: 400, json: { operationName: "X" } },
  { name: "empty query", status: 400, json: { query: "   " } },
  { name: "query that is not a string", status: 400, json: { query: { mutation: "delete_flow" } } },
  { name: "invalid GraphQL", status: 400, json: { query: "mutation { delete_flow(" } },
  {
    name: "persisted-query hash without text",
    status: 400,
    json: { extensions: { persistedQuery: { version: 1, sha256Hash: "a".repeat(64) } } },
  },
  {
    name: "persisted-query hash not matching the text",
    status: 400,
    json: { query: "{ flow { id } }", extensions: { persistedQuery: { version: 1, sha256Hash: "b".repeat(64) } } },
  },
  {
    name: "application/graphql forbidden mutation",
    status: 403,
    text: `mutation { delete_flow(input:{flow_id:"x"}){success} }`,
    contentType: "application/graphql",
  },
  { name: "type definition sent as a document", status: 400, json: { query: "type Mutation { x: Int }" } },
  // Subscriptions and introspection
  { name: "subscription without scope", status: 403, json: { query: `subscription { flow_run { id } }` } },
  {
    name: "__typename beside a forbidden mutation field",
    status: 403,
    json: { query: `mutation { __typename delete_flow(input:{flow_id:"x"}){success} }` },
  },
  // Hasura CRUD names
  { name: "Hasura delete_flow_run", status: 403, json: { query: `mutation { delete_flow_run(where: {}) { affected_rows } }` } },
  { name: "Hasura insert_flow_one", status: 403, json: { query: `mutation { insert_flow_one(object: {}) { id } }` } },
  {
    name: "Hasura update_flow_run_by_pk",
    status: 403,
    json: { query: `mutation { update_flow_run_by_pk(pk_columns: {id: "x"}, _set: {state: "Success"}) { id } }` },
  },
  { name: "Hasura delete_tenant", status: 403, json: { query: `mutation { delete_tenant(where: {}) { affected_rows } }` } },
  // Size and shape limits
  { name: "deep document", status: 400, json: { query: `{ flow ${"{ a ".repeat(30)}${"} ".repeat(30)}}` } },
  { name: "too many aliases", status: 400, json: { query: `{ ${Array.from({ length: 70 }, (_, i) => `a${i}: flow { id }`).join(" ")} }` } },
  {
    name: "too many directives",
    status: 400,
    json: { query: `{ flow { ${Array.from({ length: 40 }, (_, i) => `f${i} @include(if: true)`).join(" ")} } }` },
  },
  { name: "too many tokens", status: 400, json: { query: `{ flow(where: {id: {_in: [${"1 ".repeat(16_000)}]}}) { id } }` } },
  { name: "document over the size limit", status: 400, json: { query: `{ flow { id } } # ${"x".repeat(70_000)}` } },
  // Fragments multiplying the selection: each spreads the next twice (1 KB, 2^26 fields once expanded)
  { name: "fragment fan-out", status: 400, json: { query: `query { ...F0 } ${fanOut(27)}` } },
  { name: "fragment fan-out under a locally answered root", status: 400, json: { query: `query { tenant { ...F0 } } ${fanOut(27)}` } },
  {
    name: "fragment fan-out on Mutation",
    status: 400,
    json: { query: `mutation { ${create} ...F0 } ${fanOut(27).replaceAll("on Query", "on Mutation")}` },
  },
  {
    name: "fragment reaching itself through an inline fragment",
    status: 400,
    json: { query: `mutation { ...A } fragment A on Mutation { ... on Mutation { ...A } }` },
  },
  {
    name: "spread of an unknown fragment below the root",
    status: 400,
    json: { query: `mutation { ${create.replace("{ id }", "{ id ...Missing }")} }` },
  },
  { name: "list value nested 5,000 deep", status: 400, json: { query: `{ flow(where: ${"[".repeat(5000)}1${"]".repeat(5000)}) { id } }` } },
  { name: "body over MAX_BODY_BYTES", status: 413, json: { query: "{ flow { id } }", pad: "x".repeat(1_100_000) } },
];
