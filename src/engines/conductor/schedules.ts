/**
 * Schellar schedules across the tenant boundary. Pure.
 *
 * A schedule is named `<workflowName>:<version>` (Schellar keys schedules by name, and a `/` in one breaks its
 * routes); upstream it is `T___<workflowName>:<version>` for workflow `T___<workflowName>`, started with the tenant's
 * task domain and the scheduling caller as correlation id. Those two are the gateway's: a client may not set them.
 */
import type { TenantName } from "../../identity/principal";
import { isGlobalName, nameProblem, prefixTenant, stripTenant } from "./tenantNames";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const VERSION = /^[1-9][0-9]{0,8}$/;

/** `workflowName:version` split and checked, or a refusal. */
export function parseScheduleName(name: string): { workflowName: string; version: string } | { refused: string } {
  const colon = name.lastIndexOf(":");
  if (colon <= 0) return { refused: "schedule name must be <workflowName>:<version>" };
  const workflowName = name.slice(0, colon);
  const version = name.slice(colon + 1);
  const p = nameProblem(workflowName);
  if (p) return { refused: `schedule name: invalid workflow name (${p})` };
  if (!VERSION.test(version)) return { refused: "schedule name: version must be a positive whole number" };
  return { workflowName, version };
}

/** The upstream name of a client's schedule name (already checked). */
export const scheduleUpstreamName = (tenant: TenantName, name: string) => prefixTenant(tenant, name);

export function prefixSchedule(
  input: unknown,
  caller: { tenant: TenantName; subject: string },
  nameFromPath?: string,
): { schedule: Obj } | { refused: string } {
  if (!isObj(input)) return { refused: "a schedule must be a JSON object" };
  if (typeof input.name !== "string") return { refused: "name is required" };
  if (nameFromPath !== undefined && input.name !== nameFromPath) return { refused: "name in the body differs from the path" };
  const parsed = parseScheduleName(input.name);
  if ("refused" in parsed) return parsed;
  if (input.workflowName !== parsed.workflowName || String(input.workflowVersion) !== parsed.version) {
    return { refused: "name must be <workflowName>:<workflowVersion> of the scheduled workflow" };
  }
  if (input.taskToDomain !== undefined) return { refused: "taskToDomain is set by the gateway" };
  if (input.correlationId !== undefined) return { refused: "correlationId is set by the gateway" };
  return {
    schedule: {
      ...input,
      name: prefixTenant(caller.tenant, input.name),
      workflowName: prefixTenant(caller.tenant, parsed.workflowName),
      taskToDomain: { "*": caller.tenant },
      correlationId: caller.subject,
    },
  };
}

/** The tenant's view of a stored schedule, or null when it is not the tenant's. */
export function stripSchedule(input: unknown, tenant: TenantName): Obj | null {
  if (!isObj(input) || typeof input.name !== "string" || typeof input.workflowName !== "string") return null;
  const name = stripTenant(tenant, input.name);
  const workflowName = stripTenant(tenant, input.workflowName);
  if (name === null || workflowName === null || isGlobalName(name)) return null;
  const { taskToDomain: _t, correlationId: _c, ...rest } = input;
  return { ...rest, name, workflowName };
}
