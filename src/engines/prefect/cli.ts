/**
 * Answers for the Prefect CLI's identity questions, given by the gateway itself (the replaced proxy did the same):
 * `auth_info` (what `prefect auth login -k <key>` checks) and `tenant` (what the client reads its tenant from).
 * Decided on the parsed operation, never by substring. Pure.
 */
import { Kind, type FieldNode, type FragmentDefinitionNode, type ObjectValueNode, type SelectionSetNode } from "graphql";
import type { Json } from "../../jsonValue";
import { refuse } from "../../verdict";
import { authorizeOperation, scopeForRootField, type Decision, type Operation, type OperationAst } from "./policy";

export interface PrefectTenant {
  id: string;
  name: string;
  slug: string;
}

type Value = Json;

/**
 * Root fields the gateway answers itself, to queries. Never forwarded in any operation: the upstream would answer
 * them for its own tenant (or list every tenant it holds), so no scope, not even `subscription/*`, lets them pass.
 */
export const LOCAL_ROOTS: readonly string[] = ["auth_info", "tenant"];

/** The root fields of an operation that only the gateway may answer. */
export function localFieldsOf(op: Operation): string[] {
  return op.rootFields.filter((f) => LOCAL_ROOTS.includes(f));
}

/** Root fields that only the upstream can answer (`__typename` can be answered anywhere). */
const upstreamFieldsOf = (op: Operation): string[] => op.rootFields.filter((f) => f !== "__typename" && !LOCAL_ROOTS.includes(f));

/**
 * Whether a whole request (one document, or every element of a batch) is answered here: only when it asks for
 * local fields, in queries, and nothing the upstream must answer (`__typename` aside). Any other request holding
 * local fields is refused by `decideOperation`, never split and never forwarded whole.
 */
export function answeredLocally(operations: readonly Operation[]): boolean {
  return (
    operations.some((op) => localFieldsOf(op).length > 0) &&
    operations.every((op) => upstreamFieldsOf(op).length === 0 && (op.type === "query" || localFieldsOf(op).length === 0))
  );
}

/**
 * One operation's decision once the request's destination is known. Answered here, local fields need a valid
 * credential and no scope (the answer is the gateway's own: the caller's tenant). Forwarded, an operation must not
 * hold local fields at all, whatever the caller's scopes: they would reach the upstream, which answers them for
 * its own tenant, so they are refused with 400 and named; everything else needs its scopes as always.
 */
export function decideOperation(op: Operation, scopes: readonly string[], method: "GET" | "POST", local: boolean): Decision {
  const localFields = localFieldsOf(op);
  if (local) {
    const localScopes = new Set(localFields.map((f) => scopeForRootField(op.type, f)));
    return authorizeOperation({ ...op, requiredScopes: op.requiredScopes.filter((s) => !localScopes.has(s)) }, scopes, method);
  }
  if (localFields.length > 0) {
    const them = localFields.length > 1 ? "them" : "it";
    const message =
      op.type === "query"
        ? `${localFields.join(", ")}: answered by the gateway itself, never sent with fields for Prefect; send ${them} alone`
        : `${localFields.join(", ")}: answered by the gateway itself, to queries only`;
    return { ...refuse(message, "BAD_REQUEST", { refusedFields: localFields.map((f) => `${op.type}/${f}`) }), operation: op };
  }
  return authorizeOperation(op, scopes, method);
}

/** Picks a field's value given its arguments (the root's `tenant(where: ...)`); nested fields take theirs as is. */
type Pick = (field: FieldNode, value: Value) => Value;

/**
 * Fields of `sets` by response key, collected as GraphQL does: inline fragments flattened, each fragment spread
 * followed once per collection (a repeated spread adds nothing), fields of one key merged. Linear in the document.
 */
function collectFields(sets: readonly SelectionSetNode[], fragments: Map<string, FragmentDefinitionNode>): Map<string, FieldNode[]> {
  const byKey = new Map<string, FieldNode[]>();
  const followed = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        const nodes = byKey.get(key);
        if (nodes) nodes.push(sel);
        else byKey.set(key, [sel]);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!followed.has(sel.name.value)) {
        followed.add(sel.name.value);
        const frag = fragments.get(sel.name.value);
        if (frag) walk(frag.selectionSet);
      }
    }
  };
  for (const set of sets) walk(set);
  return byKey;
}

