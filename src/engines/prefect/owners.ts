/**
 * The pre-read of a write's ids: ONE query per HTTP request, through the same upstream, asking each named row's
 * tenant (`flow(where: {id: {_in: [...]}}) { id tenant_id }`, batched per table), and the check of its answer.
 * Pure (building the query, reading the answer); the route sends it and keeps each id's tenant briefly.
 */
import { Kind, print, type FieldNode, type ObjectFieldNode, type ValueNode } from "graphql";
import { isObj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import type { IdCheck } from "./rewrite";
import { TENANT_TABLES } from "./tenancy";

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const field = (n: string, args: { name: string; value: ValueNode }[] = [], fields: string[] = [], alias?: string): FieldNode => ({
  kind: Kind.FIELD,
  ...(alias ? { alias: name(alias) } : {}),
  name: name(n),
  arguments: args.map((a) => ({ kind: Kind.ARGUMENT, name: name(a.name), value: a.value })),
  ...(fields.length ? { selectionSet: { kind: Kind.SELECTION_SET, selections: fields.map((f) => field(f)) } } : {}),
});
const obj = (fields: [string, ValueNode][]): ValueNode => ({
  kind: Kind.OBJECT,
  fields: fields.map(([n, value]): ObjectFieldNode => ({ kind: Kind.OBJECT_FIELD, name: name(n), value })),
});

/** The checks still to read, grouped by table and column, in a stable order. */
function groups(checks: readonly IdCheck[]): { table: string; column: IdCheck["column"]; values: string[] }[] {
  const byKey = new Map<string, { table: string; column: IdCheck["column"]; values: Set<string> }>();
  for (const c of checks) {
    const key = `${c.table}.${c.column}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { table: c.table, column: c.column, values: new Set() }));
    g.values.add(c.value);
  }
  return [...byKey.values()].map((g) => ({ table: g.table, column: g.column, values: [...g.values].sort() }));
}

/** The pre-read's document: one aliased list per table and column. */
export function ownersQuery(checks: readonly IdCheck[]): string {
  const selections = groups(checks).map((g, i) =>
    field(
      g.table,
      [
        {
          name: "where",
          value: obj([[g.column, obj([["_in", { kind: Kind.LIST, values: g.values.map((v) => ({ kind: Kind.STRING, value: v })) }]])]]),
        },
      ],
      [g.column, TENANT_TABLES[g.table]!.tenantColumn],
      `t${i}`,
    ),
  );
  return print({
    kind: Kind.DOCUMENT,
    definitions: [{ kind: Kind.OPERATION_DEFINITION, operation: "query" as never, selectionSet: { kind: Kind.SELECTION_SET, selections } }],
  });
}

/** Each `table.column=value` the answer holds, with the tenants of its rows. */
export function ownersFromAnswer(checks: readonly IdCheck[], answer: unknown): Verdict<Map<string, Set<string>>> {
  if (!isObj(answer) || !isObj(answer.data) || (Array.isArray(answer.errors) && answer.errors.length > 0))
    return refuse("Prefect did not answer the gateway's check of the ids this request names", "UPSTREAM_UNAVAILABLE");
  const data = answer.data;
  const out = new Map<string, Set<string>>();
  const gs = groups(checks);
  for (let i = 0; i < gs.length; i++) {
    const g = gs[i]!;
    const rows = data[`t${i}`];
    if (!Array.isArray(rows)) return refuse("Prefect's answer to the gateway's check has no rows", "UPSTREAM_UNAVAILABLE");
    const tenantColumn = TENANT_TABLES[g.table]!.tenantColumn;
    for (const row of rows) {
      // A row that does not say both its value and its tenant proves nothing: skipped, it would let a version
      // group that may be new pass as one that holds no flow.
      if (!isObj(row) || typeof row[g.column] !== "string" || typeof row[tenantColumn] !== "string")
        return refuse("Prefect's answer to the gateway's check has a row without its tenant", "UPSTREAM_UNAVAILABLE");
      const value = row[g.column] as string;
      const key = `${g.table}.${g.column}=${g.column === "id" ? value.toLowerCase() : value}`;
      let tenants = out.get(key);
      if (!tenants) out.set(key, (tenants = new Set()));
      tenants.add((row[tenantColumn] as string).toLowerCase());
    }
  }
  return allow(out);
}

export const ownerKey = (c: IdCheck) => `${c.table}.${c.column}=${c.value}`;

/**
 * Whether every id is the caller's: found, and every row found in the caller's tenant (a version group must have
 * flows, all of them the caller's; one that may be new, none elsewhere). A refusal says the same for an id of another tenant and an id that does not
 * exist, so it tells nothing about other tenants.
 */
export function checkOwners(checks: readonly IdCheck[], owners: ReadonlyMap<string, ReadonlySet<string>>, tenantId: string): Verdict {
  const own = tenantId.toLowerCase();
  for (const c of checks) {
    const tenants = owners.get(ownerKey(c));
    if (c.mayBeNew && (!tenants || tenants.size === 0)) continue;
    if (!tenants || tenants.size === 0 || [...tenants].some((t) => t !== own))
      return refuse(`${c.where}: no ${c.table} ${c.value.slice(0, 100)} in your tenant`, "FORBIDDEN", {
        refusedFields: [c.where.split(" ")[0]!],
      });
  }
  return allow();
}
