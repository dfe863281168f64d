/**
 * The document the upstream receives: the executed operation only, every fragment inlined where it is spread, and,
 * in multi-tenant mode, every read limited to the caller's tenant and every id a write names listed for checking.
 * Pure: the parsed operation, the request's variables and the tenant in, the gateway's own serialization out.
 *
 * Reads (./tenancy.ts says what is whose): each table's list and aggregate gets `where: {_and: [<client's where>,
 * {tenant_id: {_eq: T}}]}` (a `where` given through a variable gets the same, in the variable's re-encoded value);
 * `t_by_pk(id: X)` becomes `t(where: {_and: [{id: {_eq: X}}, <tenant>]}, limit: 1)` under the same response key,
 * and its answer is turned back into one object or null (`byPkKeys`); array relationships get the tenant's `where`
 * too; object relationships are followed only where the table says both ends share a tenant. Anything else is
 * refused, naming it.
 */
import {
  Kind,
  print,
  valueFromASTUntyped,
  type ArgumentNode,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type ObjectFieldNode,
  type ObjectValueNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import { PREFECT_COMPILED_TENANTS_MAX, UUID_PATTERN } from "../../constants";
import { isObj, type Json } from "../../jsonValue";
import { allow, refuse, type Refused, type Verdict } from "../../verdict";
import type { OperationAst } from "./policy";
import { APOLLO_FIELDS, LIST_ARGUMENTS, TENANT_TABLES, tableRoot, type NamedId } from "./tenancy";

/** An id (or version group) a request names, to be found in the caller's tenant before it is forwarded. */
export interface IdCheck {
  table: string;
  column: NamedId["column"];
  value: string;
  /** `mutation/delete_flow input.flow_id`: named in the refusal. */
  where: string;
  /** Naming nothing is allowed (a new version group); rows of another tenant are not. */
  mayBeNew?: boolean;
}

/** What goes upstream for one GraphQL request. */
export interface ForwardPlan {
  /** The gateway's printing of the executed operation. */
  query: string;
  /** `query` as a JSON string, encoded once per document (escaping a 30 KB document costs more than deciding it). */
  queryJson: string;
  operationName: string | null;
  /** The operation's variables only, re-encoded (and patched where a tenant clause or tenant id went in). */
  variables: Record<string, Json>;
  /** Response keys of `_by_pk` fields answered from the list form: each list becomes its first row or null. */
  byPkKeys: string[];
  checks: IdCheck[];
}

/** A refusal of the rewrite: always a 403 naming what is not known to be tenant-safe. */
class Unsafe extends Error {}
/** A refusal of the rewrite: the inlined document would hold more selections than the budget. */
class TooLarge extends Error {}
const unsafe = (message: string): never => {
  throw new Unsafe(message);
};

const str = (value: string): ValueNode => ({ kind: Kind.STRING, value });
const objectField = (name: string, value: ValueNode): ObjectFieldNode => ({
  kind: Kind.OBJECT_FIELD,
  name: { kind: Kind.NAME, value: name },
  value,
});
const object = (fields: ObjectFieldNode[]): ObjectValueNode => ({ kind: Kind.OBJECT, fields });
const argument = (name: string, value: ValueNode): ArgumentNode => ({ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: name }, value });

/** `{<column>: {_eq: "<tenant>"}}`, as a value node and as JSON. */
function tenantClause(table: string, tenantId: string): { node: ObjectValueNode; json: Json } {
  const column = TENANT_TABLES[table]!.tenantColumn;
  return {
    node: object([objectField(column, object([objectField("_eq", str(tenantId))]))]),
    json: { [column]: { _eq: tenantId } },
  };
}

interface Walk {
  fragments: Map<string, FragmentDefinitionNode>;
  /** Null: single-tenant mode (fragments inlined, nothing else changed). */
  tenantId: string | null;
  /** Variables used as a whole `where`, by name: the table whose tenant clause goes into their value. */
  whereVariables: Map<string, string>;
  /** Variables used as a whole mutation `input` whose `tenant_id` the gateway sets. */
  tenantInputs: Set<string>;
  byPkKeys: Set<string>;
  /** `where` values holding variables: read (checkFilter) on each request's values. */
  filters: { node: ValueNode; table: string }[];
  /** Apollo fields' arguments naming ids: read on each request's values. */
  idSites: { key: string; given: ValueNode | undefined }[];
  /** Selections the printed document may still hold (`inline`). */
  budget: number;
}

