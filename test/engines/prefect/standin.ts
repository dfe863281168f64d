/**
 * An executable stand-in of Prefect Server 1.x's GraphQL API, for tests: graphql-js executing against in-memory
 * rows (of several tenants), with the schema built from what Prefect Server itself declares:
 * - Hasura's part from the gateway's classification table (src/engines/prefect/tenancy.ts, itself derived from
 *   services/hasura/migrations/metadata.yaml) and the columns of the alembic migrations (COLUMNS below), named by
 *   Hasura's conventions: `t`, `t_by_pk`, `t_aggregate`, `t_bool_exp` (`_and`/`_or`/`_not`, `<col>: {_eq, _in,
 *   ...}`, relationship filters), `t_order_by`, `t_select_column`, array relationships with `r_aggregate`;
 * - Apollo's part from Prefect Server's own SDL (test/fixtures/prefect/prefect_server_1.x_python_schema.graphql, a
 *   copy of src/prefect_server/graphql/schema/*.graphql), with the mutations the tests use executed like the server.
 * Like Prefect Server, it filters nothing by tenant: every row it holds is every caller's, so whatever isolation a
 * test sees is the gateway's. It validates every document it receives (graphql-js `graphql()`), and records them.
 */
import { buildSchema, graphql, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import apolloSdl from "../../fixtures/prefect/prefect_server_1.x_python_schema.graphql?raw";
import { TENANT_TABLES } from "../../../src/engines/prefect/tenancy";

type Row = Record<string, unknown>;

const U = "uuid";
const T = "timestamptz";
const J = "jsonb";
const S = "String";
const I = "Int";
const B = "Boolean";
/**
 * Columns by table: services/postgres/alembic/versions/2020-06-24T092037_initial_database_migration.py and the
 * later migrations that add columns (idempotency_key, agent_id, labels, run_config, name, description, ...).
 */
const COLUMNS: Record<string, Record<string, string>> = {
  tenant: { id: U, created: T, name: S, slug: S, info: J, settings: J, updated: T },
  cloud_hook: { id: U, tenant_id: U, created: T, updated: T, name: S, states: J, type: S, config: J, active: B, version_group_id: S },
  edge: { id: U, tenant_id: U, created: T, flow_id: U, upstream_task_id: U, downstream_task_id: U, key: S, mapped: B, updated: T },
  flow: {
    id: U,
    tenant_id: U,
    created: T,
    version: I,
    name: S,
    description: S,
    environment: J,
    parameters: J,
    project_id: U,
    archived: B,
    version_group_id: S,
    storage: J,
    core_version: S,
    updated: T,
    settings: J,
    serialized_flow: J,
    schedule: J,
    is_schedule_active: B,
    flow_group_id: U,
    run_config: J,
  },
  flow_group: {
    id: U,
    tenant_id: U,
    created: T,
    updated: T,
    name: S,
    labels: J,
    schedule: J,
    settings: J,
    default_parameters: J,
    description: S,
    run_config: J,
  },
  flow_run: {
    id: U,
    tenant_id: U,
    created: T,
    flow_id: U,
    parameters: J,
    scheduled_start_time: T,
    auto_scheduled: B,
    heartbeat: T,
    start_time: T,
    end_time: T,
    version: I,
    state: S,
    state_timestamp: T,
    state_message: S,
    state_result: J,
    state_start_time: T,
    serialized_state: J,
    name: S,
    context: J,
    times_resurrected: I,
    updated: T,
    idempotency_key: S,
    agent_id: U,
    labels: J,
    run_config: J,
  },
  flow_run_state: {
    id: U,
    tenant_id: U,
    flow_run_id: U,
    state: S,
    message: S,
    result: J,
    start_time: T,
    serialized_state: J,
    created: T,
    updated: T,
    version: I,
    timestamp: T,
  },
  log: {
    id: U,
    tenant_id: U,
    flow_run_id: U,
    task_run_id: U,
    name: S,
    level: S,
    message: S,
    info: J,
    created: T,
    updated: T,
    timestamp: T,
  },
  project: { id: U, tenant_id: U, created: T, name: S, description: S, updated: T },
  task: {
    id: U,
    tenant_id: U,
    created: T,
    flow_id: U,
    name: S,
    slug: S,
    description: S,
    type: S,
    max_retries: I,
    trigger: S,
    mapped: B,
    tags: J,
    updated: T,
  },
  task_run: {
    id: U,
    tenant_id: U,
    created: T,
    flow_run_id: U,
    task_id: U,
    map_index: I,
    version: I,
    state: S,
    name: S,
    start_time: T,
    end_time: T,
    updated: T,
  },
  task_run_state: { id: U, tenant_id: U, task_run_id: U, state: S, message: S, created: T, updated: T, version: I, timestamp: T },
  message: { id: U, tenant_id: U, created: T, read: B, type: S, text: S, content: J },
  agent: { id: U, tenant_id: U, agent_config_id: U, name: S, type: S, core_version: S, labels: J, last_queried: T, created: T, updated: T },
  agent_config: { id: U, tenant_id: U, name: S, settings: J, created: T, updated: T },
  task_run_artifact: { id: U, tenant_id: U, task_run_id: U, kind: S, data: J, created: T, updated: T },
};

const COMPARISON = (t: string) => `input ${t}_comparison_exp {
  _eq: ${t} _neq: ${t} _gt: ${t} _gte: ${t} _lt: ${t} _lte: ${t} _in: [${t}!] _nin: [${t}!] _is_null: Boolean
  ${t === "String" ? "_like: String _ilike: String _nlike: String _nilike: String" : ""}
}`;

/** Hasura's SDL for the tracked tables. */
function hasuraSdl(): string {
  const parts: string[] = [
    "scalar uuid scalar timestamptz scalar jsonb scalar UUID scalar JSON scalar DateTime",
    "enum order_by { asc asc_nulls_first asc_nulls_last desc desc_nulls_first desc_nulls_last }",
    ...[U, T, J, S, I, B].map(COMPARISON),
  ];
  const list = (t: string) =>
    `(where: ${t}_bool_exp, order_by: [${t}_order_by!], limit: Int, offset: Int, distinct_on: [${t}_select_column!])`;
  const roots: string[] = [];
  for (const [table, info] of Object.entries(TENANT_TABLES)) {
    const cols = COLUMNS[table]!;
    const fields = Object.entries(cols).map(([c, t]) => `${c}${t === J ? "(path: String)" : ""}: ${t}`);
    const filters = Object.entries(cols).map(([c, t]) => `${c}: ${t}_comparison_exp`);
    const orders = Object.keys(cols).map((c) => `${c}: order_by`);
    for (const [r, rel] of Object.entries(info.relations)) {
      if (rel.kind === "object") {
        fields.push(`${r}: ${rel.table}`);
        orders.push(`${r}: ${rel.table}_order_by`);
      } else {
        fields.push(`${r}${list(rel.table)}: [${rel.table}!]!`, `${r}_aggregate${list(rel.table)}: ${rel.table}_aggregate!`);
      }
      filters.push(`${r}: ${rel.table}_bool_exp`);
    }
    parts.push(
      `type ${table} { ${fields.join(" ")} }`,
      `input ${table}_bool_exp { _and: [${table}_bool_exp!] _or: [${table}_bool_exp!] _not: ${table}_bool_exp ${filters.join(" ")} }`,
      `input ${table}_order_by { ${orders.join(" ")} }`,
      `enum ${table}_select_column { ${Object.keys(cols).join(" ")} }`,
      `type ${table}_aggregate { aggregate: ${table}_aggregate_fields nodes: [${table}!]! }`,
      `type ${table}_aggregate_fields { count(columns: [${table}_select_column!], distinct: Boolean): Int! max: ${table}_max_fields min: ${table}_max_fields }`,
      `type ${table}_max_fields { ${Object.entries(cols)
        .filter(([, t]) => t !== J && t !== B)
        .map(([c, t]) => `${c}: ${t}`)
        .join(" ")} }`,
    );
    roots.push(
      `${table}${list(table)}: [${table}!]!`,
      `${table}_by_pk(id: uuid!): ${table}`,
      `${table}_aggregate${list(table)}: ${table}_aggregate!`,
    );
  }
  parts.push(`extend type Query { ${roots.join(" ")} }`);
  return parts.join("\n");
}

/** Two (or more) tenants' rows, by table. */
export type Rows = Record<string, Row[]>;

/** Whether a row matches a Hasura boolean expression (relationships followed through `rows`). */
function matches(rows: Rows, table: string, row: Row, exp: unknown): boolean {
  if (exp === null || exp === undefined) return true;
  const e = exp as Record<string, unknown>;
  for (const [k, v] of Object.entries(e)) {
    if (k === "_and") {
      if (!(v as unknown[]).every((x) => matches(rows, table, row, x))) return false;
    } else if (k === "_or") {
      if (!(v as unknown[]).some((x) => matches(rows, table, row, x))) return false;
    } else if (k === "_not") {
      if (matches(rows, table, row, v)) return false;
    } else if (Object.hasOwn(TENANT_TABLES[table]!.relations, k)) {
      const related = follow(rows, table, row, k);
      const list = Array.isArray(related) ? related : related ? [related] : [];
      if (!list.some((r) => matches(rows, TENANT_TABLES[table]!.relations[k]!.table, r, v))) return false;
    } else {
      const x = row[k];
      for (const [op, want] of Object.entries(v as Record<string, unknown>)) {
        if (want === null || want === undefined) continue; // Hasura ignores a null operand
        const ok =
          op === "_eq"
            ? x === want
            : op === "_neq"
              ? x !== want
              : op === "_in"
                ? (want as unknown[]).includes(x)
                : op === "_nin"
                  ? !(want as unknown[]).includes(x)
                  : op === "_gt"
                    ? (x as string) > (want as string)
                    : op === "_gte"
                      ? (x as string) >= (want as string)
                      : op === "_lt"
                        ? (x as string) < (want as string)
                        : op === "_lte"
                          ? (x as string) <= (want as string)
                          : op === "_is_null"
                            ? (x === null || x === undefined) === want
                            : op === "_ilike" || op === "_like"
                              ? new RegExp(
                                  `^${String(want)
                                    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
                                    .replace(/%/g, ".*")
                                    .replace(/_/g, ".")}$`,
                                  op === "_ilike" ? "i" : "",
                                ).test(String(x))
                              : false;
        if (!ok) return false;
      }
    }
  }
  return true;
}

/** A relationship's rows (array) or row (object), by the metadata's foreign keys. */
function follow(rows: Rows, table: string, row: Row, relation: string): Row | Row[] | null {
  const rel = TENANT_TABLES[table]!.relations[relation]!;
  const target = rows[rel.table] ?? [];
  if (rel.kind === "object") {
    // The foreign key is `<relation>_id` (downstream_task -> downstream_task_id), or `tenant_id` for `tenant`.
    const fk = row[`${relation}_id`];
    return target.find((r) => r.id === fk) ?? null;
  }
  // Array: the target's column pointing back (metadata: flow_runs -> flow_run.flow_id; edges named by role).
  const back = relation === "downstream_edges" ? "upstream_task_id" : relation === "upstream_edges" ? "downstream_task_id" : `${table}_id`;
  return target.filter((r) => r[back] === row.id);
}

function select(rows: Rows, table: string, all: Row[], args: Record<string, unknown>): Row[] {
  let out = all.filter((r) => matches(rows, table, r, args.where));
  if (typeof args.offset === "number") out = out.slice(args.offset);
  if (typeof args.limit === "number") out = out.slice(0, args.limit);
  return out;
}

const aggregate = (nodes: Row[]) => ({ aggregate: { count: nodes.length, max: {}, min: {} }, nodes });

export interface StandIn {
  schema: GraphQLSchema;
  rows: Rows;
  /** Every document received, as sent (query, variables). */
  received: { query: string; variables: unknown; operationName?: unknown }[];
  /** Answers one HTTP request as Prefect Server's Apollo would (POST JSON, a batch, or GET). */
  handle(req: Request): Promise<Response>;
}

let counter = 0;
const newId = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, "0")}`;

export function prefectStandIn(rows: Rows): StandIn {
  const received: StandIn["received"] = [];
  const schema = buildSchema(`${apolloSdl}\n${hasuraSdl()}`);
  const tableResolvers: Record<string, GraphQLFieldResolver<unknown, unknown>> = {};
  for (const table of Object.keys(TENANT_TABLES)) {
    tableResolvers[table] = (_s, args) => select(rows, table, rows[table] ?? [], args as Record<string, unknown>);
    tableResolvers[`${table}_by_pk`] = (_s, args) => (rows[table] ?? []).find((r) => r.id === (args as { id: string }).id) ?? null;
    tableResolvers[`${table}_aggregate`] = (_s, args) => aggregate(select(rows, table, rows[table] ?? [], args as Record<string, unknown>));
  }
  // Relationships resolve from the parent row (graphql-js's default resolver reads properties: give it getters).
  for (const [table, info] of Object.entries(TENANT_TABLES)) {
    const type = schema.getType(table) as unknown as { getFields(): Record<string, { resolve?: GraphQLFieldResolver<Row, unknown> }> };
    for (const [r, rel] of Object.entries(info.relations)) {
      const fields = type.getFields();
      if (rel.kind === "object") fields[r]!.resolve = (row) => follow(rows, table, row, r);
      else {
        fields[r]!.resolve = (row, args) => select(rows, rel.table, follow(rows, table, row, r) as Row[], args as Record<string, unknown>);
        fields[`${r}_aggregate`]!.resolve = (row, args) =>
          aggregate(select(rows, rel.table, follow(rows, table, row, r) as Row[], args as Record<string, unknown>));
      }
    }
  }
  const byId = (table: string, id: unknown) => (rows[table] ?? []).find((r) => r.id === id);
  const registerFlow = (input: Row) => {
    const project = byId("project", input.project_id);
    if (!project) throw new Error("Invalid project ID");
    const group = (input.version_group_id as string | undefined) ?? newId();
    const id = newId();
    (rows.flow ??= []).push({
      id,
      tenant_id: project.tenant_id,
      project_id: project.id,
      version_group_id: group,
      name: "f",
      archived: false,
    });
    if (input.version_group_id)
      for (const f of rows.flow) if (f.version_group_id === group && f.id !== id && !f.archived) f.archived = true;
    return { id };
  };
  // The mutations the tests use, executed as api/*.py does (tenant taken where the server takes it).
  const mutations: Record<string, GraphQLFieldResolver<unknown, unknown>> = {
    create_project: (_s, { input }) => {
      const id = newId();
      (rows.project ??= []).push({ id, tenant_id: input.tenant_id, name: input.name, description: input.description ?? null });
      return { id };
    },
    delete_project: (_s, { input }) => {
      rows.project = (rows.project ?? []).filter((r) => r.id !== input.project_id);
      return { success: true };
    },
    create_flow_run: (_s, { input }) => {
      const flow = input.flow_id
        ? byId("flow", input.flow_id)
        : (rows.flow ?? []).find((f) => f.version_group_id === input.version_group_id && !f.archived);
      if (!flow) throw new Error("Invalid flow id");
      const id = newId();
      (rows.flow_run ??= []).push({
        id,
        tenant_id: flow.tenant_id,
        flow_id: flow.id,
        state: "Scheduled",
        name: input.flow_run_name ?? "run",
      });
      return { id };
    },
    // graphql/flows.py resolve_create_flow + api/flows.py create_flow: the new flow's tenant is its project's, and
    // with a version_group_id given, every other unarchived flow of that group is archived, in ANY tenant.
    create_flow: (_s, { input }) => registerFlow(input),
    create_flow_from_compressed_string: (_s, { input }) => registerFlow(input),
    delete_flow: (_s, { input }) => {
      rows.flow = (rows.flow ?? []).filter((r) => r.id !== input.flow_id);
      return { success: true };
    },
    cancel_flow_run: (_s, { input }) => {
      const run = byId("flow_run", input.flow_run_id);
      if (run) run.state = "Cancelled";
      return { state: "Cancelled" };
    },
    set_flow_run_states: (_s, { input }) => ({
      states: (input.states as { flow_run_id: string; state: { type: string } }[]).map((s) => {
        const run = byId("flow_run", s.flow_run_id);
        if (run) run.state = s.state.type;
        return { id: s.flow_run_id, status: "SUCCESS", message: null };
      }),
    }),
    write_run_logs: (_s, { input }) => {
      for (const l of input.logs as Row[]) {
        const run = byId("flow_run", l.flow_run_id);
        (rows.log ??= []).push({ id: newId(), tenant_id: run?.tenant_id, flow_run_id: l.flow_run_id, message: l.message });
      }
      return { success: true };
    },
  };
  const rootValue = { ...tableResolvers, ...mutations, hello: "hello" };
  const run = async (body: { query?: unknown; variables?: unknown; operationName?: unknown }) => {
    received.push({ query: String(body.query), variables: body.variables, operationName: body.operationName });
    const variables = typeof body.variables === "string" ? JSON.parse(body.variables) : body.variables;
    // graphql-js calls a root field's function with (args, context, info): adapt to resolver order.
    const adapted: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(rootValue))
      adapted[k] =
        typeof f === "function"
          ? (args: unknown, ctx: unknown, info: unknown) =>
              (f as GraphQLFieldResolver<unknown, unknown>)(null, args as Record<string, unknown>, ctx, info as never)
          : f;
    return graphql({
      schema,
      source: String(body.query),
      rootValue: adapted,
      variableValues: (variables as Record<string, unknown> | null) ?? undefined,
      operationName: (body.operationName as string | undefined) ?? undefined,
    });
  };
  return {
    schema,
    rows,
    received,
    async handle(req) {
      let payload: unknown;
      if (req.method === "GET") {
        const p = new URL(req.url).searchParams;
        payload = { query: p.get("query"), variables: p.get("variables"), operationName: p.get("operationName") };
      } else payload = await req.json();
      const answer = Array.isArray(payload) ? await Promise.all(payload.map(run)) : await run(payload as Row);
      return new Response(JSON.stringify(answer), { headers: { "content-type": "application/json" } });
    },
  };
}

/** Row ids of the two tenants of `twoTenants`: acme's `aaaaaaaa-...-<n>`, globex's `bbbbbbbb-...-<n>`. */
export const a = (n: number) => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;
export const b = (n: number) => `bbbbbbbb-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** The same objects in each tenant: project 1, flow group 2, flow 3, run 4, task 5, task run 6, log 7, agent 8. */
function rowsOf(t: string, id: (n: number) => string, label: string): Rows {
  return {
    tenant: [{ id: t, name: label, slug: label }],
    project: [{ id: id(1), tenant_id: t, name: `${label}-etl` }],
    flow_group: [{ id: id(2), tenant_id: t, name: `vg-${label}`, labels: [], default_parameters: {} }],
    flow: [
      {
        id: id(3),
        tenant_id: t,
        project_id: id(1),
        flow_group_id: id(2),
        version_group_id: `vg-${label}`,
        name: `${label}-nightly`,
        archived: false,
        is_schedule_active: false,
        version: 1,
      },
    ],
    flow_run: [
      {
        id: id(4),
        tenant_id: t,
        flow_id: id(3),
        name: `${label}-run`,
        state: "Running",
        agent_id: id(8),
        scheduled_start_time: "2021-12-29T15:00:00Z",
        updated: "2021-12-29T15:00:00Z",
      },
    ],
    task: [{ id: id(5), tenant_id: t, flow_id: id(3), name: `${label}-task` }],
    task_run: [{ id: id(6), tenant_id: t, flow_run_id: id(4), task_id: id(5), state: "Running", map_index: -1 }],
    log: [{ id: id(7), tenant_id: t, flow_run_id: id(4), message: `${label} secret log` }],
    agent: [{ id: id(8), tenant_id: t, name: `${label}-agent`, type: "LocalAgent", labels: [] }],
    flow_run_state: [{ id: id(9), tenant_id: t, flow_run_id: id(4), state: "Running" }],
  };
}

/** acme's rows (tenant `A`, ids from `a`) and globex's (tenant `B`, ids from `b`): the same objects in each. */
export function twoTenants(A: string, B: string): Rows {
  const ra = rowsOf(A, a, "acme");
  const rb = rowsOf(B, b, "globex");
  const rows: Rows = {};
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) rows[k] = [...(ra[k] ?? []), ...(rb[k] ?? [])];
  return rows;
}
