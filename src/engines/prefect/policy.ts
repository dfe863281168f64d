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
import type { GraphQLLimits } from "../../constants";
import { hasScope } from "../../identity/scopes";

export type { GraphQLLimits };

export type OperationType = "query" | "mutation" | "subscription";

/** One GraphQL request (one element of a batch), as the client sent it. */
export interface GraphQLRequest {
  query: string;
  operationName: string | null;
  /** The client asked for a persisted query by this hash (Apollo APQ). */
  persistedQueryHash: string | null;
}

export type Refusal = {
  status: 400 | 403 | 405 | 413 | 415;
  code:
    | "BAD_REQUEST"
    | "FORBIDDEN"
    | "METHOD_NOT_ALLOWED"
    | "PERSISTED_QUERY_NOT_SUPPORTED"
    | "LIMIT_EXCEEDED"
    | "UNSUPPORTED_MEDIA_TYPE"
    | "PAYLOAD_TOO_LARGE";
  message: string;
  refusedFields?: string[];
};

/** What the guard needs to know of an operation: small, and the same for every caller (so it can be cached). */
export interface Operation {
  type: OperationType;
  name: string | null;
  /** Real names of every root field the operation selects, in document order, without repeats. */
  rootFields: string[];
  /** `type/field` scopes the operation needs (introspection mapped to `query/__schema`, `__typename` dropped). */
  requiredScopes: string[];
}

/** A document's analysis: independent of who asks, so it may be cached by the document's text. */
export type Analysis = { ok: true; operation: Operation } | { ok: false; refusal: Refusal };

export type Decision = { ok: true; operation: Operation } | { ok: false; refusal: Refusal; operation?: Operation };

/** The executed operation's AST and the document's fragments (for answering an operation locally). */
export interface OperationAst {
  node: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
}

const refuse = (status: Refusal["status"], code: Refusal["code"], message: string, extra: Partial<Refusal> = {}): Decision => ({
  ok: false,
  refusal: { status, code, message, ...extra },
});

/** Parses a document within the limits; null and a refusal when it is too large or not GraphQL. */
export function parseDocument(query: string, limits: GraphQLLimits): { document: DocumentNode } | { refusal: Refusal } {
  if (query.length > limits.maxDocumentBytes) {
    return { refusal: { status: 400, code: "LIMIT_EXCEEDED", message: `query document larger than ${limits.maxDocumentBytes} bytes` } };
  }
  try {
    return { document: parse(query, { noLocation: true, maxTokens: limits.maxTokens }) };
  } catch (err) {
    const message = err instanceof GraphQLError ? err.message : "query is not valid GraphQL";
    const tooMany = /token limit/i.test(message);
    return {
      refusal: {
        status: 400,
        code: tooMany ? "LIMIT_EXCEEDED" : "BAD_REQUEST",
        message: tooMany ? `query document has more than ${limits.maxTokens} tokens` : `invalid GraphQL: ${message.slice(0, 200)}`,
      },
    };
  }
}

/** Counts aliases and directives, and measures depth with fragments followed (cycles are refused). */
function checkShape(doc: DocumentNode, op: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, limits: GraphQLLimits): Refusal | null {
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
  if (aliases > limits.maxAliases) return { status: 400, code: "LIMIT_EXCEEDED", message: `more than ${limits.maxAliases} aliases` };
  if (directives > limits.maxDirectives) return { status: 400, code: "LIMIT_EXCEEDED", message: `more than ${limits.maxDirectives} directives` };

  let cycle = false;
  const depthOf = (set: SelectionSetNode | undefined, path: Set<string>): number => {
    if (!set) return 0;
    let max = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) max = Math.max(max, sel.selectionSet ? 1 + depthOf(sel.selectionSet, path) : 1);
      else if (sel.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, depthOf(sel.selectionSet, path));
      else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag) continue; // reported by collectRootFields
        if (path.has(name)) {
          cycle = true;
          continue;
        }
        path.add(name);
        max = Math.max(max, depthOf(frag.selectionSet, path));
        path.delete(name);
      }
      if (max > limits.maxDepth || cycle) return max;
    }
    return max;
  };
  const depth = depthOf(op.selectionSet, new Set());
  if (cycle) return { status: 400, code: "BAD_REQUEST", message: "fragments form a cycle" };
  if (depth > limits.maxDepth) return { status: 400, code: "LIMIT_EXCEEDED", message: `selection deeper than ${limits.maxDepth}` };
  return null;
}

/**
 * Every root field an operation selects, by real name: aliases are ignored, inline fragments and fragment spreads
 * are followed (each fragment once, so cycles end). Directives such as @skip do not hide a field: it counts.
 */