/** Whether a value node holds a variable anywhere (then it is read again on each request's values). */
function hasVariables(node: ValueNode): boolean {
  if (node.kind === Kind.VARIABLE) return true;
  if (node.kind === Kind.LIST) return node.values.some(hasVariables);
  if (node.kind === Kind.OBJECT) return node.fields.some((f) => hasVariables(f.value));
  return false;
}

/**
 * A selection with every fragment spread replaced by the fragment's selections, so the printed operation needs no
 * fragment definition: spliced in where that changes nothing (no directive on the spread, and no type condition or
 * the one the selection already has), else as an inline fragment keeping the spread's directives and the
 * fragment's type condition. `inner` rewrites each field in place. Every selection made is counted against
 * `w.budget`: the cost limit bounds the expanded fields, not the fragments around them, so a chain of fragments
 * each spreading the next, spread many times, would otherwise make spreads x chain of them.
 */
function inline(set: SelectionSetNode, w: Walk, typeName: string | null, inner: (f: FieldNode) => FieldNode): SelectionSetNode {
  const selections: SelectionNode[] = [];
  const add = (sel: SelectionNode) => {
    if (--w.budget < 0) throw new TooLarge();
    selections.push(sel);
  };
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      add(inner(sel));
      continue;
    }
    const frag = sel.kind === Kind.FRAGMENT_SPREAD ? w.fragments.get(sel.name.value) : null;
    if (sel.kind === Kind.FRAGMENT_SPREAD && !frag) return unsafe(`unknown fragment ${sel.name.value.slice(0, 100)}`);
    const condition = sel.kind === Kind.INLINE_FRAGMENT ? sel.typeCondition : frag!.typeCondition;
    if (w.tenantId !== null && typeName !== null && condition && condition.name.value !== typeName)
      unsafe(`a fragment on ${condition.name.value.slice(0, 100)} where ${typeName} is selected`);
    const body = inline(
      sel.kind === Kind.INLINE_FRAGMENT ? sel.selectionSet : frag!.selectionSet,
      w,
      condition?.name.value ?? typeName,
      inner,
    );
    if ((sel.directives?.length ?? 0) === 0 && (!condition || condition.name.value === typeName)) {
      for (const s of body.selections) selections.push(s);
      continue;
    }
    add({
      kind: Kind.INLINE_FRAGMENT,
      ...(condition ? { typeCondition: condition } : {}),
      directives: sel.directives as DirectiveNode[] | undefined,
      selectionSet: body,
    });
  }
  return { kind: Kind.SELECTION_SET, selections };
}

/**
 * A field whose selection the tenant rewrite leaves as it is (an Apollo payload, introspection), with its fragment
 * spreads inlined all the way down: only the executed operation is printed, so no fragment definition goes along.
 */
function keepSelection(f: FieldNode, w: Walk): FieldNode {
  return f.selectionSet ? { ...f, selectionSet: inline(f.selectionSet, w, null, (g) => keepSelection(g, w)) } : f;
}

/**
 * Refuses a filter that follows a relationship which may cross tenants (`flow_run(where: {agent: {name: ...}})`
 * would tell whether another tenant's agent has that name). Read on the value the server will use, variables
 * substituted, so a filter hidden in a variable or its default is read too.
 */
function checkFilter(value: unknown, table: string, at: string): void {
  if (Array.isArray(value)) {
    for (const v of value) checkFilter(v, table, at);
    return;
  }
  if (!isObj(value)) return;
  const relations = TENANT_TABLES[table]!.relations;
  for (const [k, v] of Object.entries(value)) {
    if (k === "_and" || k === "_or" || k === "_not") {
      checkFilter(v, table, at);
      continue;
    }
    // `r_aggregate` (order_by's `{flow_runs_aggregate: {count: desc}}`) reads r's rows like r does.
    const name = !Object.hasOwn(relations, k) && k.endsWith("_aggregate") ? k.slice(0, -"_aggregate".length) : k;
    if (Object.hasOwn(relations, name)) {
      const rel = relations[name]!;
      // Hasura follows the relationship unfiltered here: nothing adds the tenant to the related rows.
      if (rel.sameTenant === null) unsafe(`${at}: a filter on ${table}.${name}, a relationship that may cross tenants`);
      checkFilter(v, rel.table, at);
    }
  }
}

