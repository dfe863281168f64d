/**
 * The Prefect GraphQL guard's decisions. Pure: a request's text in, a decision out; no I/O, no clock.
 *
 * Everything is decided on the parsed document (graphql-js), never on substrings: the operation the server will
 * execute is the one `operationName` picks (or the only one), and every root field it selects, through aliases,
 * inline fragments and fragment spreads, needs a scope `<operation type>/<real field name>`.
 */
import {
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { GRAPHQL_VALUE_NESTING, type GraphQLLimits } from "../../constants";
import { hasScope } from "../../formats/scopes";
import { allow, refuse, type Refused, type Verdict } from "../../verdict";

export type { GraphQLLimits };

export type OperationType = "query" | "mutation" | "subscription";

/** One GraphQL request (one element of a batch), as the client sent it. */
export interface GraphQLRequest {
  query: string;
  operationName: string | null;
  /** The client asked for a persisted query by this hash (Apollo APQ). */
  persistedQueryHash: string | null;
  /** The request's variables as parsed (an object; sent as a JSON string by the 1.x client); none if absent. */
  variables?: Record<string, unknown>;
}

/** What the guard needs to know of an operation: small, and the same for every caller (so it can be cached). */
export interface Operation {
  type: OperationType;
  name: string | null;
  /** Real names of every root field the operation selects, in document order, without repeats. */
  rootFields: string[];
  /** The same fields with how many times each runs (distinct response keys, i.e. aliases), for weighing them. */
  rootFieldUses: RootFieldUse[];
  /** Fields of the whole selection with every fragment expanded (see `measureOperation`). */
  cost: number;
  /** `type/field` scopes the operation needs (introspection mapped to `query/__schema`, `__typename` dropped). */
  requiredScopes: string[];
}

/** A document's analysis: independent of who asks, so it may be cached by the document's text. */
export type Analysis = Verdict<Operation>;

/**
 * A decision for one caller. A refusal made on an analysed operation names it: the audit trail records a refused
 * mutation, and the rate limit weighs it. A refusal carries the refused fields in `details.refusedFields`.
 */
export type Decision = Verdict<Operation> | (Refused & { readonly operation: Operation });

/** The operation a decision was made on, allowed or refused; undefined when the document never got that far. */
export const decidedOperation = (d: Decision): Operation | undefined => (d.ok ? d.value : "operation" in d ? d.operation : undefined);

/** The fields a refusal names (the UI shows them), if any. */
export const refusedFieldsOf = (r: Refused): string[] | undefined => r.details?.refusedFields as string[] | undefined;

/** The executed operation's AST and the document's fragments (for answering an operation locally). */
export interface OperationAst {
  node: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
}

/**
 * How deeply brackets may nest in a document: selections up to the depth limit, each possibly inside an inline
 * fragment, plus room for argument values (objects and lists). Checked on the text before parsing, so that neither
 * graphql-js's recursive parser, nor our walks, nor the upstream's parser ever recurse deeper than this: without
 * it a document of thousands of `[` or `... {` is accepted or refused depending on how much stack the JIT left.
 */
export const maxNesting = (limits: GraphQLLimits): number => 2 * limits.maxDepth + GRAPHQL_VALUE_NESTING;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isLineEnd = (c: number) => c === 0x0a || c === 0x0d;

/**
 * Whether brackets nest deeper than `limit` in a document, outside strings, block strings and comments (read as
 * GraphQL's lexer reads them). Every recursion of graphql-js's parser opens a bracket, so a document passing this
 * cannot make it (or any later walk, or the upstream's parser) recurse deeper. Hand-written because it is one
 * pass over the characters: about 70 µs on a 20 KB document against 520 µs for graphql-js's own Lexer, which
 * allocates a token each (test/fuzz/graphql.fuzz.test.ts checks both count alike). Malformed strings are the
 * parser's to refuse.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      // { [ (
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      if (depth > 0) depth--;
    } else if (c === 0x23) {
      // A comment runs to the end of the line.
      while (i + 1 < n && !isLineEnd(text.charCodeAt(i + 1))) i++;
    } else if (c === QUOTE) {
      if (text.charCodeAt(i + 1) === QUOTE && text.charCodeAt(i + 2) === QUOTE) {
        // Block string: ends at the first """ not escaped as \""" (a backslash escapes nothing else).
        for (i += 3; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d === QUOTE && text.charCodeAt(i + 1) === QUOTE && text.charCodeAt(i + 2) === QUOTE) {
            i += 2;
            break;
          }
          if (d === BACKSLASH && text.startsWith('"""', i + 1)) i += 3;
        }
      } else {
        // String: ends at an unescaped quote (or, malformed, at the line's end).
        for (i++; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d === BACKSLASH) i++;
          else if (d === QUOTE || isLineEnd(d)) break;
        }
      }
    }
  }
  return false;
}

/** Parses a document within the limits; a refusal when it is too large, too deep or not GraphQL. */
export function parseDocument(query: string, limits: GraphQLLimits): Verdict<DocumentNode> {
  if (query.length > limits.maxDocumentBytes)
    return refuse(`query document larger than ${limits.maxDocumentBytes} bytes`, "LIMIT_EXCEEDED");
  const deepest = maxNesting(limits);
  if (nestsDeeperThan(query, deepest)) return refuse(`brackets nested deeper than ${deepest}`, "LIMIT_EXCEEDED");
  try {
    return allow(parse(query, { noLocation: true, maxTokens: limits.maxTokens }));
  } catch (err) {
    const message = err instanceof GraphQLError ? err.message : "query is not valid GraphQL";
    // graphql-js stops at maxTokens with "Document contains more that N tokens" (sic).
    if (/contains more th(?:an|at) \d+ tokens/.test(message))
      return refuse(`query document has more than ${limits.maxTokens} tokens`, "LIMIT_EXCEEDED");
    return refuse(`invalid GraphQL: ${message.slice(0, 200)}`);
  }
}

/**
 * Counts aliases and directives over the document's text: each operation, variable, fragment and selection once,
 * spreads NOT followed, so the count is linear in the document (what a spread multiplies is the cost's business).
 */
function countAliasesAndDirectives(doc: DocumentNode, limits: GraphQLLimits): Verdict {
  // Aliases and directives only sit on operations, variables, fragments and selections: walk just those.
  let aliases = 0;
  let directives = 0;
  const walk = (set: SelectionSetNode | undefined): void => {
    if (!set) return;
    for (const sel of set.selections) {
      directives += sel.directives?.length ?? 0;
      if (sel.kind === Kind.FIELD) {
        if (sel.alias) aliases++;
        walk(sel.selectionSet);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
    }
  };
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION && def.kind !== Kind.FRAGMENT_DEFINITION) continue;
    directives += def.directives?.length ?? 0;
    if (def.kind === Kind.OPERATION_DEFINITION) for (const v of def.variableDefinitions ?? []) directives += v.directives?.length ?? 0;
    walk(def.selectionSet);
  }
  if (aliases > limits.maxAliases) return refuse(`more than ${limits.maxAliases} aliases`, "LIMIT_EXCEEDED");
  if (directives > limits.maxDirectives) return refuse(`more than ${limits.maxDirectives} directives`, "LIMIT_EXCEEDED");
  return allow();
}

