/**
 * The arithmetic of one limit in one pool: a token bucket for the rate, a calendar counter for the quota, and the
 * lease an isolate takes from them. Pure: state and clock in, state and answer out (the counter object stores the
 * state; tests drive the clock).
 *
 * Why a token bucket rather than a sliding window: a lease is then simply tokens moved from the bucket to an
 * isolate (one number, one write), whatever the time; the state is two numbers; a refusal knows exactly when the
 * cost will be available (Retry-After = deficit / rate); and a burst up to the limit passes while a sustained flood
 * is held to the rate. The price: in the worst case (a full bucket emptied, then refilled) a window of W seconds
 * admits up to 2 L, where a sliding window would admit L. docs/ratelimits.md states the bound.
 */
import { RATE_LEASE_DIVISOR } from "../constants";
import type { QuotaPeriod } from "../formats/rateLimitRule";

export interface RateSpec {
  /** Cost units per window, and the bucket's capacity. */
  limit: number;
  windowS: number;
}

export interface QuotaSpec {
  limit: number;
  period: QuotaPeriod;
}

/** One limit as the counter object needs it. */
export interface LimitSpec {
  id: string;
  version: number;
  rate: RateSpec;
  quota: QuotaSpec | null;
  shadow: boolean;
}

export interface BucketState {
  version: number;
  tokens: number;
  updatedMs: number;
  /** The quota period the count belongs to (`2026-11-27` or `2026-11`), null without a quota. */
  quotaPeriod: string | null;
  quotaUsed: number;
  /** The last window a refusal was reported as first in (`r:<index>` or `q:<period>`): audits once per window. */
  auditedWindow: string | null;
}

/** The UTC period `now` falls in. */
export function periodKey(period: QuotaPeriod, now: number): string {
  const iso = new Date(now).toISOString();
  return period === "day" ? iso.slice(0, 10) : iso.slice(0, 7);
}

/** When the UTC period `now` falls in ends (epoch ms). */
export function periodEnd(period: QuotaPeriod, now: number): number {
  const d = new Date(now);
  return period === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Length of the UTC period `now` falls in, in seconds (a month's is its own number of days). */
export function periodSeconds(period: QuotaPeriod, now: number): number {
  if (period === "day") return 86_400;
  const d = new Date(now);
  return (Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)) / 1000;
}

export function freshState(spec: LimitSpec, now: number): BucketState {
  return {
    version: spec.version,
    tokens: spec.rate.limit,
    updatedMs: now,
    quotaPeriod: spec.quota ? periodKey(spec.quota.period, now) : null,
    quotaUsed: 0,
    auditedWindow: null,
  };
}

/**
 * The state brought to `now`: tokens refilled (never above the limit), a new quota period started afresh, a
 * changed limit adopted (tokens cut to the new capacity, the quota count kept if the period kind is unchanged),
 * and unspent tokens an isolate hands back added (capped likewise).
 */
export function settle(state: BucketState, spec: LimitSpec, now: number, returned = 0): BucketState {
  const s = { ...state };
  if (s.version !== spec.version) {
    s.version = spec.version;
    s.tokens = Math.min(s.tokens, spec.rate.limit);
    if (!spec.quota) {
      s.quotaPeriod = null;
      s.quotaUsed = 0;
    }
  }
  const elapsed = Math.max(0, now - s.updatedMs);
  const rate = spec.rate.limit / (spec.rate.windowS * 1000);
  s.tokens = Math.min(spec.rate.limit, s.tokens + elapsed * rate + Math.max(0, returned));
  s.updatedMs = Math.max(s.updatedMs, now);
  if (spec.quota) {
    const key = periodKey(spec.quota.period, now);
    if (s.quotaPeriod !== key) {
      s.quotaPeriod = key;
      s.quotaUsed = 0;
    } else if (returned > 0) {
      s.quotaUsed = Math.max(0, s.quotaUsed - returned);
    }
  }
  return s;
}

/**
 * Why a limit refused: `rate` (the bucket holds less than the cost: wait Retry-After), `quota` (the period's count
 * is used up: wait for the next period), `cost` (the cost is more than the whole rate limit or quota: it can never
 * pass, and no wait helps).
 */
export type RefusalReason = "rate" | "quota" | "cost";

export interface Take {
  /** Tokens granted (at least `cost`), 0 when refused. */
  granted: number;
  /** What is left to grant after this, in whole units (min of the bucket and the quota). */
  available: number;
  /** When the bucket will be full again, from now. */
  fullInMs: number;
  /** Refused: why, and when the cost will be available (0 for `cost`: never). */
  refusal: { reason: RefusalReason; retryAfterMs: number; window: string } | null;
}

/** Whether `cost` is more than the whole rate limit or the whole quota of a limit: then it can never pass. */
export const exceedsWhole = (spec: Pick<LimitSpec, "rate" | "quota">, cost: number): boolean =>
  cost > spec.rate.limit || (spec.quota !== null && cost > spec.quota.limit);

/** What `cost` would get from a settled state: a lease of a tenth of what remains (never less than the cost). */
export function evaluate(state: BucketState, spec: LimitSpec, cost: number, now: number): Take {
  const rate = spec.rate.limit / (spec.rate.windowS * 1000);
  const quotaLeft = spec.quota ? Math.max(0, spec.quota.limit - state.quotaUsed) : Infinity;
  const available = Math.min(state.tokens, quotaLeft);
  const fullInMs = Math.ceil((spec.rate.limit - state.tokens) / rate);
  const refused = (reason: RefusalReason, retryAfterMs: number, window: string): Take => ({
    granted: 0,
    available: Math.floor(available),
    fullInMs,
    refusal: { reason, retryAfterMs, window },
  });
  const rateWindow = Math.floor(now / (spec.rate.windowS * 1000));
  // A cost above the whole capacity (or the whole quota) can never pass: waiting would not help, so none is named.
  if (exceedsWhole(spec, cost)) return refused("cost", 0, `c:${rateWindow}`);
  if (spec.quota && cost > quotaLeft) return refused("quota", periodEnd(spec.quota.period, now) - now, `q:${state.quotaPeriod}`);
  if (cost > state.tokens) return refused("rate", Math.ceil((cost - state.tokens) / rate), `r:${rateWindow}`);
  const granted = Math.min(Math.floor(available), Math.max(cost, Math.floor(available / RATE_LEASE_DIVISOR)));
  return { granted: Math.max(granted, cost), available: Math.floor(available - Math.max(granted, cost)), fullInMs, refusal: null };
}

/** The state after granting `granted` tokens. */
export function consume(state: BucketState, spec: LimitSpec, granted: number): BucketState {
  return { ...state, tokens: state.tokens - granted, quotaUsed: spec.quota ? state.quotaUsed + granted : state.quotaUsed };
}