/** A `where` argument with the table's tenant clause ANDed in (added when the field had none). */
function withTenantWhere(field: FieldNode, table: string, w: Walk, extra?: ObjectValueNode): ArgumentNode[] {
  const clause = tenantClause(table, w.tenantId!);
  const args = (field.arguments ?? []).filter((a) => a.name.value !== "where");
  const given = field.arguments?.find((a) => a.name.value === "where")?.value;
  // The filter, and the order (`order_by: {agent: {name: asc}}` would rank another tenant's names), follow only
  // relationships that keep to the tenant.
  const order = field.arguments?.find((a) => a.name.value === "order_by")?.value;
  for (const node of [given, order]) {
    if (!node) continue;
    if (hasVariables(node)) w.filters.push({ node, table });
    else checkFilter(valueFromASTUntyped(node), table, `${table}(where)`);
  }
  const parts: ValueNode[] = [];
  if (extra) parts.push(extra);
  if (given?.kind === Kind.VARIABLE) {
    // The variable stays where it is (its declared type may be nullable, which `_and`'s items are not): the
    // tenant clause goes into its re-encoded value instead (planForward).
    const known = w.whereVariables.get(given.name.value);
    if (known !== undefined && known !== table) unsafe(`variable $${given.name.value} is a where of both ${known} and ${table}`);
    w.whereVariables.set(given.name.value, table);
    return [...args, argument("where", given)];
  }
  if (given && given.kind !== Kind.NULL) parts.push(given);
  parts.push(clause.node);
  const where: ValueNode = parts.length === 1 ? parts[0]! : object([objectField("_and", { kind: Kind.LIST, values: parts })]);
  return [...args, argument("where", where)];
}

function checkArguments(field: FieldNode, allowed: ReadonlySet<string>, where: string): void {
  for (const a of field.arguments ?? []) {
    if (!allowed.has(a.name.value)) unsafe(`${where}: argument ${a.name.value.slice(0, 100)} is not known to be tenant-safe`);
  }
}

const NO_ARGUMENTS: ReadonlySet<string> = new Set();
const COLUMN_ARGUMENTS: ReadonlySet<string> = new Set(["path"]);
const COUNT_ARGUMENTS: ReadonlySet<string> = new Set(["columns", "distinct"]);

/** A selection of `table`'s rows: columns, and relationships the table classifies. */
function rowSelection(set: SelectionSetNode, table: string, w: Walk): SelectionSetNode {
  const info = TENANT_TABLES[table]!;
  return inline(set, w, table, (f) => {
    const name = f.name.value;
    if (name === "__typename") return f;
    const at = `${table}.${name.slice(0, 100)}`;
    const rel = Object.hasOwn(info.relations, name) ? info.relations[name]! : null;
    const aggregateOf = name.endsWith("_aggregate") ? name.slice(0, -"_aggregate".length) : null;
    const relAggregate = aggregateOf && Object.hasOwn(info.relations, aggregateOf) ? info.relations[aggregateOf]! : null;
    if (rel && rel.kind === "object") {
      if (rel.sameTenant === null) unsafe(`${at}: this relationship may cross tenants`);
      checkArguments(f, NO_ARGUMENTS, at);
      return { ...f, selectionSet: rowSelection(f.selectionSet ?? unsafe(`${at} needs a selection`), rel.table, w) };
    }
    if (rel) {
      checkArguments(f, LIST_ARGUMENTS, at);
      return {
        ...f,
        arguments: withTenantWhere(f, rel.table, w),
        selectionSet: rowSelection(f.selectionSet ?? unsafe(`${at} needs a selection`), rel.table, w),
      };
    }
    if (relAggregate && relAggregate.kind === "array") {
      checkArguments(f, LIST_ARGUMENTS, at);
      return {
        ...f,
        arguments: withTenantWhere(f, relAggregate.table, w),
        selectionSet: aggregateSelection(f.selectionSet ?? unsafe(`${at} needs a selection`), relAggregate.table, w),
      };
    }
    // A column: no selection (jsonb columns take `path`).
    if (f.selectionSet) unsafe(`${at}: not a relationship known to be tenant-safe`);
    checkArguments(f, COLUMN_ARGUMENTS, at);
    return f;
  });
}