/** Costs at least this large are all "too large": sums stop here instead of losing precision or reaching Infinity. */
const SATURATED_COST = Number.MAX_SAFE_INTEGER;
const addCost = (a: number, b: number): number => Math.min(a + b, SATURATED_COST);

/** What a selection set amounts to once expanded; a fragment's is computed once and reused at every spread. */
interface Extent {
  /** Nesting of fields (fragments and inline fragments add none). */
  depth: number;
  /** Fields, every spread expanded where it sits (saturating). */
  cost: number;
}

export type Measure =
  | { ok: true; depth: number; cost: number /** Selections looked at: each selection of the document at most once. */; visits: number }
  | { ok: false; unknownFragment?: string; cycle?: string; visits: number };

/**
 * Depth and cost of the executed operation's selection as the server expands it, in ONE walk linear in the
 * document: each fragment is measured the first time it is spread and its extent remembered, so a fragment spread
 * twice by each of 30 fragments takes 60 visits, not 2^30 (and is then refused on its cost, 2^29 fields). A spread
 * reaching a fragment still being measured is a cycle; a spread of an undefined fragment is named.
 * @skip / @include are ignored: a field counts whatever the variables say.
 */
export function measureOperation(op: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>): Measure {
  const extents = new Map<string, Extent>();
  const measuring = new Set<string>();
  let visits = 0;
  let failure: { unknownFragment?: string; cycle?: string } | null = null;
  const none: Extent = { depth: 0, cost: 0 };

  const fragmentExtent = (name: string): Extent => {
    const known = extents.get(name);
    if (known) return known;
    const def = fragments.get(name);
    if (!def) {
      failure = { unknownFragment: name };
      return none;
    }
    if (measuring.has(name)) {
      failure = { cycle: name };
      return none;
    }
    measuring.add(name);
    const extent = setExtent(def.selectionSet);
    measuring.delete(name);
    extents.set(name, extent);
    return extent;
  };

  function setExtent(set: SelectionSetNode): Extent {
    let depth = 0;
    let cost = 0;
    for (const sel of set.selections) {
      visits++;
      let inner: Extent;
      if (sel.kind === Kind.FIELD) {
        const sub = sel.selectionSet ? setExtent(sel.selectionSet) : none;
        inner = { depth: sub.depth + 1, cost: addCost(sub.cost, 1) };
      } else if (sel.kind === Kind.INLINE_FRAGMENT) inner = setExtent(sel.selectionSet);
      else inner = fragmentExtent(sel.name.value);
      if (failure) return none;
      depth = Math.max(depth, inner.depth);
      cost = addCost(cost, inner.cost);
    }
    return { depth, cost };
  }

  const extent = setExtent(op.selectionSet);
  return failure
    ? { ok: false, ...(failure as { unknownFragment?: string; cycle?: string }), visits }
    : { ok: true, depth: extent.depth, cost: extent.cost, visits };
}