export function collectRootFields(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): { fields: string[] } | { unknownFragment: string } {
  const fields: string[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const walk = (s: SelectionSetNode): string | null => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (!seen.has(name)) {
          seen.add(name);
          fields.push(name);
        }
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
  return unknown ? { unknownFragment: unknown } : { fields };
}

/** The scope a root field needs; null for `__typename`, which anyone may ask. */
export function scopeForRootField(type: OperationType, field: string): string | null {
  if (field === "__typename") return null;
  if (field === "__schema" || field === "__type") return "query/__schema";
  return `${type}/${field}`;
}

/** Picks the operation the server would execute. */
export function selectOperation(
  document: DocumentNode,
  operationName: string | null,
): { operation: OperationDefinitionNode } | { refusal: Refusal } {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const others = document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION);
  if (others.length > 0) return { refusal: { status: 400, code: "BAD_REQUEST", message: "only operations and fragments may be sent" } };
  if (ops.length === 0) return { refusal: { status: 400, code: "BAD_REQUEST", message: "the document has no operation" } };
  if (operationName !== null) {
    const named = ops.filter((o) => o.name?.value === operationName);
    if (named.length !== 1) {
      return { refusal: { status: 400, code: "BAD_REQUEST", message: named.length ? "operation names must be unique" : "operationName matches no operation" } };
    }
    return { operation: named[0]! };
  }
  if (ops.length > 1) return { refusal: { status: 400, code: "BAD_REQUEST", message: "several operations and no operationName" } };
  return { operation: ops[0]! };
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
  if (req.query.trim() === "") {
    if (req.persistedQueryHash) return refuse(400, "PERSISTED_QUERY_NOT_SUPPORTED", "persisted queries are not supported: send the query text");
    return refuse(400, "BAD_REQUEST", "missing query");
  }
  const parsed = parseDocument(req.query, limits);
  if ("refusal" in parsed) return { ok: false, refusal: parsed.refusal };
  const document = parsed.document;
  const fragments = fragmentsOf(document);
  if (!fragments) return refuse(400, "BAD_REQUEST", "fragment names must be unique");
  const selected = selectOperation(document, req.operationName);
  if ("refusal" in selected) return { ok: false, refusal: selected.refusal };
  const node = selected.operation;
  const shape = checkShape(document, node, fragments, limits);
  if (shape) return { ok: false, refusal: shape };
  const collected = collectRootFields(node.selectionSet, fragments);
  if ("unknownFragment" in collected) return refuse(400, "BAD_REQUEST", `unknown fragment ${collected.unknownFragment.slice(0, 100)}`);
  const type = node.operation as OperationType;
  const requiredScopes = [...new Set(collected.fields.map((f) => scopeForRootField(type, f)).filter((s): s is string => s !== null))];
  return { ok: true, operation: { type, name: node.name?.value ?? null, rootFields: collected.fields, requiredScopes } };
}

/**
 * Decides an analysed operation for a holder of `scopes`: allowed only if every root field is in scope; refused
 * fields are named so the UI can show them. Mutations and subscriptions must come by POST.
 */
export function authorizeOperation(operation: Operation, scopes: readonly string[], method: "GET" | "POST"): Decision {
  if (method === "GET" && operation.type !== "query") {
    return { ok: false, operation, refusal: { status: 405, code: "METHOD_NOT_ALLOWED", message: `a ${operation.type} must be sent with POST` } };
  }
  const refusedFields = operation.requiredScopes.filter((s) => !hasScope(scopes, s));
  if (refusedFields.length > 0) {
    return {
      ok: false,
      operation,
      refusal: { status: 403, code: "FORBIDDEN", message: `not allowed: ${refusedFields.join(", ")}`, refusedFields },
    };
  }
  return { ok: true, operation };
}

/** `analyzeRequest` then `authorizeOperation`: the whole decision for one request. */
export function decideRequest(req: GraphQLRequest, scopes: readonly string[], limits: GraphQLLimits, method: "GET" | "POST"): Decision {
  const analysis = analyzeRequest(req, limits);
  return analysis.ok ? authorizeOperation(analysis.operation, scopes, method) : analysis;
}

/** The executed operation's AST, for a request already analysed as valid. */
export function operationAst(req: GraphQLRequest, limits: GraphQLLimits): OperationAst | null {
  const parsed = parseDocument(req.query, limits);
  if ("refusal" in parsed) return null;
  const fragments = fragmentsOf(parsed.document);
  const selected = selectOperation(parsed.document, req.operationName);
  if (!fragments || "refusal" in selected) return null;
  return { node: selected.operation, fragments };
}
