/**
 * Event handlers across the tenant boundary. Pure.
 *
 * Only `conductor:<workflow>:<task>` events and `start_workflow` actions are accepted: a handler on a shared queue
 * (kafka:, sqs:, ...) would see every tenant's events, and `complete_task` / `fail_task` / `update_variables`
 * name workflow ids the gateway cannot check when the event fires. Both are refused rather than guessed about.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { IDEMPOTENCY_SCOPE_PREFIX, unscopedIdempotencyKey } from "./startWorkflow";
import { nameProblem, prefixTenant, stripTenant } from "./tenantNames";

export interface EventCaller {
  tenant: TenantName;
  /** Becomes the correlationId of the handler and of the workflows it starts. */
  subject: string;
  /**
   * `idempotencyScope(tenant, subject)`: the scope of the idempotency keys of the workflows it starts; without
   * one, an action with an idempotency key is refused.
   */
  idempotencyScope?: string;
}

export function prefixEventHandler(input: unknown, caller: EventCaller): Verdict<Obj> {
  if (!isObj(input)) return refuse("an event handler must be a JSON object");
  const p = nameProblem(input.name);
  if (p) return refuse(`name: invalid (${p})`);
  const event = typeof input.event === "string" ? /^conductor:([^:]+):([^:]+)$/.exec(input.event) : null;
  if (!event) return refuse("event: only conductor:<workflow>:<task> events are allowed");
  const wfProblem = nameProblem(event[1]) ?? nameProblem(event[2]);
  if (wfProblem) return refuse(`event: invalid name (${wfProblem})`);
  if (!Array.isArray(input.actions)) return refuse("actions must be a list");
  const actions: Obj[] = [];
  for (const [i, a] of input.actions.entries()) {
    if (!isObj(a) || a.action !== "start_workflow" || !isObj(a.start_workflow)) {
      return refuse(`actions[${i}]: only start_workflow actions are allowed`);
    }
    const sw = a.start_workflow;
    if (sw.taskToDomain !== undefined) return refuse(`actions[${i}]: taskToDomain is set by the gateway`);
    const np = nameProblem(sw.name);
    if (np) return refuse(`actions[${i}].start_workflow.name: invalid (${np})`);
    // Conductor starts these with the action's idempotencyKey (SimpleActionProcessor): scoped like a start's
    // (startWorkflow.ts), to the handler's author whose subject the started workflows carry, so no handler can
    // hold a key in another user's scope.
    const key = sw.idempotencyKey;
    if (key !== undefined && key !== null && key !== "" && typeof key !== "string")
      return refuse(`actions[${i}].start_workflow.idempotencyKey must be text`);
    const started: Obj = {
      ...sw,
      name: prefixTenant(caller.tenant, sw.name as string),
      taskToDomain: { "*": caller.tenant },
      correlationId: caller.subject,
    };
    if (typeof key === "string" && key !== "" && caller.idempotencyScope === undefined)
      return refuse(`actions[${i}].start_workflow.idempotencyKey cannot be scoped here`);
    if (typeof key === "string" && key !== "") started.idempotencyKey = `${IDEMPOTENCY_SCOPE_PREFIX}${caller.idempotencyScope}.${key}`;
    else delete started.idempotencyKey;
    actions.push({ ...a, start_workflow: started });
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
      if (typeof sw.idempotencyKey === "string") sw.idempotencyKey = unscopedIdempotencyKey(sw.idempotencyKey);
      return { ...a, start_workflow: { ...sw, name: typeof sw.name === "string" ? (stripTenant(tenant, sw.name) ?? sw.name) : sw.name } };
    });
  }
  return out;
}
