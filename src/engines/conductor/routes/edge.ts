/**
 * What the handlers of every Conductor area share at the edge: the request's body and query read and checked,
 * names and ids checked, the audit record, and an upstream write's answer relayed to the caller.
 */
import { recordAudit } from "../../../audit";
import { badRequest } from "../../../errors";
import type { Obj } from "../../../jsonValue";
import { chargeRateLimit } from "../../../ratelimit/enforce";
import { readBodyLimited, utf8 } from "../../../proxy/body";
import { parseClientJson, repeatedKey, requireAnswerDepth } from "../../../proxy/json";
import { orThrow } from "../../../verdict";
import { isConductorId } from "../executions";
import { secretReferenceProblem } from "../expressions";
import { asAppContext, type ConductorContext } from "../services";
import { checkName, nameProblem, stripTenantDeep, tenantPrefix } from "../tenantNames";
import { malformed, type ConductorUpstream } from "../upstream";

/**
 * The request's JSON body, or undefined when it is empty. A key repeated within one object is refused: Conductor's
 * Jackson and `JSON.parse` may not keep the same one (src/proxy/json.ts `repeatedKey`), and the upstream gets only the gateway's own
 * serialization of the parsed value.
 */
export async function jsonBody(c: ConductorContext): Promise<unknown> {
  const text = utf8(await readBodyLimited(c.req.raw, c.get("config").maxBodyBytes));
  if (text.trim() === "") return undefined;
  const value = parseClientJson(text);
  const key = repeatedKey(text);
  if (key !== null) throw badRequest(`body: the key ${JSON.stringify(key.slice(0, 64))} appears twice in one object`);
  const secret = secretReferenceProblem(value);
  if (secret !== null) throw badRequest(secret);
  return value;
}

/** A parameter of the route's path (declared by the route, so always there). */
export const pathParam = (c: ConductorContext, name: string): string => c.req.param(name) ?? "";

export function checkedName(raw: string, what = "name"): string {
  return orThrow(checkName(raw, what));
}

export function checkedId(raw: string, what = "workflow"): string {
  if (!isConductorId(raw)) throw badRequest(`not a ${what} id`);
  return raw;
}

export type ParamKind = "bool" | "int" | "text" | ((v: string) => boolean);

/** The query parameters an endpoint reads, checked and rebuilt; anything else is dropped. */
export function params(c: ConductorContext, spec: Record<string, ParamKind>): URLSearchParams {
  const incoming = new URL(c.req.url).searchParams;
  const out = new URLSearchParams();
  for (const [name, kind] of Object.entries(spec)) {
    const v = incoming.get(name);
    // Empty means absent, as in Conductor (Spring binds `sort=` to no sort): the SDKs send `sort=` by default.
    if (v === null || v === "") continue;
    const ok =
      kind === "bool"
        ? v === "true" || v === "false"
        : kind === "int"
          ? /^[0-9]{1,9}$/.test(v)
          : kind === "text"
            ? v.length <= 4_000 && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(v)
            : kind(v);
    if (!ok) throw badRequest(`query parameter ${name}: invalid value`);
    out.set(name, v);
  }
  return out;
}

/** A workflow definition's version in a path or query. */
export const VERSION = (v: string) => /^[1-9][0-9]{0,8}$/.test(v);
/** A task reference name in a query, checked like any name. */
export const TASK_REFERENCE = (v: string) => nameProblem(v) === null;

/**
 * Charges the caller's rate limits what a request decided to do (routes registered with `costing("decided")`),
 * before anything is asked of the upstream: a refusal (429) leaves the engine untouched.
 */
export function charge(c: ConductorContext, cost: number): Promise<void> {
  return chargeRateLimit(asAppContext(c), "conductor", cost);
}

/**
 * Runs what a `costing("decided")` route reads before it knows its cost; a refusal there (the caller, the body, the
 * query) is charged `refusalCost` (its method's, as on any other route), so no refusal is free of the limits.
 */
export async function chargedOnRefusal<T>(c: ConductorContext, refusalCost: number, decide: () => Promise<T>): Promise<T> {
  try {
    return await decide();
  } catch (err) {
    await charge(c, refusalCost);
    throw err;
  }
}

/** Records what the caller did (`conductor.<action>`). */
export function audit(c: ConductorContext, action: string, target: string | null, details?: Obj): void {
  const caller = c.get("caller");
  recordAudit(asAppContext(c), {
    action: `conductor.${action}`,
    decision: "done",
    actorSubject: caller.subject,
    actorKeyId: caller.principal.keyId ?? null,
    tenant: caller.tenant,
    target,
    requestId: c.get("requestId"),
    details,
  });
}

/** An upstream write's answer, relayed: JSON stripped of the tenant's prefix, text passed as it is. */
export async function relay(
  c: ConductorContext,
  upstream: ConductorUpstream,
  method: string,
  segments: string[],
  query?: URLSearchParams,
  body?: unknown,
): Promise<Response> {
  const answer = await upstream.call(method, segments, query, body);
  if (answer.text === "") return c.body(null, answer.status as 200); // the upstream's own status, empty
  if (answer.contentType.includes("json")) {
    requireAnswerDepth(answer.text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      throw malformed();
    }
    return c.json(upstream.tenant === null ? parsed : stripTenantDeep(parsed, upstream.tenant), answer.status as 200);
  }
  const text = upstream.tenant === null ? answer.text : answer.text.split(tenantPrefix(upstream.tenant)).join("");
  return c.text(text, answer.status as 200);
}
