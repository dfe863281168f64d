/**
 * Which parts of Prefect Server 1.x's GraphQL API belong to a tenant, and how: the ONE table the tenant rewrite
 * (./rewrite.ts) reads. Anything not in it is refused in multi-tenant mode (deny by default). Pure data.
 *
 * Derived from PrefectHQ/server (commit cd87420, the last of 1.x):
 * - tracked tables and their relationships: `services/hasura/migrations/metadata.yaml` (`sources[0].tables`);
 * - which tables carry `tenant_id`: `services/postgres/alembic/versions/2020-06-24T092037_initial_database_migration.py`
 *   (cloud_hook, edge, flow, flow_group, flow_run, flow_run_state, log, project, task, task_run, task_run_state, each
 *   `tenant_id uuid` with a foreign key to tenant(id)), `2020-07-01T181528_create_message_table.py` (message),
 *   `2020-09-04T095858_add_agent_persistence.py` (agent_config, agent), `2020-10-21T141127_add_artifact_api.py`
 *   (task_run_artifact). `tenant` is the tenant itself: its `id` is the tenant.
 * - the Apollo root fields and their inputs: `src/prefect_server/graphql/schema/*.graphql` (the same text as
 *   /work/shared/reference/prefect/prefect_server_1.x_python_schema.graphql), and the resolvers in
 *   `src/prefect_server/api/*.py` for which object each id names and where the server takes a new row's tenant from.
 *
 * Hasura names each tracked table `t` (list), `t_by_pk` (one row by primary key: `id` for every table here) and
 * `t_aggregate`; an array relationship `r` also gets `r_aggregate`. `utility.traversal` and the tracked functions
 * `utility.downstream_tasks`/`upstream_tasks` are left out: unclassified, so refused.
 */

/** A relationship of a table, from metadata.yaml (`object_relationships` / `array_relationships`). */
export interface Relation {
  table: string;
  kind: "object" | "array";
  /**
   * Why both ends share a tenant, or `null` when nothing guarantees it (then it is refused). A selected array
   * relationship is filtered by the target's tenant anyway (a `where` is added); a `where` or `order_by` that
   * follows one is not (Hasura compares the related rows as they are), so there `null` refuses it too.
   */
  sameTenant: string | null;
}

export interface TenantTable {
  /** The column holding the row's tenant: `tenant_id`, or `id` for the tenant table itself. */
  tenantColumn: "tenant_id" | "id";
  relations: Readonly<Record<string, Relation>>;
}

const FLOW_TENANT = "the server copies the flow's tenant (api/runs.py create_flow_run, api/flows.py register_tasks/edges)";
const RUN_TENANT = "the server copies the run's tenant (initial migration's insert trigger, api/states.py)";
const TENANT_ITSELF = "the row's tenant_id is the foreign key of this relationship";
const CHECKED = "the gateway checks both ids of get_or_create_task_run / create_task_run_artifact against the caller's tenant";
const arr = (table: string, sameTenant: string | null = "filtered by the target's tenant"): Relation => ({
  table,
  kind: "array",
  sameTenant,
});
/** The reverse of a relationship whose foreign key nothing keeps in one tenant: selectable (filtered), never filtered on. */
const crossing = (table: string): Relation => arr(table, null);
const obj = (table: string, sameTenant: string | null): Relation => ({ table, kind: "object", sameTenant });

