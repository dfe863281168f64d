/**
 * Task queue listings, cut down to the tenant's own queues. Pure.
 *
 * Conductor names a queue `<taskType>` or, for a task domain, `<domain>:<taskType>`; the gateway starts every
 * workflow with domain = tenant, so a tenant's queues are `T:T___type` (and `T___type` for tasks polled without a
 * domain). Shared `GLOBAL___` queues carry every tenant's work and are left out.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { tenantPrefix } from "./tenantNames";

/** The tenant's name for a queue, or null when it is not the tenant's. */
export function tenantQueueName(queue: string, tenant: TenantName): string | null {
  const prefix = tenantPrefix(tenant);
  const domain = `${tenant}:`;
  const rest = queue.startsWith(domain) ? queue.slice(domain.length) : queue;
  if (!rest.startsWith(prefix)) return null;
  const type = rest.slice(prefix.length);
  return type === "" ? null : type;
}

/** `{queueName: size}` (queue/all, queue/sizes) kept to the tenant's queues, renamed; null when not a map. */
export function filterQueueSizes(answer: unknown, tenant: TenantName): Record<string, unknown> | null {
  if (!isObj(answer)) return null;
  const out: Record<string, unknown> = {};
  for (const [queue, size] of Object.entries(answer)) {
    const name = tenantQueueName(queue, tenant);
    if (name !== null) out[name] = ((out[name] as number | undefined) ?? 0) + (typeof size === "number" ? size : 0);
  }
  return out;
}

/**
 * queue/all/verbose: `{taskType: {domain: {...}}}`; kept: the tenant's task types, in the tenant's domain (or none).
 */
export function filterQueueVerbose(answer: unknown, tenant: TenantName): Record<string, unknown> | null {
  if (!isObj(answer)) return null;
  const out: Record<string, unknown> = {};
  for (const [queue, byDomain] of Object.entries(answer)) {
    const name = tenantQueueName(queue, tenant);
    if (name === null || !isObj(byDomain)) continue;
    const kept: Obj = {};
    for (const [domain, v] of Object.entries(byDomain)) if (domain === tenant || domain === "DEFAULT") kept[domain] = v;
    out[name] = kept;
  }
  return out;
}