/** `t_aggregate { aggregate { count max { col } ... } nodes { ... } }`. */
function aggregateSelection(set: SelectionSetNode, table: string, w: Walk): SelectionSetNode {
  return inline(set, w, `${table}_aggregate`, (f) => {
    const name = f.name.value;
    if (name === "__typename") return f;
    if (name === "nodes") {
      checkArguments(f, NO_ARGUMENTS, `${table}_aggregate.nodes`);
      return { ...f, selectionSet: rowSelection(f.selectionSet ?? unsafe("nodes needs a selection"), table, w) };
    }
    if (name !== "aggregate") return unsafe(`${table}_aggregate.${name.slice(0, 100)} is not known to be tenant-safe`);
    checkArguments(f, NO_ARGUMENTS, `${table}_aggregate.aggregate`);
    const fields = inline(f.selectionSet ?? unsafe("aggregate needs a selection"), w, `${table}_aggregate_fields`, (g) => {
      // count, and max/min/sum/avg/... over columns: numbers of the (already filtered) rows, never rows.
      checkArguments(
        g,
        g.name.value === "count" ? COUNT_ARGUMENTS : NO_ARGUMENTS,
        `${table}_aggregate.aggregate.${g.name.value.slice(0, 100)}`,
      );
      if (g.selectionSet)
        return {
          ...g,
          selectionSet: inline(g.selectionSet, w, null, (h) => {
            if (h.selectionSet || (h.arguments?.length ?? 0) > 0) unsafe(`${table}_aggregate: only columns inside ${g.name.value}`);
            return h;
          }),
        };
      return g;
    });
    return { ...f, selectionSet: fields };
  });
}

/** A value at `path` of a JSON value (`[]` steps into every element of a list): every string found there. */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (path.length === 0) return value === undefined || value === null ? [] : [value];
  const [step, ...rest] = path;
  if (step === "[]") return Array.isArray(value) ? value.flatMap((v) => valuesAt(v, rest)) : valuesAt(value, rest);
  return isObj(value) && Object.hasOwn(value, step!) ? valuesAt(value[step!], rest) : [];
}

/** An Apollo root field (`query/x` or `mutation/x`): ids listed for checking, `tenant_id` set to the caller's. */
function apolloField(f: FieldNode, key: string, w: Walk): FieldNode {
  const entry = APOLLO_FIELDS[key]!;
  if (entry.refused) unsafe(`${key}: ${entry.refused}`);
  checkArguments(f, entry.argument === "" ? NO_ARGUMENTS : new Set([entry.argument]), key);
  const given = f.arguments?.find((a) => a.name.value === entry.argument)?.value;
  if (entry.ids.length > 0) w.idSites.push({ key, given });
  if (!entry.setsTenant) return keepSelection(f, w);
  // The created object's tenant: the caller's, whatever the client sent.
  if (given?.kind === Kind.VARIABLE) {
    w.tenantInputs.add(given.name.value);
    return keepSelection(f, w);
  }
  if (given?.kind !== Kind.OBJECT) return unsafe(`${key}: input must be an object`);
  const fields = given.fields.filter((o) => o.name.value !== "tenant_id");
  return {
    ...keepSelection(f, w),
    arguments: (f.arguments ?? []).map((a) =>
      a.name.value === entry.argument ? argument(a.name.value, object([...fields, objectField("tenant_id", str(w.tenantId!))])) : a,
    ),
  };
}

const ROOT_TYPES = { query: "Query", mutation: "Mutation", subscription: "Subscription" } as const;

