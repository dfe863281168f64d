/**
 * A dry run of the live pipeline, for `POST /admin/explain`: the request goes through the very middleware,
 * policies and rewrites a real one does, but the scope below stops it at the first upstream call (recording what
 * would have been sent), keeps the audit trail and the rate-limit counters untouched, and takes its principal
 * from the operator's question instead of a credential. Outside `runDryRun` every hook here is a no-op: one
 * `getStore()` on the paths that use it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { GatewayError } from "./errors";
import type { Principal } from "./identity/principal";
import type { AuditDecision } from "./store/audit";

export interface UpstreamCall {
  method: string;
  url: string;
  /** Names of the headers that would have been sent (values may carry identity; the answer never echoes them). */
  headerNames: string[];
  /** The body that would have been sent, as text, cut at `DRY_RUN_BODY_CHARS`. */
  body: string | null;
  bodyTruncated: boolean;
}

export interface DryRun {
  /** The principal the operator asked about (a key by id); null: the request's own credential decides. */
  askedPrincipal: Principal | null;
  /** The principal the pipeline settled on (null: none, or the run stopped before authentication). */
  principal: Principal | null;
  /** The first upstream call the pipeline would have made; the run stops there. */
  upstreamCall: UpstreamCall | null;
  /** The refusal the pipeline produced, as thrown (before rendering). */
  error: GatewayError | null;
  /** Audit events the request would have written. */
  audits: { action: string; decision: AuditDecision; target?: string | null }[];
  /** Rate limits the request would have been counted against. */
  limits: Record<string, unknown>[];
}

const scope = new AsyncLocalStorage<DryRun>();

/** Thrown by `forward` in a dry run: the pipeline has decided and would now call the upstream. */
export class DryRunHalt extends Error {
  constructor() {
    super("dry run: stopped before the upstream call");
    this.name = "DryRunHalt";
  }
}

export const DRY_RUN_BODY_CHARS = 8_192;

export function runDryRun<T>(run: DryRun, work: () => Promise<T>): Promise<T> {
  return scope.run(run, work);
}

/** The dry run this request belongs to, or undefined for every real request. */
export const currentDryRun = (): DryRun | undefined => scope.getStore();