/** One root field as executed: its real name and how many response keys (aliases) run it. */
export interface RootFieldUse {
  name: string;
  responseKeys: number;
}

/**
 * Every root field an operation selects, by real name, as GraphQL collects them: aliases resolved, inline
 * fragments and fragment spreads followed (each fragment once, as the server merges repeated spreads, so this is
 * linear and cycles end). Directives such as @skip do not hide a field: it counts. Each field comes with the
 * number of distinct response keys selecting it (`a: flow b: flow` runs flow twice; `flow flow` once).
 */
export function collectRootFields(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): { fields: string[]; uses: RootFieldUse[] } | { unknownFragment: string } {
  const keysByField = new Map<string, Set<string>>();
  const visited = new Set<string>();
  const walk = (s: SelectionSetNode): string | null => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        let keys = keysByField.get(name);
        if (!keys) keysByField.set(name, (keys = new Set()));
        keys.add(sel.alias?.value ?? name);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const r = walk(sel.selectionSet);
        if (r) return r;
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag) return name;
        if (visited.has(name)) continue;
        visited.add(name);
        const r = walk(frag.selectionSet);
        if (r) return r;
      }
    }
    return null;
  };
  const unknown = walk(set);
  if (unknown) return { unknownFragment: unknown };
  const uses = [...keysByField].map(([name, keys]) => ({ name, responseKeys: keys.size }));
  return { fields: uses.map((u) => u.name), uses };
}

/** The scope a root field needs; null for `__typename`, which anyone may ask. */
export function scopeForRootField(type: OperationType, field: string): string | null {
  if (field === "__typename") return null;
  if (field === "__schema" || field === "__type") return "query/__schema";
  return `${type}/${field}`;
}

/** Picks the operation the server would execute. */
export function selectOperation(document: DocumentNode, operationName: string | null): Verdict<OperationDefinitionNode> {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const others = document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION);
  if (others.length > 0) return refuse("only operations and fragments may be sent");
  if (ops.length === 0) return refuse("the document has no operation");
  if (operationName !== null) {
    const named = ops.filter((o) => o.name?.value === operationName);
    if (named.length !== 1) return refuse(named.length ? "operation names must be unique" : "operationName matches no operation");
    return allow(named[0]!);
  }
  if (ops.length > 1) return refuse("several operations and no operationName");
  return allow(ops[0]!);
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) {
      if (fragments.has(d.name.value)) return null;
      fragments.set(d.name.value, d);
    }
  }
  return fragments;
}

/**
 * Parses a request's document and finds what its executed operation asks for: the expensive, caller-independent
 * half of a decision. Refuses what no caller may send (malformed, over a limit, ambiguous).
 */