function rootField(f: FieldNode, op: OperationDefinitionNode, w: Walk): FieldNode {
  const name = f.name.value;
  const type = op.operation;
  if (name === "__typename" || name === "__schema" || name === "__type") return keepSelection(f, w);
  const key = `${type === "mutation" ? "mutation" : "query"}/${name}`;
  if (Object.hasOwn(APOLLO_FIELDS, key)) return apolloField(f, key, w);
  const root = type === "mutation" ? null : tableRoot(name);
  if (!root) return unsafe(`${type}/${name.slice(0, 100)}: not known to be tenant-safe`);
  const at = `${type}/${name}`;
  if (root.form === "by_pk") {
    checkArguments(f, new Set(["id"]), at);
    const pk = f.arguments?.find((a) => a.name.value === "id")?.value ?? unsafe(`${at}: id is required`);
    w.byPkKeys.add(f.alias?.value ?? name);
    const byId = object([objectField("id", object([objectField("_eq", pk)]))]);
    return {
      ...f,
      alias: f.alias ?? { kind: Kind.NAME, value: name },
      name: { kind: Kind.NAME, value: root.table },
      arguments: [...withTenantWhere({ ...f, arguments: [] }, root.table, w, byId), argument("limit", { kind: Kind.INT, value: "1" })],
      selectionSet: rowSelection(f.selectionSet ?? unsafe(`${at} needs a selection`), root.table, w),
    };
  }
  checkArguments(f, LIST_ARGUMENTS, at);
  const selectionSet = f.selectionSet ?? unsafe(`${at} needs a selection`);
  return {
    ...f,
    arguments: withTenantWhere(f, root.table, w),
    selectionSet: root.form === "list" ? rowSelection(selectionSet, root.table, w) : aggregateSelection(selectionSet, root.table, w),
  };
}

/** A JSON value as it may be re-encoded (what JSON.parse gave, or a patch of it). */
const asJson = (v: unknown): Json => v as Json;

/** An operation's upstream document for one tenant: what does not depend on the variables, made once. */
export interface CompiledForward {
  query: string;
  queryJson: string;
  operationName: string | null;
  variableNames: string[];
  defaults: [string, ValueNode][];
  byPkKeys: string[];
  whereVariables: [string, string][];
  tenantInputs: string[];
  filters: { node: ValueNode; table: string }[];
  idSites: { key: string; given: ValueNode | undefined }[];
}

const refusalOf = (err: unknown): Refused => {
  if (err instanceof Unsafe) return refuse(err.message, "FORBIDDEN", { refusedFields: [err.message.split(":")[0]!] });
  if (err instanceof RangeError) return refuse("selection nested too deeply", "LIMIT_EXCEEDED");
  if (err instanceof TooLarge) return refuse("fragments expand to more selections than the cost limit allows", "LIMIT_EXCEEDED");
  throw err;
};

/**
 * The walk and the printing (the costly half): the operation printed alone with fragments inlined; in multi-tenant
 * mode (`tenantId` set) limited to the tenant as described above. Depends only on the document and the tenant.
 */
export function compileForward(ast: OperationAst, tenantId: string | null, maxCost: number): Verdict<CompiledForward> {
  const op = ast.node;
  const w: Walk = {
    // The expanded fields are at most `maxCost` (the analysis refused more); the fragments kept around them as
    // many again.
    budget: 2 * maxCost,
    fragments: ast.fragments,
    tenantId,
    whereVariables: new Map(),
    tenantInputs: new Set(),
    byPkKeys: new Set(),
    filters: [],
    idSites: [],
  };
  let selectionSet: SelectionSetNode;
  try {
    selectionSet =
      tenantId === null
        ? inline(op.selectionSet, w, ROOT_TYPES[op.operation], (f) => keepSelection(f, w))
        : inline(op.selectionSet, w, ROOT_TYPES[op.operation], (f) => rootField(f, op, w));
  } catch (err) {
    return refusalOf(err);
  }
  const defs = op.variableDefinitions ?? [];
  const query = print({ ...op, selectionSet });
  return allow({
    query,
    queryJson: JSON.stringify(query),
    operationName: op.name?.value ?? null,
    variableNames: defs.map((d) => d.variable.name.value),
    defaults: defs.flatMap((d) => (d.defaultValue ? [[d.variable.name.value, d.defaultValue] as [string, ValueNode]] : [])),
    byPkKeys: [...w.byPkKeys],
    whereVariables: [...w.whereVariables],
    tenantInputs: [...w.tenantInputs],
    filters: w.filters,
    idSites: w.idSites,
  });
}

