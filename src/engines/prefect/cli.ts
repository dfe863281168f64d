/**
 * Answers for the Prefect CLI's identity questions, given by the gateway itself (the replaced proxy did the same):
 * `auth_info` (what `prefect auth login -k <key>` checks) and `tenant` (what the client reads its tenant from).
 * Decided on the parsed operation, never by substring. Pure.
 */
import { Kind, type FieldNode, type FragmentDefinitionNode, type ObjectValueNode, type SelectionSetNode } from "graphql";
import type { Operation, OperationAst } from "./policy";

export interface PrefectTenant {
  id: string;
  name: string;
  slug: string;
}

type Value = null | string | number | boolean | Value[] | { [k: string]: Value };

const LOCAL_ROOTS = ["auth_info", "tenant"] as const;

/** Which local answer an operation is, if it is one: a query whose root fields are only one of the two. */
export function localRoot(op: Operation): (typeof LOCAL_ROOTS)[number] | null {
  if (op.type !== "query") return null;
  const fields = op.rootFields.filter((f) => f !== "__typename");
  for (const root of LOCAL_ROOTS) if (fields.length > 0 && fields.every((f) => f === root)) return root;
  return null;
}

/** Picks a field's value given its arguments (the root's `tenant(where: ...)`); nested fields take theirs as is. */
type Pick = (field: FieldNode, value: Value) => Value;

function resolve(set: SelectionSetNode, source: { [k: string]: Value }, typename: string, fragments: Map<string, FragmentDefinitionNode>, out: { [k: string]: Value } = {}, pick?: Pick): { [k: string]: Value } {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      const key = sel.alias?.value ?? sel.name.value;
      const name = sel.name.value;
      if (name === "__typename") {
        out[key] = typename;
        continue;
      }
      const raw = source[name] ?? null;
      const v = pick ? pick(sel, raw) : raw;
      out[key] = sel.selectionSet && v !== null ? shape(sel.selectionSet, v, name, fragments) : v;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      resolve(sel.selectionSet, source, typename, fragments, out, pick);
    } else {
      const frag = fragments.get(sel.name.value);
      if (frag) resolve(frag.selectionSet, source, typename, fragments, out, pick);
    }
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
        const wanted = op.value.kind === Kind.STRING ? op.value.value : op.value.kind === Kind.VARIABLE ? variables[op.value.name.value] : undefined;
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

/**
 * The variables of each request in a body (or GET parameters), for the local answers: an object, or an object
 * encoded as a JSON string (the 1.x Python client sends `"variables": "{\"slug\": \"x\"}"`). Anything else is none.
 */
export function requestVariables(method: string, body: string, params: URLSearchParams): Record<string, unknown>[] {
  const asObject = (raw: unknown): Record<string, unknown> => {
    let v = raw;
    if (typeof v === "string") {
      try {
        v = JSON.parse(v);
      } catch {
        return {};
      }
    }
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  };
  if (method === "GET") return [asObject(params.get("variables"))];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return []; // application/graphql: the body is the document, there are no variables
  }
  const variablesOf = (r: unknown) => asObject(r && typeof r === "object" ? (r as Record<string, unknown>).variables : undefined);
  return Array.isArray(parsed) ? parsed.map(variablesOf) : [variablesOf(parsed)];
}

function shape(set: SelectionSetNode, v: Value, typename: string, fragments: Map<string, FragmentDefinitionNode>): Value {
  if (Array.isArray(v)) return v.map((item) => shape(set, item, typename, fragments));
  if (v && typeof v === "object") return resolve(set, v, typename, fragments);
  return v;
}

/** The `data` of the answer to a local operation. */
export function localAnswer(op: OperationAst, tenant: PrefectTenant, subject: string, variables: Record<string, unknown> = {}): { [k: string]: Value } {
  const root: { [k: string]: Value } = {
    auth_info: { tenant_id: tenant.id, user_id: subject, api_token_scope: null, license_id: null },
    tenant: [{ id: tenant.id, name: tenant.name, slug: tenant.slug }],
  };
  return resolve(op.node.selectionSet, root, "Query", op.fragments, {}, pickTenant(tenant, variables));
}