export function analyzeRequest(req: GraphQLRequest, limits: GraphQLLimits): Analysis {
  return analyzeDocument(req, limits).analysis;
}

/** A request's analysis and, when it is valid, the executed operation's AST: the document parsed once. */
export interface Parsed {
  analysis: Analysis;
  ast: OperationAst | null;
}

/** `analyzeRequest`, keeping the parsed operation for what follows (local answers, the forwarded document). */
export function analyzeDocument(req: GraphQLRequest, limits: GraphQLLimits): Parsed {
  const analysis = analyzeParsed(req, limits);
  return analysis.ok ? { analysis: allow(analysis.value.operation), ast: analysis.value.ast } : { analysis, ast: null };
}

function analyzeParsed(req: GraphQLRequest, limits: GraphQLLimits): Verdict<{ operation: Operation; ast: OperationAst }> {
  if (req.query.trim() === "") {
    if (req.persistedQueryHash) return refuse("persisted queries are not supported: send the query text", "PERSISTED_QUERY_NOT_SUPPORTED");
    return refuse("missing query");
  }
  const parsed = parseDocument(req.query, limits);
  if (!parsed.ok) return parsed;
  const document = parsed.value;
  const fragments = fragmentsOf(document);
  if (!fragments) return refuse("fragment names must be unique");
  const selected = selectOperation(document, req.operationName);
  if (!selected.ok) return selected;
  const node = selected.value;
  const counted = countAliasesAndDirectives(document, limits);
  if (!counted.ok) return counted;
  let measure: Measure;
  try {
    measure = measureOperation(node, fragments);
  } catch (err) {
    // Fragments chained deeper than the stack (only reachable with GRAPHQL_MAX_TOKENS raised far above its default).
    if (err instanceof RangeError) return refuse("fragments nested too deeply", "LIMIT_EXCEEDED");
    throw err;
  }
  if (!measure.ok) {
    if (measure.cycle !== undefined) return refuse("fragments form a cycle");
    return refuse(`unknown fragment ${(measure.unknownFragment ?? "").slice(0, 100)}`);
  }
  if (measure.depth > limits.maxDepth) return refuse(`selection deeper than ${limits.maxDepth}`, "LIMIT_EXCEEDED");
  if (measure.cost > limits.maxCost)
    return refuse(`selection costs more than ${limits.maxCost} fields once fragments are expanded`, "LIMIT_EXCEEDED");
  const collected = collectRootFields(node.selectionSet, fragments);
  if ("unknownFragment" in collected) return refuse(`unknown fragment ${collected.unknownFragment.slice(0, 100)}`);
  const type = node.operation as OperationType;
  const requiredScopes = [...new Set(collected.fields.map((f) => scopeForRootField(type, f)).filter((s): s is string => s !== null))];
  return allow({
    operation: {
      type,
      name: node.name?.value ?? null,
      rootFields: collected.fields,
      rootFieldUses: collected.uses,
      cost: measure.cost,
      requiredScopes,
    },
    ast: { node, fragments },
  });
}

/**
 * Decides an analysed operation for a holder of `scopes`: allowed only if every root field is in scope; refused
 * fields are named so the UI can show them. Mutations and subscriptions must come by POST.
 */
export function authorizeOperation(operation: Operation, scopes: readonly string[], method: "GET" | "POST"): Decision {
  if (method === "GET" && operation.type !== "query") {
    return { ...refuse(`a ${operation.type} must be sent with POST`, "METHOD_NOT_ALLOWED"), operation };
  }
  const refusedFields = operation.requiredScopes.filter((s) => !hasScope(scopes, s));
  if (refusedFields.length > 0) return { ...refuse(`not allowed: ${refusedFields.join(", ")}`, "FORBIDDEN", { refusedFields }), operation };
  return allow(operation);
}

/** The executed operation's AST, for a request already analysed as valid. */
export function operationAst(req: GraphQLRequest, limits: GraphQLLimits): OperationAst | null {
  const parsed = parseDocument(req.query, limits);
  if (!parsed.ok) return null;
  const fragments = fragmentsOf(parsed.value);
  const selected = selectOperation(parsed.value, req.operationName);
  if (!fragments || !selected.ok) return null;
  return { node: selected.value, fragments };
}
