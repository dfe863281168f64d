/**
 * What a Conductor handler finds on the context, built once per request before it runs: the caller (principal,
 * tenant, admin or not) and the upstream clients, with the caller's identity headers and the request's subrequest
 * budget fixed when they are made. Handlers read `c.var.caller`, `c.var.conductor`, `c.var.schellar`; nothing below
 * them reads the context again. Admin-only routes add `adminOnly(...)` after `conductorServices`.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppContext, AppVariables } from "../../context";
import type { Env } from "../../config";
import { forbidden } from "../../errors";
import type { Principal, TenantName } from "../../identity/principal";
import { hasScope } from "../../identity/scopes";
import { requirePrincipal } from "../../pipeline";
import { SubrequestBudget } from "../../proxy/budget";
import { principalHeaders } from "../../proxy/headers";
import type { ExecutionViewer } from "./executions";
import { isConductorAdmin } from "./rbac";
import { ConductorUpstream } from "./upstream";

/** The caller as Conductor's routes see them. */
export interface Caller extends ExecutionViewer {
  principal: Principal;
  /** Recorded as `ownerEmail` of what the caller writes. */
  email: string;
}

export interface ConductorVariables {
  caller: Caller;
  /** CONDUCTOR_URL, for the caller's tenant. */
  conductor: ConductorUpstream;
  /** SCHELLAR_URL (schedules), for the caller's tenant. */
  schellar: ConductorUpstream;
}

export type ConductorEnv = { Bindings: Env; Variables: AppVariables & ConductorVariables };
export type ConductorContext = Context<ConductorEnv>;

/**
 * The same context as the app's: a Conductor context only has more variables, but Hono's `set` makes the two types
 * unrelated, so the shared steps (audit, waitUntil, requirePrincipal) are handed it through this one conversion.
 */
export const asAppContext = <E extends { Variables: AppVariables }>(c: Context<E>): AppContext => c as unknown as AppContext;

/** The caller, checked (scope `conductor`, a tenant), and their upstream clients, on the context. */
export const conductorServices: MiddlewareHandler<ConductorEnv> = async (c, next) => {
  const p = requirePrincipal(asAppContext(c));
  if (!hasScope(p.scopes, "conductor")) throw forbidden("scope conductor required");
  if (!p.tenant) throw forbidden("a tenant is required: this credential names none");
  const config = c.get("config");
  const caller: Caller = {
    principal: p,
    tenant: p.tenant,
    subject: p.subject,
    email: p.email ?? p.subject,
    admin: isConductorAdmin(p, config.adminRoles, config.adminGroups),
  };
  c.set("caller", caller);
  const budget = new SubrequestBudget(config.subrequestBudget);
  c.set("conductor", upstreamFor(c.var, "conductor", caller.tenant, budget));
  c.set("schellar", upstreamFor(c.var, "schellar", caller.tenant, budget));
  await next();
};

/** Admits Conductor admins only (ADMIN_ROLES / ADMIN_GROUPS); `what` names the refused thing in the message. */
export function adminOnly(what: string): MiddlewareHandler<ConductorEnv> {
  return async (c, next) => {
    if (!c.var.caller.admin) throw forbidden(`${what} is for Conductor admins (ADMIN_ROLES / ADMIN_GROUPS)`);
    await next();
  };
}

/**
 * A client of CONDUCTOR_URL or SCHELLAR_URL for this request (from the request's variables): the principal's identity
 * headers, the request's budget and timeout fixed now. `tenant` is whose prefix leaves error messages (null: a worker serving several).
 */
export function upstreamFor(
  request: Pick<AppVariables, "config" | "principal" | "requestId">,
  which: "conductor" | "schellar",
  tenant: TenantName | null,
  budget: SubrequestBudget,
): ConductorUpstream {
  const { config } = request;
  return new ConductorUpstream({
    base: config.upstreams[which] || null,
    variable: which === "conductor" ? "CONDUCTOR_URL" : "SCHELLAR_URL",
    tenant,
    budget,
    identity: principalHeaders(request.principal, request.requestId),
    timeoutMs: config.upstreamTimeoutMs,
  });
}
