/**
 * Answers for the Prefect CLI's identity questions, given by the gateway itself (the replaced proxy did the same):
 * `auth_info` (what `prefect auth login -k <key>` checks) and `tenant` (what the client reads its tenant from).
 * Decided on the parsed operation, never by substring. Pure.
 */
import { Kind, type FragmentDefinitionNode, type SelectionSetNode } from "graphql";
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

function resolve(set: SelectionSetNode, source: { [k: string]: Value }, typename: string, fragments: Map<string, FragmentDefinitionNode>, out: { [k: string]: Value } = {}): { [k: string]: Value } {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      const key = sel.alias?.value ?? sel.name.value;
      const name = sel.name.value;
      if (name === "__typename") {
        out[key] = typename;
        continue;
      }
      const v = source[name] ?? null;
      out[key] = sel.selectionSet && v !== null ? shape(sel.selectionSet, v, name, fragments) : v;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      resolve(sel.selectionSet, source, typename, fragments, out);
    } else {
      const frag = fragments.get(sel.name.value);
      if (frag) resolve(frag.selectionSet, source, typename, fragments, out);
    }
  }
  return out;
}

function shape(set: SelectionSetNode, v: Value, typename: string, fragments: Map<string, FragmentDefinitionNode>): Value {
  if (Array.isArray(v)) return v.map((item) => shape(set, item, typename, fragments));
  if (v && typeof v === "object") return resolve(set, v, typename, fragments);
  return v;
}

/** The `data` of the answer to a local operation. */
export function localAnswer(op: OperationAst, tenant: PrefectTenant, subject: string): { [k: string]: Value } {
  const root: { [k: string]: Value } = {
    auth_info: { tenant_id: tenant.id, user_id: subject, api_token_scope: null, license_id: null },
    tenant: [{ id: tenant.id, name: tenant.name, slug: tenant.slug }],
  };
  return resolve(op.node.selectionSet, root, "Query", op.fragments);
}
