/**
 * A Conductor (and Schellar) of the test's own behind the real Worker: `conductorStack()` gives an env pointing at a
 * fresh stub instance (test/setup/conductor.ts), helpers to seed it and to read what it received, and keys.
 */
import { call, createTestKey, envWith, stubUrl, uniqueTag, type CallOptions } from "../../helpers";
import type { Env } from "../../../src/config";

export interface StubRecord {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface ConductorStack {
  tag: string;
  env: Env;
  seed(data: Record<string, unknown>): Promise<void>;
  records(): Promise<StubRecord[]>;
  fault(f: { pathPrefix: string; kind: "malformed" | "error500" | "slow" | "wrongShape" | "deep" } | { clear: true }): Promise<void>;
  state(): Promise<Record<string, unknown>>;
  /** A key with scope `conductor` for tenant (default FACEBOOK). */
  key(opts: { subject: string; tenant?: string; email?: string; roles?: string[]; groups?: string[]; scopes?: string[] }): Promise<string>;
  /** Calls the Worker with this stack's env and the given key. */
  as(key: string, path: string, opts?: CallOptions): Promise<Response>;
}

export async function conductorStack(label: string, extraEnv: Record<string, unknown> = {}): Promise<ConductorStack> {
  const tag = uniqueTag(label);
  const env = envWith({ CONDUCTOR_URL: stubUrl(`/conductor/${tag}`), SCHELLAR_URL: stubUrl(`/schellar/${tag}`), ...extraEnv });
  const admin = (path: string, init?: RequestInit) => fetch(stubUrl(`/conductor-admin/${tag}${path}`), init);
  return {
    tag,
    env,
    seed: async (data) => void (await admin("/seed", { method: "POST", body: JSON.stringify(data) })),
    records: async () => (await (await admin("/records")).json()) as StubRecord[],
    fault: async (f) => void (await admin("/fault", { method: "POST", body: JSON.stringify(f) })),
    state: async () => (await (await admin("/state")).json()) as Record<string, unknown>,
    key: async ({ subject, tenant = "FACEBOOK", email, roles = [], groups = [], scopes = ["conductor"] }) =>
      (await createTestKey({ tenant, subject, email, roles, groups, scopes }, env)).key,
    as: (key, path, opts = {}) =>
      call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } }),
  };
}

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const exec = (id: string, type: string, correlationId: string, extra: Record<string, unknown> = {}) => ({
  workflowId: id,
  workflowName: type,
  workflowType: type,
  version: 1,
  correlationId,
  status: "RUNNING",
  input: {},
  tasks: [],
  ...extra,
});

/** Two tenants side by side in one Conductor: FACEBOOK (alice, bob) and OTHER (whose alice is someone else). */
export const seedTwoTenants = (s: ConductorStack) =>
  s.seed({
    workflowDefs: [
      { name: "FACEBOOK___wfA", version: 1, description: "first - TEST", tasks: [] },
      { name: "FACEBOOK___wfB", version: 1, description: '{"description":"second","labels":["OPS"]}', tasks: [] },
      { name: "OTHER___wfA", version: 1, description: "theirs - TEST", tasks: [] },
      { name: "legacy_unprefixed", version: 1, tasks: [] },
    ],
    taskDefs: [{ name: "FACEBOOK___t1" }, { name: "OTHER___t1" }, { name: "GLOBAL___shared" }],
    executions: [
      exec("fb-1", "FACEBOOK___wfA", "alice", { externalOutputPayloadStoragePath: "workflow/fb-out.json" }),
      exec("fb-2", "FACEBOOK___wfB", "bob"),
      exec("ot-1", "OTHER___wfA", "alice", { externalOutputPayloadStoragePath: "workflow/ot-out.json" }),
    ],
    tasks: [
      {
        taskId: "task-fb1",
        workflowInstanceId: "fb-1",
        workflowType: "FACEBOOK___wfA",
        correlationId: "alice",
        taskDefName: "FACEBOOK___t1",
      },
      { taskId: "task-ot1", workflowInstanceId: "ot-1", workflowType: "OTHER___wfA", correlationId: "alice", taskDefName: "OTHER___t1" },
      // A task whose fields claim FACEBOOK but whose workflow is OTHER's.
      { taskId: "task-forged", workflowInstanceId: "ot-1", workflowType: "FACEBOOK___wfA", correlationId: "alice" },
    ],
    logs: { "task-fb1": [{ log: "fb log", taskId: "task-fb1" }], "task-ot1": [{ log: "OTHER secret", taskId: "task-ot1" }] },
    events: [
      { name: "FACEBOOK___h1", event: "conductor:FACEBOOK___wfA:t", actions: [], active: true },
      { name: "OTHER___h1", event: "conductor:OTHER___wfA:t", actions: [], active: true },
    ],
    schedules: [
      {
        name: "FACEBOOK___wfA:1",
        workflowName: "FACEBOOK___wfA",
        workflowVersion: "1",
        cronString: "* * * * *",
        correlationId: "fb-admin",
        taskToDomain: { "*": "FACEBOOK" },
      },
      { name: "OTHER___wfA:1", workflowName: "OTHER___wfA", workflowVersion: "1", cronString: "* * * * *" },
    ],
    queues: { "FACEBOOK:FACEBOOK___t1": 3, "OTHER:OTHER___t1": 5, GLOBAL___shared: 1, FACEBOOK___t2: 2 },
    queuesVerbose: { FACEBOOK___t1: { FACEBOOK: { a: 3 } }, OTHER___t1: { OTHER: { a: 5 } } },
  });

/**
 * A running FACEBOOK workflow `fb-dyn` (alice's admin `fb-admin` started it) whose definition forks what its worker
 * task `inv` returns, as Conductor shows it: `fork` takes its list from `${inv.output.dynamic_tasks}` and its inputs
 * from `${inv.output.dynamic_tasks_i}`; `inv2` is a second task of the definition a run-time list may not shadow.
 */
export const seedDynamicForkExecution = (s: ConductorStack) =>
  s.seed({
    executions: [
      {
        workflowId: "fb-dyn",
        workflowName: "FACEBOOK___wfA",
        workflowType: "FACEBOOK___wfA",
        correlationId: "fb-admin",
        status: "RUNNING",
        tasks: [],
        workflowDefinition: {
          name: "FACEBOOK___wfA",
          tasks: [
            { name: "FACEBOOK___inventory", taskReferenceName: "inv", type: "SIMPLE" },
            {
              name: "FACEBOOK___fork",
              taskReferenceName: "fork",
              type: "FORK_JOIN_DYNAMIC",
              dynamicForkTasksParam: "d",
              dynamicForkTasksInputParamName: "i",
              inputParameters: { d: "${inv.output.dynamic_tasks}", i: "${inv.output.dynamic_tasks_i}" },
            },
            { name: "FACEBOOK___join", taskReferenceName: "join", type: "JOIN" },
            { name: "FACEBOOK___inventory", taskReferenceName: "inv2", type: "SIMPLE" },
          ],
        },
      },
    ],
  });