/** Every Hasura-tracked table of the `public` schema (services/hasura/migrations/metadata.yaml). */
export const TENANT_TABLES: Readonly<Record<string, TenantTable>> = {
  agent_config: { tenantColumn: "tenant_id", relations: { agents: crossing("agent") } },
  // agent.agent_config_id comes from the client's register_agent input, and flow_run.agent_id from the agent's own
  // calls: nothing in the server makes them the same tenant, so those object relationships are refused.
  agent: { tenantColumn: "tenant_id", relations: { agent_config: obj("agent_config", null), flow_runs: crossing("flow_run") } },
  cloud_hook: { tenantColumn: "tenant_id", relations: {} },
  edge: {
    tenantColumn: "tenant_id",
    relations: { downstream_task: obj("task", FLOW_TENANT), flow: obj("flow", FLOW_TENANT), upstream_task: obj("task", FLOW_TENANT) },
  },
  flow: {
    tenantColumn: "tenant_id",
    relations: {
      // api/flows.py create_flow: the flow's tenant is its project's, its flow group looked up in that tenant.
      flow_group: obj("flow_group", "api/flows.py create_flow looks the flow group up in the project's tenant"),
      project: obj("project", "api/flows.py create_flow takes the flow's tenant from its project"),
      tenant: obj("tenant", TENANT_ITSELF),
      edges: arr("edge"),
      flow_runs: arr("flow_run"),
      tasks: arr("task"),
    },
  },
  flow_group: { tenantColumn: "tenant_id", relations: { tenant: obj("tenant", TENANT_ITSELF), flows: arr("flow") } },
  flow_run: {
    tenantColumn: "tenant_id",
    relations: {
      agent: obj("agent", null),
      flow: obj("flow", FLOW_TENANT),
      tenant: obj("tenant", TENANT_ITSELF),
      logs: arr("log"),
      states: arr("flow_run_state"),
      task_runs: arr("task_run"),
    },
  },
  flow_run_state: { tenantColumn: "tenant_id", relations: { flow_run: obj("flow_run", RUN_TENANT) } },
  log: { tenantColumn: "tenant_id", relations: {} },
  message: { tenantColumn: "tenant_id", relations: {} },
  project: { tenantColumn: "tenant_id", relations: { tenant: obj("tenant", TENANT_ITSELF), flows: arr("flow") } },
  task: {
    tenantColumn: "tenant_id",
    relations: { flow: obj("flow", FLOW_TENANT), downstream_edges: arr("edge"), task_runs: arr("task_run"), upstream_edges: arr("edge") },
  },
  task_run: {
    tenantColumn: "tenant_id",
    relations: {
      flow_run: obj("flow_run", `${RUN_TENANT}; ${CHECKED}`),
      task: obj("task", CHECKED),
      tenant: obj("tenant", TENANT_ITSELF),
      logs: arr("log"),
      states: arr("task_run_state"),
    },
  },
  task_run_artifact: { tenantColumn: "tenant_id", relations: { task_run: obj("task_run", CHECKED) } },
  task_run_state: { tenantColumn: "tenant_id", relations: { task_run: obj("task_run", RUN_TENANT) } },
  // Reached only through relationships: the root field `tenant` is answered by the gateway (./cli.ts).
  tenant: { tenantColumn: "id", relations: { flow_groups: arr("flow_group"), flows: arr("flow"), projects: arr("project") } },
};

/** Arguments Hasura takes on a list, an aggregate or an array relationship. */
export const LIST_ARGUMENTS: ReadonlySet<string> = new Set(["where", "order_by", "limit", "offset", "distinct_on"]);

/** An id an Apollo field's input names, and the row it must be: `path` into the input (`[]` steps into a list). */
export interface NamedId {
  path: readonly string[];
  table: string;
  /** The column the value is matched on: the row's `id`, or `version_group_id` (every flow of that group). */
  column: "id" | "version_group_id";
  /** The value may name nothing yet (a new version group): then only rows found elsewhere refuse it. */
  mayBeNew?: boolean;
}

export interface ApolloField {
  /** Ids the input names, each checked against the caller's tenant before the request is forwarded. */
  ids: readonly NamedId[];
  /** A `tenant_id` field of the input that the gateway sets to the caller's tenant, whatever the client sent. */
  setsTenant?: boolean;
  /** Refused in multi-tenant mode, and why. */
  refused?: string;
  /** The argument carrying the ids (`input` for every mutation, the id itself for the two queries). */
  argument: string;
}

const id = (path: string, table: string): NamedId => ({ path: path.split("."), table, column: "id" });
const input = (ids: NamedId[], extra: Partial<ApolloField> = {}): ApolloField => ({ ids, argument: "input", ...extra });
const TENANTS_ARE_THE_OPERATORS =
  "manages Prefect tenants themselves: each flowgate tenant is one Prefect tenant, made by the operator (docs/engines/prefect.md)";
