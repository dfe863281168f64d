/**
 * What a Conductor handler finds on the context, built once per request before it runs (after the shared services
 * step, src/services.ts): the caller (principal, tenant, admin or not) and Conductor's and Schellar's API over the
 * request's upstream clients, whose identity headers and subrequest budget are fixed when they are made. Handlers
 * read `c.get("caller")`, `c.get("conductor")`, `c.get("schellar")` (not `c.var`, which copies every variable into a new object); nothing below them reads the context again. Admin-only
 * routes add `adminOnly(...)` after `conductorServices`.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppContext, AppVariables } from "../../context";
import type { Env } from "../../config";
import { forbidden } from "../../errors";
import type { Principal } from "../../identity/principal";
import { hasScope } from "../../formats/scopes";
import { requirePrincipal } from "../../pipeline";
import type { ExecutionViewer } from "./executions";
import { isConductorAdmin } from "./rbac";
import { ConductorUpstream } from "./upstream";
import { refuseRespelledTenants } from "./workers/tenants";

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
  await refuseRespelledTenants(asAppContext(c), p, [p.tenant]);
  const config = c.get("config");
  const caller: Caller = {
    principal: p,
    tenant: p.tenant,
    subject: p.subject,
    email: p.email ?? p.subject,
    admin: isConductorAdmin(p, config.adminRoles, config.adminGroups),
  };
  c.set("caller", caller);
  const services = c.get("services");
  const maxAnswer = config.maxUpstreamAnswerBytes;
  c.set("conductor", new ConductorUpstream(() => services.upstream("conductor"), caller.tenant, services.budget, maxAnswer));
  c.set("schellar", new ConductorUpstream(() => services.upstream("schellar"), caller.tenant, services.budget, maxAnswer));
  await next();
};

/** Admits Conductor admins only (ADMIN_ROLES / ADMIN_GROUPS); `what` names the refused thing in the message. */
export function adminOnly(what: string): MiddlewareHandler<ConductorEnv> {
  return async (c, next) => {
    requireAdmin(c.get("caller"), what);
    await next();
  };
}

/** Throws 403 unless the caller is a Conductor admin (`what` names what they asked for). */
export function requireAdmin(caller: Caller, what: string): void {
  if (!caller.admin) throw forbidden(`${what} is for Conductor admins (ADMIN_ROLES / ADMIN_GROUPS)`);
}
