/**
 * THE table of what Conductor does with each field a client may send it in a definition: which fields are data,
 * which the gateway checks or sets, which carry power (code Conductor evaluates, or something it sends outside the
 * workflow) and so need a capability, and which are refused. Pure.
 *
 * Derived from Conductor's own model classes and the code that reads them (conductor-oss/conductor, read at
 * b54f0d4): Jackson reads every property that has a setter (FAIL_ON_UNKNOWN_PROPERTIES is disabled in
 * common/config/ObjectMapperBuilderConfiguration.java and ObjectMapperProvider.java, so a property this table does
 * not know would be silently taken by a newer Conductor, or ignored by this one: either way it is refused here).
 * Every object the policies accept has each of its keys in the table of its model, at any depth; data maps
 * (`inputParameters`, `input`, `variables`, ...) are Conductor's `Map<String, Object>` and are not walked.
 *
 * A capability is granted by a scope `conductor-capability/<name>` on the caller's key or JWT (`grantedCapabilities`);
 * nothing grants one by default, admins included. A granted capability still stays inside the tenant's names: the
 * fields it opens are checked and prefixed by the policies (workflowDefs.ts, events.ts), see each entry.
 */
import { hasScope } from "../../formats/scopes";
import { isObj, type Obj } from "../../jsonValue";

