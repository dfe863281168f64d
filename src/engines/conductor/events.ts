/**
 * Event handlers across the tenant boundary. Pure.
 *
 * Only `conductor:<workflow>:<task>` events and `start_workflow` actions are accepted: a handler on a shared queue
 * (kafka:, sqs:, ...) would see every tenant's events, and `complete_task` / `fail_task` / `terminate_workflow` /
 * `update_workflow_variables` name workflow ids the gateway cannot check when the event fires. Both are refused
 * rather than guessed about. Every object is held to its model's table (./capabilities.ts); a `start_workflow` action
 * needs the capability `start_workflow`, and a `condition` the capability of its evaluator (`javascript` when it
 * names none: Conductor then runs it as JavaScript).
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Refused, type Verdict } from "../../verdict";
import {
  type Capability,
  EVALUATORS,
  EVENT_ACTION,
  EVENT_HANDLER,
  EVENT_START_WORKFLOW,
  NO_CAPABILITIES,
  engaged,
  fieldProblem,
  missingCapability,
  type ModelTable,
} from "./capabilities";
import { expressionProblem } from "./expressions";
import { nameProblem, prefixTenant, stripTenant } from "./tenantNames";

export interface EventCaller {
  tenant: TenantName;
  /** Becomes the correlationId of the handler and of the workflows it starts. */
  subject: string;
  /** What the caller is granted (./capabilities.ts); none when left out. */
  capabilities?: ReadonlySet<Capability>;
}

function fields(obj: Obj, t: ModelTable, where: string, granted: ReadonlySet<Capability>): Refused | null {
  const p = fieldProblem(obj, t, where, granted);
  return p === null ? null : refuse(p.reason, p.forbidden ? "FORBIDDEN" : "BAD_REQUEST");
}

/** core/events/DefaultEventProcessor.java: a condition runs on its evaluator, or as JavaScript when none of that name exists. */
function conditionProblem(input: Obj, granted: ReadonlySet<Capability>): Refused | null {
  const evaluator = input.evaluatorType;
  if (engaged(evaluator) && (typeof evaluator !== "string" || !EVALUATORS.has(evaluator))) {
    return refuse(`evaluatorType: ${JSON.stringify(String(evaluator).slice(0, 40))} is not an evaluator of Conductor's`);
  }
  if (!engaged(input.condition)) return null;
  if (typeof input.condition !== "string") return refuse("condition must be a string");
  const needed = typeof evaluator === "string" && evaluator !== "" ? EVALUATORS.get(evaluator)! : "javascript";
  if (needed && !granted.has(needed)) {
    return refuse(missingCapability("condition", needed, `Conductor evaluates it with the ${needed} evaluator`), "FORBIDDEN");
  }
  return null;
}

export function prefixEventHandler(input: unknown, caller: EventCaller): Verdict<Obj> {
  if (!isObj(input)) return refuse("an event handler must be a JSON object");
  const granted = caller.capabilities ?? NO_CAPABILITIES;
  const top = fields(input, EVENT_HANDLER, "", granted) ?? conditionProblem(input, granted);
  if (top) return top;
  const expression = expressionProblem(input, "", "payload");
  if (expression) return refuse(expression);
  const p = nameProblem(input.name);
  if (p) return refuse(`name: invalid (${p})`);
  const event = typeof input.event === "string" ? /^conductor:([^:]+):([^:]+)$/.exec(input.event) : null;
  if (!event) return refuse("event: only conductor:<workflow>:<task> events are allowed");
  const wfProblem = nameProblem(event[1]) ?? nameProblem(event[2]);
  if (wfProblem) return refuse(`event: invalid name (${wfProblem})`);
  if (!Array.isArray(input.actions)) return refuse("actions must be a list");
  const actions: Obj[] = [];
  for (const [i, a] of input.actions.entries()) {
    if (!isObj(a)) return refuse(`actions[${i}]: an action must be an object`);
    const af = fields(a, EVENT_ACTION, `actions[${i}]`, granted);
    if (af) return af;
    if (a.action !== "start_workflow" || !isObj(a.start_workflow)) {
      return refuse(`actions[${i}]: only start_workflow actions are allowed`);
    }
    const sw = a.start_workflow;
    if (sw.taskToDomain !== undefined) return refuse(`actions[${i}]: taskToDomain is set by the gateway`);
    const sf = fields(sw, EVENT_START_WORKFLOW, `actions[${i}].start_workflow`, granted);
    if (sf) return sf;
    const np = nameProblem(sw.name);
    if (np) return refuse(`actions[${i}].start_workflow.name: invalid (${np})`);
    actions.push({
      ...a,
      start_workflow: {
        ...sw,
        name: prefixTenant(caller.tenant, sw.name as string),
        taskToDomain: { "*": caller.tenant },
        correlationId: caller.subject,
      },
    });
  }
  return allow({
    ...input,
    name: prefixTenant(caller.tenant, input.name as string),
    event: `conductor:${prefixTenant(caller.tenant, event[1]!)}:${event[2]}`,
    actions,
    correlationId: caller.subject,
  });
}

/** The tenant's view of a stored handler, or null when it is not the tenant's. */
export function stripEventHandler(input: unknown, tenant: TenantName): Obj | null {
  if (!isObj(input) || typeof input.name !== "string") return null;
  const name = stripTenant(tenant, input.name);
  if (name === null) return null;
  const out: Obj = { ...input, name };
  delete out.correlationId;
  const event = typeof input.event === "string" ? /^conductor:([^:]+):(.+)$/.exec(input.event) : null;
  if (event) out.event = `conductor:${stripTenant(tenant, event[1]!) ?? event[1]}:${event[2]}`;
  if (Array.isArray(input.actions)) {
    out.actions = input.actions.map((a) => {
      if (!isObj(a) || !isObj(a.start_workflow)) return a;
      const { taskToDomain: _t, correlationId: _c, ...sw } = a.start_workflow;
      return { ...a, start_workflow: { ...sw, name: typeof sw.name === "string" ? (stripTenant(tenant, sw.name) ?? sw.name) : sw.name } };
    });
  }
  return out;
}