const VERSION_GROUP: NamedId = { path: ["version_group_id"], table: "flow", column: "version_group_id" };

/**
 * Apollo's own root fields (src/prefect_server/graphql/schema/*.graphql), by `type/field`. Each names the schema
 * file it is declared in; the ids' tables come from the resolver in src/prefect_server/api/ named alongside.
 */
export const APOLLO_FIELDS: Readonly<Record<string, ApolloField>> = {
  // schema.graphql: no tenant data.
  "query/hello": input([], { argument: "" }),
  "query/reference_data": input([], { argument: "" }),
  "query/api": input([], { argument: "" }),
  // runs.graphql (api/runs.py): a task run's children and state.
  // The argument is the id itself (path []), not an input object.
  "query/mapped_children": { ids: [{ path: [], table: "task_run", column: "id" }], argument: "task_run_id" },
  "query/get_task_run_info": { ids: [{ path: [], table: "task_run", column: "id" }], argument: "task_run_id" },
  // schema.graphql: schedules and cloud hooks (api/flows.py, api/cloud_hooks.py).
  "mutation/set_schedule_active": input([id("flow_id", "flow")]),
  "mutation/set_schedule_inactive": input([id("flow_id", "flow")]),
  // A hook of a version group fires for that group's flows; the group must be the caller's.
  "mutation/create_cloud_hook": input([{ ...VERSION_GROUP }], { setsTenant: true }),
  "mutation/test_cloud_hook": input([id("cloud_hook_id", "cloud_hook"), id("flow_run_id", "flow_run")]),
  "mutation/delete_cloud_hook": input([id("cloud_hook_id", "cloud_hook")]),
  "mutation/set_cloud_hook_active": input([id("cloud_hook_id", "cloud_hook")]),
  "mutation/set_cloud_hook_inactive": input([id("cloud_hook_id", "cloud_hook")]),
  // flows.graphql (api/flows.py): create_flow takes the new flow's tenant from project_id's project. Given a
  // version_group_id, graphql/flows.py resolve_create_flow archives every other unarchived flow of that group in
  // ANY tenant, and api/flows.py create_flow's idempotency path answers that group's newest flow in any tenant: the
  // group must hold no other tenant's flow (a new group holds none).
  "mutation/create_flow": input([id("project_id", "project"), { ...VERSION_GROUP, mayBeNew: true }]),
  "mutation/create_flow_from_compressed_string": input([id("project_id", "project"), { ...VERSION_GROUP, mayBeNew: true }]),
  "mutation/register_tasks": input([id("flow_id", "flow")]),
  "mutation/register_edges": input([id("flow_id", "flow")]),
  "mutation/delete_flow": input([id("flow_id", "flow")]),
  "mutation/archive_flow": input([id("flow_id", "flow")]),
  "mutation/update_flow_project": input([id("flow_id", "flow"), id("project_id", "project")]),
  "mutation/enable_flow_heartbeat": input([id("flow_id", "flow")]),
  "mutation/disable_flow_heartbeat": input([id("flow_id", "flow")]),
  "mutation/enable_flow_lazarus_process": input([id("flow_id", "flow")]),
  "mutation/disable_flow_lazarus_process": input([id("flow_id", "flow")]),
  "mutation/delete_flow_group": input([id("flow_group_id", "flow_group")]),
  "mutation/set_flow_group_description": input([id("flow_group_id", "flow_group")]),
  "mutation/set_flow_group_labels": input([id("flow_group_id", "flow_group")]),
  "mutation/set_flow_group_run_config": input([id("flow_group_id", "flow_group")]),
  "mutation/set_flow_group_schedule": input([id("flow_group_id", "flow_group")]),
  "mutation/delete_flow_group_schedule": input([id("flow_group_id", "flow_group")]),
  "mutation/set_flow_group_default_parameters": input([id("flow_group_id", "flow_group")]),
  // runs.graphql (api/runs.py): create_flow_run runs the newest unarchived flow of version_group_id in ANY
  // tenant (no tenant in its where), so every flow of that group must be the caller's.
  "mutation/create_flow_run": input([id("flow_id", "flow"), { ...VERSION_GROUP }]),
  "mutation/set_flow_run_name": input([id("flow_run_id", "flow_run")]),
  "mutation/set_task_run_name": input([id("task_run_id", "task_run")]),
  "mutation/set_flow_run_labels": input([id("flow_run_id", "flow_run")]),
  // api/runs.py get_or_create_task_run takes the task run's tenant from task_id's task.
  "mutation/get_or_create_task_run": input([id("flow_run_id", "flow_run"), id("task_id", "task")]),
  "mutation/get_or_create_task_run_info": input([id("flow_run_id", "flow_run"), id("task_id", "task")]),
  "mutation/update_flow_run_heartbeat": input([id("flow_run_id", "flow_run")]),
  "mutation/update_task_run_heartbeat": input([id("task_run_id", "task_run")]),
  "mutation/delete_flow_run": input([id("flow_run_id", "flow_run")]),
  "mutation/get_runs_in_queue": input([], { setsTenant: true }),
  // states.graphql (api/states.py).
  "mutation/set_flow_run_states": input([id("states.[].flow_run_id", "flow_run")]),
  "mutation/set_task_run_states": input([id("states.[].task_run_id", "task_run")]),
  "mutation/cancel_flow_run": input([id("flow_run_id", "flow_run")]),
  // projects.graphql (api/projects.py).
  "mutation/create_project": input([], { setsTenant: true }),
  "mutation/delete_project": input([id("project_id", "project")]),
  "mutation/set_project_name": input([id("project_id", "project")]),
  "mutation/set_project_description": input([id("project_id", "project")]),
  // agents.graphql (api/agents.py).
  "mutation/register_agent": input([id("agent_config_id", "agent_config")], { setsTenant: true }),
  "mutation/delete_agent": input([id("agent_id", "agent")]),
  "mutation/create_agent_config": input([], { setsTenant: true }),
  "mutation/delete_agent_config": input([id("agent_config_id", "agent_config")]),
  "mutation/update_agent_config": input([id("agent_config_id", "agent_config")]),
  // logs.graphql (api/logs.py): each log names its run and, optionally, its task run.
  "mutation/write_run_logs": input([id("logs.[].flow_run_id", "flow_run"), id("logs.[].task_run_id", "task_run")]),
  // artifacts.graphql (api/artifacts.py): the artifact's tenant is the input's tenant_id.
  "mutation/create_task_run_artifact": input([id("task_run_id", "task_run")], { setsTenant: true }),
  "mutation/update_task_run_artifact": input([id("task_run_artifact_id", "task_run_artifact")]),
  "mutation/delete_task_run_artifact": input([id("task_run_artifact_id", "task_run_artifact")]),
  // messages.graphql (api/messages.py).
  "mutation/mark_message_as_read": input([id("message_id", "message")]),
  "mutation/mark_message_as_unread": input([id("message_id", "message")]),
  "mutation/delete_message": input([id("message_id", "message")]),
  // tenants.graphql (api/tenants.py).
  "mutation/create_tenant": input([], { refused: TENANTS_ARE_THE_OPERATORS }),
  "mutation/delete_tenant": input([], { refused: TENANTS_ARE_THE_OPERATORS }),
  "mutation/update_tenant_name": input([], { refused: TENANTS_ARE_THE_OPERATORS }),
  "mutation/update_tenant_slug": input([], { refused: TENANTS_ARE_THE_OPERATORS }),
  "mutation/update_tenant_settings": input([], { refused: TENANTS_ARE_THE_OPERATORS }),
};

/** A root field of a tracked table: the table and its form, or null when the name is none of Hasura's. */
export function tableRoot(field: string): { table: string; form: "list" | "by_pk" | "aggregate" } | null {
  if (Object.hasOwn(TENANT_TABLES, field)) return { table: field, form: "list" };
  for (const [suffix, form] of [
    ["_by_pk", "by_pk"],
    ["_aggregate", "aggregate"],
  ] as const) {
    if (field.endsWith(suffix)) {
      const table = field.slice(0, -suffix.length);
      if (Object.hasOwn(TENANT_TABLES, table)) return { table, form };
    }
  }
  return null;
}