/**
 * One request's plan from its compiled document and its variables (the cheap half, run on every request): the
 * values the server will use read (filters, ids), only the operation's own variables re-encoded, the tenant
 * clauses and `tenant_id`s put into them.
 */
export function bindForward(c: CompiledForward, variables: Record<string, unknown>, tenantId: string | null): Verdict<ForwardPlan> {
  // The values the server will use: what was sent, else the definition's default. Ids are checked, and where
  // clauses patched, on these, so that a default naming another tenant's object is read like a sent value.
  const effective: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, node] of c.defaults) effective[name] = valueFromASTUntyped(node);
  for (const name of Object.keys(variables)) effective[name] = variables[name];
  const checks: IdCheck[] = [];
  try {
    for (const f of c.filters) checkFilter(valueFromASTUntyped(f.node, effective), f.table, `${f.table}(where)`);
    for (const site of c.idSites) {
      const value = site.given ? valueFromASTUntyped(site.given, effective) : undefined;
      const entry = APOLLO_FIELDS[site.key]!;
      for (const named of entry.ids) {
        const at = [entry.argument, ...named.path].join(".");
        for (const v of valuesAt(value, named.path)) {
          if (typeof v !== "string" || (named.column === "id" && !UUID_PATTERN.test(v))) unsafe(`${site.key}: ${at} must be a UUID`);
          checks.push({
            table: named.table,
            column: named.column,
            // A uuid is one value in any case; a version group is a string Postgres compares exactly.
            value: named.column === "id" ? (v as string).toLowerCase() : (v as string),
            where: `${site.key} ${at}`,
            ...(named.mayBeNew ? { mayBeNew: true } : {}),
          });
        }
      }
    }
  } catch (err) {
    return refusalOf(err);
  }
  const out: Record<string, Json> = Object.create(null) as Record<string, Json>;
  for (const name of c.variableNames) {
    if (Object.hasOwn(variables, name)) out[name] = asJson(variables[name]);
    // In multi-tenant mode a default goes explicitly too: what was checked is what runs.
    else if (tenantId !== null && Object.hasOwn(effective, name)) out[name] = asJson(effective[name]);
  }
  for (const [name, table] of c.whereVariables) {
    const given = effective[name];
    const clause = tenantClause(table, tenantId!).json;
    out[name] = given === undefined || given === null ? clause : { _and: [asJson(given), clause] };
  }
  for (const name of c.tenantInputs) {
    const given = effective[name];
    if (!isObj(given)) return refuse(`$${name}: input must be an object`, "BAD_REQUEST");
    out[name] = { ...(given as Record<string, Json>), tenant_id: tenantId! };
  }
  return allow({ query: c.query, queryJson: c.queryJson, operationName: c.operationName, variables: out, byPkKeys: c.byPkKeys, checks });
}

/** Compiled documents by operation and tenant: the parse cache keeps each operation's AST, so this follows it. */
const compiled = new WeakMap<OperationAst, Map<string, Verdict<CompiledForward>>>();

/** `compileForward` (remembered per AST and tenant) then `bindForward`. */
export function planForward(
  ast: OperationAst,
  variables: Record<string, unknown>,
  tenantId: string | null,
  maxCost: number,
): Verdict<ForwardPlan> {
  let byTenant = compiled.get(ast);
  if (!byTenant) compiled.set(ast, (byTenant = new Map()));
  const key = tenantId ?? "";
  let c = byTenant.get(key);
  if (!c) {
    if (byTenant.size >= PREFECT_COMPILED_TENANTS_MAX) byTenant.clear();
    c = compileForward(ast, tenantId, maxCost);
    byTenant.set(key, c);
  }
  return c.ok ? bindForward(c.value, variables, tenantId) : c;
}

/** An answer's `data` with each `_by_pk` key's list made the one row (or null) `_by_pk` answers with. */
export function reshapeByPk(data: unknown, keys: readonly string[]): void {
  if (!isObj(data)) return;
  for (const k of keys) {
    if (!Object.hasOwn(data, k)) continue;
    const v = data[k];
    data[k] = Array.isArray(v) ? ((v[0] as Json | undefined) ?? null) : (v as Json);
  }
}