/**
 * The answer's object for `sets` over `source`. Each response key is resolved once with its fields' selections
 * merged, so the work is the document's size times the (tiny, fixed) depth of the local data, however fragments
 * are spread.
 */
function resolve(
  sets: readonly SelectionSetNode[],
  source: { [k: string]: Value },
  typename: string,
  fragments: Map<string, FragmentDefinitionNode>,
  pick?: Pick,
): { [k: string]: Value } {
  // No prototype: a response key such as `__proto__` is then a key like any other.
  const out: { [k: string]: Value } = Object.create(null) as { [k: string]: Value };
  for (const [key, nodes] of collectFields(sets, fragments)) {
    const name = nodes[0]!.name.value;
    if (name === "__typename") {
      out[key] = typename;
      continue;
    }
    const raw = Object.hasOwn(source, name) ? source[name]! : null;
    // Fields merged under one key each pick: if any of their arguments selects nothing, nothing is selected.
    const v = pick ? nodes.reduce((value, node) => pick(node, value), raw) : raw;
    const subs = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
    out[key] = subs.length > 0 && v !== null ? shape(subs, v, name, fragments) : v;
  }
  return out;
}

/**
 * Whether a Hasura `where` could select the caller's tenant. Only what the CLI sends is read: `_eq` on `id`, `slug`
 * or `name` with a string, literal or variable (the login's `tenant(where: {id: {_eq: "..."}})`, switch-tenants'
 * `tenant(where: {slug: {_eq: $slug}})`), inside `_and` too. A value naming another tenant selects nothing;
 * anything not understood (other operators, a whole `where` in a variable) leaves the caller's own tenant, the only
 * one there is to see.
 */
function mayMatch(where: ObjectValueNode, tenant: PrefectTenant, variables: Record<string, unknown>): boolean {
  for (const f of where.fields) {
    const column = f.name.value;
    if (column === "_and") {
      const parts = f.value.kind === Kind.LIST ? f.value.values : [f.value];
      if (parts.some((p) => p.kind === Kind.OBJECT && !mayMatch(p, tenant, variables))) return false;
    } else if ((column === "id" || column === "slug" || column === "name") && f.value.kind === Kind.OBJECT) {
      for (const op of f.value.fields) {
        if (op.name.value !== "_eq") continue;
        const wanted =
          op.value.kind === Kind.STRING ? op.value.value : op.value.kind === Kind.VARIABLE ? variables[op.value.name.value] : undefined;
        if (typeof wanted !== "string") continue;
        const own = tenant[column];
        if (column === "id" ? wanted.toLowerCase() !== own.toLowerCase() : wanted !== own) return false;
      }
    }
  }
  return true;
}

function pickTenant(tenant: PrefectTenant, variables: Record<string, unknown>): Pick {
  return (field, value) => {
    if (field.name.value !== "tenant") return value;
    const where = field.arguments?.find((a) => a.name.value === "where")?.value;
    return where?.kind === Kind.OBJECT && !mayMatch(where, tenant, variables) ? [] : value;
  };
}

function shape(sets: readonly SelectionSetNode[], v: Value, typename: string, fragments: Map<string, FragmentDefinitionNode>): Value {
  if (Array.isArray(v)) return v.map((item) => shape(sets, item, typename, fragments));
  if (v && typeof v === "object") return resolve(sets, v, typename, fragments);
  return v;
}

const ROOT_TYPENAMES = { query: "Query", mutation: "Mutation", subscription: "Subscription" } as const;

/** The `data` of the answer to a local operation. */
export function localAnswer(
  op: OperationAst,
  tenant: PrefectTenant,
  subject: string,
  variables: Record<string, unknown> = {},
): { [k: string]: Value } {
  const root: { [k: string]: Value } = {
    auth_info: { tenant_id: tenant.id, user_id: subject, api_token_scope: null, license_id: null },
    tenant: [{ id: tenant.id, name: tenant.name, slug: tenant.slug }],
  };
  return resolve([op.node.selectionSet], root, ROOT_TYPENAMES[op.node.operation], op.fragments, pickTenant(tenant, variables));
}
