/**
 * Schellar schedules across the tenant boundary. Pure.
 *
 * A schedule is named `<workflowName>:<version>` (Schellar keys schedules by name, and a `/` in one breaks its
 * routes); upstream it is `T___<workflowName>:<version>` for workflow `T___<workflowName>`, started with the tenant's
 * task domain and the scheduling caller as correlation id. Those two are the gateway's: a client may not set them.
 */
import type { TenantName } from "../../identity/principal";
import { isObj, type Obj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";
import { isGlobalName, nameProblem, prefixTenant, stripTenant } from "./tenantNames";

const VERSION = /^[1-9][0-9]{0,8}$/;

/** `workflowName:version` split and checked, or refused. */
export function parseScheduleName(name: string): Verdict<{ workflowName: string; version: string }> {
  const colon = name.lastIndexOf(":");
  if (colon <= 0) return refuse("schedule name must be <workflowName>:<version>");
  const workflowName = name.slice(0, colon);
  const version = name.slice(colon + 1);
  const p = nameProblem(workflowName);
  if (p) return refuse(`schedule name: invalid workflow name (${p})`);
  if (!VERSION.test(version)) return refuse("schedule name: version must be a positive whole number");
  return allow({ workflowName, version });
}

/** The upstream name of a client's schedule name (already checked). */
export const scheduleUpstreamName = (tenant: TenantName, name: string) => prefixTenant(tenant, name);

/**
 * The fields of a schedule, spelled exactly as Schellar's `ifc.Schedule` names them (FRINXio/schellar
 * schellar/ifc/ifc.go). Schellar decodes a body with Go's encoding/json, which matches keys to fields ignoring case
 * (Unicode simple folding: `Name`, `NAME`, `ſ` for `s`), the last match winning, and its `PUT /schedule/{name}`
 * updates the schedule the body's name names: a second spelling of `name` or `workflowName` beside the gateway's
 * would name another tenant's. Only these exact keys pass; any other key is refused, so no key can fold onto a field.
 */
const SCHEDULE_FIELDS: ReadonlySet<string> = new Set([
  "name",
  "enabled",
  "status",
  "workflowName",
  "workflowVersion",
  "workflowContext",
  "cronString",
  "parallelRuns",
  "checkWarningSeconds",
  "fromDate",
  "toDate",
  "lastUpdate",
  "correlationId",
  "taskToDomain",
]);

export function prefixSchedule(input: unknown, caller: { tenant: TenantName; subject: string }, nameFromPath?: string): Verdict<Obj> {
  if (!isObj(input)) return refuse("a schedule must be a JSON object");
  const stray = Object.keys(input).find((k) => !SCHEDULE_FIELDS.has(k));
  if (stray !== undefined) {
    return refuse(
      `${JSON.stringify(stray.slice(0, 64))} is not a schedule field (Schellar reads keys ignoring case: write each field exactly)`,
    );
  }
  if (typeof input.name !== "string") return refuse("name is required");
  if (nameFromPath !== undefined && input.name !== nameFromPath) return refuse("name in the body differs from the path");
  const parsed = parseScheduleName(input.name);
  if (!parsed.ok) return parsed;
  const { workflowName, version } = parsed.value;
  if (input.workflowName !== workflowName || String(input.workflowVersion) !== version) {
    return refuse("name must be <workflowName>:<workflowVersion> of the scheduled workflow");
  }
  if (input.taskToDomain !== undefined) return refuse("taskToDomain is set by the gateway");
  if (input.correlationId !== undefined) return refuse("correlationId is set by the gateway");
  return allow({
    ...input,
    name: prefixTenant(caller.tenant, input.name),
    workflowName: prefixTenant(caller.tenant, workflowName),
    taskToDomain: { "*": caller.tenant },
    correlationId: caller.subject,
  });
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