/** The powers a definition may be granted, each a scope `conductor-capability/<name>`. */
export const CAPABILITIES = [
  /** JavaScript on the Conductor server (Nashorn's ScriptEvaluator, the `javascript` and `graaljs` evaluators). */
  "javascript",
  /** Python on the Conductor server (the `python` evaluator, GraalPy). */
  "python",
  /** jq programs (JSON_JQ_TRANSFORM). */
  "jq",
  /** HTTP requests from the Conductor server's network (HTTP). */
  "http",
  /** Kafka messages to a broker the definition names (KAFKA_PUBLISH), on a topic in the tenant's names. */
  "kafka",
  /** Events on Conductor's own queues (EVENT `conductor[:name]` sinks), which the tenant's event handlers read. */
  "event",
  /** A workflow's status sent to a listener (`workflowStatusListenerEnabled`, `workflowStatusListenerSink`). */
  "status_listener",
  /** Starting other workflows of the tenant from data (START_WORKFLOW, an event handler's `start_workflow`). */
  "start_workflow",
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The scope type that grants capabilities: `conductor-capability/javascript`, `conductor-capability/*`. */
export const CAPABILITY_SCOPE = "conductor-capability";

export const capabilityScope = (c: Capability) => `${CAPABILITY_SCOPE}/${c}`;

/** The capabilities a caller's scopes grant (none unless named: fail closed). */
export function grantedCapabilities(scopes: readonly string[]): ReadonlySet<Capability> {
  return new Set(CAPABILITIES.filter((c) => hasScope(scopes, capabilityScope(c))));
}

/** No capability: what a worker's run-time task list, or a caller granted none, is held to. */
export const NO_CAPABILITIES: ReadonlySet<Capability> = new Set();

/**
 * What the gateway does with one field.
 * - `data`: Conductor stores it or reads it as data; no power of its own.
 * - `checked`: the policy reads it and checks or rewrites it (names prefixed, task lists walked, evaluators looked up).
 * - `gateway`: the gateway sets it; a client's value is replaced or refused where it says so.
 * - `capability`: it evaluates code or sends outside the workflow: refused unless the capability is granted (when it
 *   is engaged: present, not null, not `""`, not `false`), then checked like `checked`.
 * - `refused`: never accepted when present (`why` says what it would do).
 */
export type FieldRule =
  | { readonly rule: "data" | "checked" | "gateway" }
  | { readonly rule: "capability"; readonly capability: Capability; readonly why: string }
  | { readonly rule: "refused"; readonly why: string };

const data: FieldRule = { rule: "data" };
const checked: FieldRule = { rule: "checked" };
const gateway: FieldRule = { rule: "gateway" };
const needs = (capability: Capability, why: string): FieldRule => ({ rule: "capability", capability, why });
const refused = (why: string): FieldRule => ({ rule: "refused", why });

/** A model's fields, by the exact (case-sensitive) property name Jackson binds. */
export interface ModelTable {
  /** The Conductor class, as named in refusals. */
  readonly model: string;
  /** Its source file in conductor-oss/conductor. */
  readonly source: string;
  readonly fields: ReadonlyMap<string, FieldRule>;
}

const table = (model: string, source: string, fields: Record<string, FieldRule>): ModelTable => ({
  model,
  source,
  fields: new Map(Object.entries(fields)),
});

/** common/src/main/java/com/netflix/conductor/common/metadata/Auditable.java: the base of WorkflowDef and TaskDef. */
const AUDITABLE: Record<string, FieldRule> = {
  ownerApp: data,
  createTime: data,
  updateTime: data,
  createdBy: data,
  updatedBy: data,
};

const SCHEMA_WHY = "names a schema of Conductor's schema registry, shared by every tenant (and its externalRef a document to fetch)";

export const WORKFLOW_DEF: ModelTable = table(
  "WorkflowDef",
  "common/src/main/java/com/netflix/conductor/common/metadata/workflow/WorkflowDef.java",
  {
    ...AUDITABLE,
    name: checked,
    description: data,
    version: data,
    tasks: checked,
    inputParameters: data,
    outputParameters: data,
    failureWorkflow: checked,
    failureWorkflowVersion: data,
    schemaVersion: data,
    restartable: data,
    // core/listener/WorkflowStatusListener.java: every status change of the workflow goes to the configured listener.
    workflowStatusListenerEnabled: needs("status_listener", "sends the workflow's status to the status listener"),
    // Read by the status listener (Orkes): a queue or broker named by the definition.
    workflowStatusListenerSink: needs("status_listener", "sends the workflow's status to the queue it names"),
    ownerEmail: gateway,
    timeoutPolicy: data,
    timeoutSeconds: data,
    variables: data,
    inputTemplate: data,
    // A concurrency bucket every workflow of the server shares by key: prefixed with the tenant's.
    rateLimitConfig: checked,
    inputSchema: refused(SCHEMA_WHY),
    outputSchema: refused(SCHEMA_WHY),
    enforceSchema: data,
    // WorkflowClassifier / WorkflowExecutorOps: `agent_sdk` / `agentDef` make it an agent definition (LLM, tools).
    metadata: checked,
    cacheConfig: refused("its key names an entry of a cache every tenant shares"),
    maskedFields: data,
  },
);

/** CacheConfig's and RateLimitConfig's fields (common/metadata/workflow/RateLimitConfig.java). */
export const RATE_LIMIT_CONFIG: ModelTable = table(
  "RateLimitConfig",
  "common/src/main/java/com/netflix/conductor/common/metadata/workflow/RateLimitConfig.java",
  { rateLimitKey: checked, concurrentExecLimit: data, policy: data },
);

/** Keys of WorkflowDef.metadata that make it an agent definition (common/metadata/workflow/WorkflowClassifier.java). */
export const AGENT_METADATA_KEYS: readonly string[] = ["agent_sdk", "agentDef", "normalizedAgentDef"];

const JS_WHY = "Conductor evaluates it as JavaScript (core/events/ScriptEvaluator.java)";

export const WORKFLOW_TASK: ModelTable = table(
  "WorkflowTask",
  "common/src/main/java/com/netflix/conductor/common/metadata/workflow/WorkflowTask.java",
  {
    name: checked,
    taskReferenceName: data,
    description: data,
    inputParameters: checked,
    type: checked,
    // setWorkflowTaskType: a second spelling of `type`; Jackson applies whichever comes last.
    workflowTaskType: refused("a second spelling of type (use type)"),
    dynamicTaskNameParam: checked,
    caseValueParam: data,
    // core/execution/mapper/DecisionTaskMapper.java: ScriptEvaluator.eval(caseExpression, input).
    caseExpression: needs("javascript", JS_WHY),
    // Not read by the open-source server; a script by its name.
    scriptExpression: needs("javascript", "a script"),
    decisionCases: checked,
    dynamicForkJoinTasksParam: refused("a task list whose types come from data (use dynamicForkTasksParam)"),
    dynamicForkTasksParam: checked,
    dynamicForkTasksInputParamName: data,
    defaultCase: checked,
    forkTasks: checked,
    startDelay: data,
    subWorkflowParam: checked,
    joinOn: data,
    // core/execution/tasks/Event.java: the queue the task publishes to.
    sink: checked,
    optional: data,
    taskDefinition: checked,
    rateLimited: data,
    defaultExclusiveJoinTask: data,
    asyncComplete: data,
    // core/execution/tasks/DoWhile.java: ScriptEvaluator.evalBool(loopCondition, ...).
    loopCondition: needs("javascript", JS_WHY),
    loopOver: checked,
    // DoWhile.evaluateItemsList: a `${...}` parameter, resolved as data.
    items: data,
    retryCount: data,
    // core/execution/mapper/SwitchTaskMapper.java: evaluators.get(evaluatorType).evaluate(expression, input).
    evaluatorType: checked,
    expression: checked,
    onStateChange: refused("its events go to queues the gateway does not check"),
    joinStatus: data,
    cacheConfig: refused("its key names an entry of a cache every tenant shares"),
    permissive: data,
    joinMode: data,
    metadata: data,
  },
);

export const SUB_WORKFLOW_PARAMS: ModelTable = table(
  "SubWorkflowParams",
  "common/src/main/java/com/netflix/conductor/common/metadata/workflow/SubWorkflowParams.java",
  {
    name: checked,
    version: data,
    taskToDomain: refused("task domains are set by the gateway"),
    workflowDefinition: refused("an inline definition would run one no admin registered"),
    idempotencyKey: refused("idempotency keys are not accepted in definitions (a key another tenant uses returns its execution)"),
    idempotencyStrategy: refused("idempotency keys are not accepted in definitions"),
    priority: data,
  },
);

const QUEUE_WHY = "routes the task to a system-task queue of the operator's";

export const TASK_DEF: ModelTable = table("TaskDef", "common/src/main/java/com/netflix/conductor/common/metadata/tasks/TaskDef.java", {
  ...AUDITABLE,
  name: checked,
  description: data,
  retryCount: data,
  timeoutSeconds: data,
  inputKeys: data,
  outputKeys: data,
  runtimeMetadata: data,
  timeoutPolicy: data,
  retryLogic: data,
  retryDelaySeconds: data,
  responseTimeoutSeconds: data,
  concurrentExecLimit: data,
  // Merged under a task's inputParameters (ParametersUtils.getTaskInputV2): keys that carry power are refused.
  inputTemplate: checked,
  rateLimitPerFrequency: data,
  rateLimitFrequencyInSeconds: data,
  // core/execution/tasks/IsolatedTaskQueueProducer.java, core/utils/QueueUtils.java.
  isolationGroupId: refused(QUEUE_WHY),
  executionNameSpace: refused(QUEUE_WHY),
  ownerEmail: gateway,
  pollTimeoutSeconds: data,
  backoffScaleFactor: data,
  maxRetryDelaySeconds: data,
  backoffJitterMs: data,
  baseType: refused("not read by the open-source server; another task type's behaviour by name"),
  totalTimeoutSeconds: data,
  // The operator's task status listener (on by default in TaskDef), not a destination the definition names.
  taskStatusListenerEnabled: data,
  inputSchema: refused(SCHEMA_WHY),
  outputSchema: refused(SCHEMA_WHY),
  enforceSchema: data,
});

/**
 * Input keys that choose code, a request or a task list for some task type (see TASK_TYPES). A task definition's
 * `inputTemplate` fills in inputs a task leaves out, so these are refused there: the policies only check them in a
 * task's own inputParameters.
 */
export const POWER_INPUT_KEYS: readonly string[] = [
  "evaluatorType",
  "expression",
  "queryExpression",
  "scriptExpression",
  "http_request",
  "uri",
  "vipAddress",
  "kafka_request",
  "startWorkflow",
  "sink",
  "forkTaskName",
  "forkTaskType",
  "forkTaskWorkflow",
  "forkTaskWorkflowVersion",
  "forkTaskInputs",
  "dynamicTasks",
  "dynamic_tasks",
  "dynamicTasksInput",
  "subWorkflowDefinition",
  "subWorkflowTaskToDomain",
];

const EVENT_HANDLER_SOURCE = "common/src/main/java/com/netflix/conductor/common/metadata/events/EventHandler.java";

export const EVENT_HANDLER: ModelTable = table("EventHandler", EVENT_HANDLER_SOURCE, {
  name: checked,
  event: checked,
  // core/events/DefaultEventProcessor.java: evaluated with `evaluatorType`, or as JavaScript when it names none.
  condition: checked,
  actions: checked,
  active: data,
  evaluatorType: checked,
});

const UNCHECKABLE_ACTION = "names workflow ids the gateway cannot check when the event fires";

export const EVENT_ACTION: ModelTable = table("EventHandler.Action", EVENT_HANDLER_SOURCE, {
  action: checked,
  start_workflow: needs("start_workflow", "starts a workflow when the event fires"),
  complete_task: refused(UNCHECKABLE_ACTION),
  fail_task: refused(UNCHECKABLE_ACTION),
  terminate_workflow: refused(UNCHECKABLE_ACTION),
  update_workflow_variables: refused(UNCHECKABLE_ACTION),
  start_agent: refused("starts an agent (LLM and tools)"),
  expandInlineJSON: data,
});

export const EVENT_START_WORKFLOW: ModelTable = table("EventHandler.StartWorkflow", EVENT_HANDLER_SOURCE, {
  name: checked,
  version: data,
  correlationId: gateway,
  input: data,
  inputMessage: refused("protobuf input, unreadable here (send input)"),
  taskToDomain: gateway,
});

/**
 * The StartWorkflowRequest a START_WORKFLOW task reads from `inputParameters.startWorkflow`
 * (core/execution/tasks/StartWorkflow.java, objectMapper.convertValue; common/metadata/workflow/StartWorkflowRequest.java).
 */
export const START_WORKFLOW_INPUT: ModelTable = table(
  "StartWorkflowRequest",
  "common/src/main/java/com/netflix/conductor/common/metadata/workflow/StartWorkflowRequest.java",
  {
    name: checked,
    version: data,
    // Set to the starting workflow's own (`${workflow.correlationId}`, the starter's subject): who owns a started
    // workflow is not the definition's or the input's to choose.
    correlationId: gateway,
    input: data,
    priority: data,
    taskToDomain: gateway,
    workflowDef: refused("an inline definition would run one no admin registered"),
    externalInputPayloadStoragePath: refused("input from external storage, unreadable here"),
    idempotencyKey: refused("idempotency keys are not accepted in definitions"),
    idempotencyStrategy: refused("idempotency keys are not accepted in definitions"),
    createdBy: data,
  },
);

/** HttpTask.Input, what `inputParameters.http_request` becomes (http-task/.../tasks/http/HttpTask.java). */
export const HTTP_REQUEST: ModelTable = table("HttpTask.Input", "http-task/src/main/java/com/netflix/conductor/tasks/http/HttpTask.java", {
  method: data,
  vipAddress: refused("a service found by discovery, not a URL written out"),
  appName: refused("a service found by discovery, not a URL written out"),
  headers: data,
  uri: checked,
  body: data,
  accept: data,
  contentType: data,
  connectionTimeOut: data,
  readTimeOut: data,
});

/** KafkaPublishTask.Input, what `inputParameters.kafka_request` becomes (kafka/.../tasks/kafka/KafkaPublishTask.java). */
export const KAFKA_REQUEST: ModelTable = table(
  "KafkaPublishTask.Input",
  "kafka/src/main/java/com/netflix/conductor/contribs/tasks/kafka/KafkaPublishTask.java",
  {
    headers: data,
    bootStrapServers: checked,
    key: data,
    value: data,
    requestTimeoutMs: data,
    maxBlockMs: data,
    topic: checked,
    // KafkaProducerManager: ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, a class the producer loads by name.
    keySerializer: checked,
  },
);

/** The key serializers KafkaPublishTask knows (its own comparisons): any other name is a class Kafka would load. */
export const KAFKA_KEY_SERIALIZERS: readonly string[] = [
  "org.apache.kafka.common.serialization.StringSerializer",
  "org.apache.kafka.common.serialization.LongSerializer",
  "org.apache.kafka.common.serialization.IntegerSerializer",
];

/**
 * Conductor's evaluators by name (core/execution/evaluators/*.java, `@Component(NAME)`), with the capability each
 * needs. A name not here is refused: SWITCH would fail, and an event handler's condition would fall back to
 * JavaScript (DefaultEventProcessor: no evaluator of that name -> ScriptEvaluator).
 */
export const EVALUATORS: ReadonlyMap<string, Capability | null> = new Map<string, Capability | null>([
  ["value-param", null], // ValueParamEvaluator.java: reads the input parameter the expression names.
  ["javascript", "javascript"], // JavascriptEvaluator.java
  ["graaljs", "javascript"], // GraalJSEvaluator.java
  ["python", "python"], // PythonEvaluator.java
]);

/** A task type as the gateway treats it. */
export interface TaskTypeRule {
  /** Needed for any task of the type (fields may need more, see WORKFLOW_TASK and workflowDefs.ts). */
  readonly capability: Capability | null;
  /** In ALLOWED_SYSTEM_TASKS when the variable is unset. */
  readonly defaultAllowed: boolean;
  /** May appear in a task list supplied at run time (a worker's `dynamic_tasks`): its inputs are only data. */
  readonly runtime: boolean;
  /** Refused whatever ALLOWED_SYSTEM_TASKS says (why). */
  readonly unsupported?: string;
  /** Where Conductor maps and runs it. */
  readonly source: string;
}

const MAPPER = "core/src/main/java/com/netflix/conductor/core/execution/mapper/";
const TASKS = "core/src/main/java/com/netflix/conductor/core/execution/tasks/";
const type = (
  capability: Capability | null,
  defaultAllowed: boolean,
  source: string,
  extra: { runtime?: boolean; unsupported?: string } = {},
): TaskTypeRule => ({ capability, defaultAllowed, runtime: extra.runtime ?? false, unsupported: extra.unsupported, source });
const AI = "an LLM, MCP or agent task: calls outside the network with the operator's integrations";

/**
 * Every task type of common/metadata/tasks/TaskType.java, and the system tasks of the modules that ship with the
 * server. A type not here is refused (TaskType.of maps an unknown name to USER_DEFINED: a task queued under a name
 * the gateway does not prefix).
 */
export const TASK_TYPES: ReadonlyMap<string, TaskTypeRule> = new Map<string, TaskTypeRule>([
  ["SIMPLE", type(null, true, `${MAPPER}SimpleTaskMapper.java`, { runtime: true })],
  ["DYNAMIC", type(null, false, `${MAPPER}DynamicTaskMapper.java`)],
  ["FORK_JOIN", type(null, true, `${MAPPER}ForkJoinTaskMapper.java`)],
  // The run-time type of a FORK_JOIN (TaskType.TASK_TYPE_FORK). No mapper has its name, so DeciderService maps it as
  // USER_DEFINED: a task named in the tenant's space, typed FORK; in the default list as it always was.
  ["FORK", type(null, true, `${TASKS}Fork.java`)],
  ["FORK_JOIN_DYNAMIC", type(null, true, `${MAPPER}ForkJoinDynamicTaskMapper.java`)],
  ["DECISION", type(null, true, `${MAPPER}DecisionTaskMapper.java`)],
  ["SWITCH", type(null, true, `${MAPPER}SwitchTaskMapper.java`)],
  ["JOIN", type(null, true, `${MAPPER}JoinTaskMapper.java`)],
  ["EXCLUSIVE_JOIN", type(null, true, `${MAPPER}ExclusiveJoinTaskMapper.java`)],
  ["DO_WHILE", type(null, true, `${TASKS}DoWhile.java`)],
  ["SUB_WORKFLOW", type(null, true, `${MAPPER}SubWorkflowTaskMapper.java`, { runtime: true })],
  ["START_WORKFLOW", type("start_workflow", false, `${TASKS}StartWorkflow.java`)],
  ["EVENT", type("event", true, `${TASKS}Event.java`)],
  ["WAIT", type(null, true, `${MAPPER}WaitTaskMapper.java`, { runtime: true })],
  ["HUMAN", type(null, false, `${MAPPER}HumanTaskMapper.java`)],
  ["HTTP", type("http", false, "http-task/src/main/java/com/netflix/conductor/tasks/http/HttpTask.java")],
  ["LAMBDA", type("javascript", false, `${TASKS}Lambda.java`)],
  // Its capability is its evaluator's (inputParameters.evaluatorType), see workflowDefs.ts.
  ["INLINE", type(null, false, `${TASKS}Inline.java`)],
  ["TERMINATE", type(null, true, `${TASKS}Terminate.java`, { runtime: true })],
  ["KAFKA_PUBLISH", type("kafka", true, "kafka/src/main/java/com/netflix/conductor/contribs/tasks/kafka/KafkaPublishTask.java")],
  ["JSON_JQ_TRANSFORM", type("jq", true, `${MAPPER}JsonJQTransformTaskMapper.java`)],
  ["SET_VARIABLE", type(null, true, `${TASKS}SetVariable.java`, { runtime: true })],
  ["NOOP", type(null, false, `${TASKS}Noop.java`)],
  [
    "USER_DEFINED",
    type(null, false, `${MAPPER}UserDefinedTaskMapper.java`, { unsupported: "a task queued under a type name no tenant's worker polls" }),
  ],
  ["PULL_WORKFLOW_MESSAGES", type(null, false, `${TASKS}PullWorkflowMessages.java`, { unsupported: "reads messages of workflows by id" })],
  ...[
    "LLM_TEXT_COMPLETE",
    "LLM_CHAT_COMPLETE",
    "LLM_INDEX_TEXT",
    "LLM_SEARCH_INDEX",
    "LLM_GENERATE_EMBEDDINGS",
    "LLM_STORE_EMBEDDINGS",
    "LLM_GET_EMBEDDINGS",
    "LIST_MCP_TOOLS",
    "CALL_MCP_TOOL",
    "AGENT",
    "GET_AGENT_CARD",
    "CANCEL_AGENT",
  ].map((t): [string, TaskTypeRule] => [
    t,
    type(null, false, "common/src/main/java/com/netflix/conductor/common/metadata/tasks/TaskType.java", { unsupported: AI }),
  ]),
]);

/** ALLOWED_SYSTEM_TASKS when unset. */
export const DEFAULT_ALLOWED_TASK_TYPES: readonly string[] = [...TASK_TYPES].filter(([, r]) => r.defaultAllowed).map(([t]) => t);

/**
 * Types a task list supplied at run time (a worker's `dynamic_tasks`, a skipped task's output) may hold (see
 * TaskTypeRule.runtime). Conductor merges the fork's per-task input (`dynamicForkTasksInputParamName`, also data)
 * over each forked task's input parameters, so a type whose behaviour is chosen by its inputs (code, a DYNAMIC name,
 * a nested dynamic fork, an HTTP or Kafka request, an EVENT's sink) cannot be checked there.
 */
export const RUNTIME_TASK_TYPES: readonly string[] = [...TASK_TYPES].filter(([, r]) => r.runtime).map(([t]) => t);

/** Whether a field is there for Conductor: not absent, null, `{}` or `[]` (which Jackson reads as its default). */
export function present(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return true;
}

/**
 * Whether a power field is engaged: present, and not `""` (empty code runs nothing) nor `false`. Anything else is,
 * whatever its JSON type: Jackson coerces scalars (`"true"` and `1` to a boolean true, `5` to a string "5").
 */
export const engaged = (v: unknown): boolean => present(v) && v !== "" && v !== false;

/** Why a capability is missing, as the refusal says it. */
export const missingCapability = (where: string, c: Capability, why: string) =>
  `${where}: needs capability ${c} (scope ${capabilityScope(c)}): ${why}`;

/** A problem with one object's fields against its model's table: its code (400, or 403 for a missing capability). */
export interface FieldProblem {
  reason: string;
  forbidden: boolean;
}

/**
 * Every key of `obj` checked against `t`: unknown keys refused (400), refused fields refused when present (400),
 * capability fields refused when engaged and not granted (403). `checked` and `gateway` fields are the caller's
 * to handle. Null when all is well.
 */
export function fieldProblem(obj: Obj, t: ModelTable, where: string, granted: ReadonlySet<Capability>): FieldProblem | null {
  for (const key of Object.keys(obj)) {
    const rule = t.fields.get(key);
    const here = where === "" ? key : `${where}.${key.slice(0, 64)}`;
    if (!rule) return { reason: `${here}: not a field of Conductor's ${t.model} (unknown fields are refused)`, forbidden: false };
    if (rule.rule === "refused" && present(obj[key])) return { reason: `${here} is not accepted: ${rule.why}`, forbidden: false };
    if (rule.rule === "capability" && engaged(obj[key]) && !granted.has(rule.capability)) {
      return { reason: missingCapability(here, rule.capability, rule.why), forbidden: true };
    }
  }
  return null;
}
