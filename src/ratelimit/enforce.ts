/**
 * Rate limits on the hot path, in the isolate.
 *
 *   request -> limit table (memory; "no limits" ends here) -> the rules that match the caller and route group
 *           -> per pool (counter object): spend from this isolate's lease, or ask the counter for a new one
 *           -> allowed (RateLimit headers), or 429 RATE_LIMITED with Retry-After (enforced limits only), or 413
 *              COST_EXCEEDS_LIMIT without one when the cost is more than a whole limit (it can never pass)
 *
 * Leases: the counter hands an isolate a slice of the bucket (a tenth of what is left, at least the cost); the
 * isolate spends it locally until it is gone or RATE_LEASE_TTL_MS old, then hands the rest back with its next
 * request to that counter. Tokens leave the bucket when leased, so N isolates together never spend more than the
 * bucket gave out: the bound (docs/ratelimits.md) does not grow with N. A refusal is remembered until its
 * Retry-After, so a client hammering a closed limit is refused here without asking the counter again.
 *
 * Counter unreachable (no binding, an error, or no answer in RATE_COUNTER_TIMEOUT_MS): allowed and logged, or
 * refused with 429 when RATE_LIMIT_ON_UNAVAILABLE=refuse. Never a 5xx.
 */
import { currentDryRun } from "../dryRun";
import type { MiddlewareHandler } from "hono";
import { recordAudit } from "../audit";
import { editAnswerHeaders, waitUntil, type AppContext, type AppEnv, type RateLimitOutcome } from "../context";
import { RATE_COUNTER_TIMEOUT_MS, RATE_LEASE_MAX_ENTRIES, RATE_LEASE_TTL_MS, RATE_UNAVAILABLE_RETRY_S } from "../constants";
import { GatewayError } from "../errors";
import type { Principal } from "../identity/principal";
import { exceedsWhole, periodEnd, periodSeconds, type RefusalReason } from "./bucket";
import type { AcquireAnswer, RateLimitCounter } from "./counter";
import type { RouteGroup } from "../formats/rateLimitRule";
import { LimitsUnavailable, limitTable, matchLimits, type MatchedLimit } from "./limits";
import { recordFire, recordUsage } from "./usage";

interface Lease {
  version: number;
  /** Tokens this isolate may still spend. */
  tokens: number;
  expiresAt: number;
  /** Refused until then (the counter's Retry-After) for a cost of at least `deniedCost`; a smaller one asks again. */
  deniedUntil: number;
  deniedCost: number;
  /** Why: a repeated refusal answered here says what the counter said. */
  deniedReason: RefusalReason;
  /** The counter's verdict on the mode (its newest setting of the limit). */
  deniedShadow: boolean;
  /** The counter reported a window's first refusal that this isolate then served from spare tokens: the next refusal here is audited. */
  auditOwed?: boolean;
  /**
   * What the counter still held after the grant, per policy (the bucket, and the quota or null), and when its bucket
   * is full again: each RateLimit item reports its own policy from these plus the lease's unspent tokens.
   */
  rateLeft: number;
  quotaLeft: number | null;
  fullAt: number;
}

const leases = new Map<string, Lease>();
const leaseName = (m: MatchedLimit) => `${m.pool}\u0000${m.spec.id}`;

function putLease(name: string, lease: Lease): void {
  leases.delete(name);
  leases.set(name, lease);
  // Bounded: the oldest go first; their unspent tokens are never spent (under, never over, the limit).
  while (leases.size > RATE_LEASE_MAX_ENTRIES) leases.delete(leases.keys().next().value!);
}

/** Drops this isolate's leases (after a limit changed here; tests). Unspent tokens are not returned: under, never over. */
export function forgetLeasesInIsolate(): void {
  leases.clear();
}

const sfString = (s: string) => `"${s.replace(/[\\"]/g, "")}"`;

/** A limit's refusal of this request: which limit, why, and when to retry (ms; 0 for `cost`). */
interface Refusal {
  m: MatchedLimit;
  reason: RefusalReason;
  retryAfterMs: number;
}

/** The RateLimit item names of a limit's two policies: its rate (the limit's id) and its quota (`<id>-quota`). */
const quotaPolicy = (id: string) => `${id}-quota`;
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * `RateLimit-Policy` and `RateLimit` items, one per policy (a limit's rate, and its quota when it has one), each
 * describing that policy alone: what it still holds and when it is full again, or, for the policy that refused this
 * request (or refused lately, remembered here), `r=0` and the seconds until it admits the cost again. A `cost`
 * refusal leaves the policy's figures as they are: it is not exhausted, the request is too big for it.
 */
function describe(matched: readonly MatchedLimit[], now: number, refusals: readonly Refusal[] = []): RateLimitOutcome {
  const policy: string[] = [];
  const state: string[] = [];
  for (const m of matched) {
    const { rate, quota, id } = m.spec;
    policy.push(`${sfString(id)};q=${rate.limit};w=${rate.windowS}`);
    if (quota) policy.push(`${sfString(quotaPolicy(id))};q=${quota.limit};w=${periodSeconds(quota.period, now)}`);
    const held = leases.get(leaseName(m));
    const lease = held && held.version === m.spec.version ? held : undefined;
    const refusal: { reason: RefusalReason; retryAfterMs: number } | undefined =
      refusals.find((r) => r.m === m) ??
      (lease && lease.deniedUntil > now ? { reason: lease.deniedReason, retryAfterMs: lease.deniedUntil - now } : undefined);
    if (refusal?.reason === "rate") state.push(`${sfString(id)};r=0;t=${seconds(refusal.retryAfterMs)}`);
    else if (lease) {
      const r = Math.min(rate.limit, Math.max(0, Math.floor(lease.rateLeft + lease.tokens)));
      state.push(`${sfString(id)};r=${r};t=${Math.max(0, Math.ceil((lease.fullAt - now) / 1000))}`);
    }
    if (!quota) continue;
    if (refusal?.reason === "quota") state.push(`${sfString(quotaPolicy(id))};r=0;t=${seconds(refusal.retryAfterMs)}`);
    else if (lease && lease.quotaLeft !== null) {
      const r = Math.min(quota.limit, Math.max(0, Math.floor(lease.quotaLeft + lease.tokens)));
      state.push(`${sfString(quotaPolicy(id))};r=${r};t=${Math.ceil((periodEnd(quota.period, now) - now) / 1000)}`);
    }
  }
  return { policy, state };
}

function counterOf(c: AppContext, pool: string): DurableObjectStub<RateLimitCounter> | null {
  const ns = c.env.RATE_LIMITER as DurableObjectNamespace<RateLimitCounter> | undefined;
  if (!ns || typeof ns.idFromName !== "function") return null;
  return ns.get(ns.idFromName(pool));
}

async function ask(
  c: AppContext,
  pool: string,
  limits: MatchedLimit[],
  cost: number,
  returns: Record<string, number>,
): Promise<AcquireAnswer> {
  const stub = counterOf(c, pool);
  if (!stub) throw new Error("RATE_LIMITER binding missing");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error("counter timeout")), RATE_COUNTER_TIMEOUT_MS)),
  );
  try {
    return await Promise.race([stub.acquire({ limits: limits.map((m) => m.spec), cost, returns }) as Promise<AcquireAnswer>, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * The error of a refusal. Every refusal carries the same fields: `reason` (`rate`, `quota`, `cost`, `unavailable`),
 * `limit` (the limit's id, null when no counter could be asked), `policy` (the RateLimit item that refused), `cost`
 * and `retryAfterS` (null for `cost`: no wait helps).
 */
function refusalError(r: Refusal, cost: number): GatewayError {
  const { id, rate, quota } = r.m.spec;
  if (r.reason === "cost") {
    const overQuota = cost <= rate.limit && quota !== null;
    const capacity = overQuota ? `quota of ${quota!.limit} a ${quota!.period}` : `rate limit of ${rate.limit} per ${rate.windowS} s`;
    return new GatewayError(
      "COST_EXCEEDS_LIMIT",
      `this request costs ${cost}, more than limit ${id}'s whole ${capacity}: it can never pass`,
      {
        reason: "cost",
        limit: id,
        policy: overQuota ? quotaPolicy(id) : id,
        cost,
        retryAfterS: null,
      },
    );
  }
  const quotaRefused = r.reason === "quota";
  return new GatewayError("RATE_LIMITED", quotaRefused ? `quota ${id} exhausted` : `rate limit ${id} exceeded`, {
    reason: r.reason,
    limit: id,
    policy: quotaRefused ? quotaPolicy(id) : id,
    cost,
    retryAfterS: seconds(r.retryAfterMs),
  });
}

function unavailableError(cost: number): GatewayError {
  return new GatewayError("RATE_LIMITED", "rate limiter unavailable; try again shortly", {
    reason: "unavailable",
    limit: null,
    policy: null,
    cost,
    retryAfterS: RATE_UNAVAILABLE_RETRY_S,
  });
}

/**
 * The refusal that answers when several limits refused: one that can never pass first (its client must not
 * retry), else the longest wait (every limit must admit the request).
 */
function decisive(refusals: readonly Refusal[]): Refusal {
  return refusals.reduce((a, b) => (a.reason === "cost" ? a : b.reason === "cost" ? b : b.retryAfterMs > a.retryAfterMs ? b : a));
}

/** Sets what the refusal says in its headers (Retry-After agrees with the body's retryAfterS); returns the error to throw. */
function refuse(c: AppContext, outcome: RateLimitOutcome, err: GatewayError): GatewayError {
  const retryAfterS = err.details?.retryAfterS;
  c.set("rateLimit", { ...outcome, retryAfterS: typeof retryAfterS === "number" ? retryAfterS : undefined });
  return err;
}

function auditFire(c: AppContext, p: Principal, m: MatchedLimit, group: RouteGroup, cost: number, reason: RefusalReason, shadow: boolean) {
  recordAudit(
    c,
    {
      action: shadow ? "ratelimit.shadow" : "ratelimit.refused",
      decision: shadow ? "allowed" : "refused",
      actorSubject: p.subject,
      actorKeyId: p.keyId ?? null,
      tenant: p.tenant ?? null,
      target: m.spec.id,
      requestId: c.get("requestId"),
      details: { pool: m.pool.slice(0, 300), routeGroup: group, cost, reason, mode: shadow ? "shadow" : "enforce" },
    },
    "RATE_LIMIT",
    // A shadow firing is not the request's decision: the request's own entry (allowed or refused) is recorded too.
    { beside: shadow },
  );
}

/** Takes `cost` from every lease of a pool if each covers it (synchronously: no other request interleaves). */
function takeLocally(ms: readonly MatchedLimit[], cost: number, now: number): Lease[] | null {
  const held = ms.map((m) => leases.get(leaseName(m)));
  if (!held.every((l, i) => l && l.version === ms[i]!.spec.version && l.expiresAt > now && l.tokens >= cost)) return null;
  for (const l of held) l!.tokens -= cost;
  return held as Lease[];
}

function takeAuditOwed(m: MatchedLimit): boolean {
  const lease = leases.get(leaseName(m));
  if (!lease?.auditOwed) return false;
  lease.auditOwed = false;
  return true;
}

/** Acquisitions under way, by pool: concurrent requests of one isolate wait for one answer instead of each asking. */
const inflight = new Map<string, Promise<unknown>>();

type Obtained =
  | { kind: "local"; leases: Lease[] }
  | { kind: "answer"; answer: AcquireAnswer; reserved: Lease[]; at: number }
  | { kind: "error" };

/**
 * Tokens for one pool: from a lease another request of this isolate is fetching (waited for, then taken here if it
 * covers the cost), else from the counter. The answer is applied to the leases before anyone waiting resumes, and
 * this request's own cost is reserved out of its grant, so concurrent requests never take the same tokens.
 */
async function obtain(c: AppContext, pool: string, ms: MatchedLimit[], cost: number): Promise<Obtained> {
  for (let round = 0; round < 2; round++) {
    const pending = inflight.get(pool);
    if (!pending) break;
    await pending.catch(() => {});
    const local = takeLocally(ms, cost, Date.now());
    if (local) return { kind: "local", leases: local };
  }
  // Whatever this isolate still holds of these limits goes back with the request for a new lease.
  const returns: Record<string, number> = {};
  for (const m of ms) {
    const l = leases.get(leaseName(m));
    // A lease granted under an older setting goes back too: the counter caps what it takes back at the new limit.
    if (l && l.tokens > 0) {
      returns[m.spec.id] = l.tokens;
      l.tokens = 0;
    }
  }
  const work = ask(c, pool, ms, cost, returns).then((answer): Obtained => {
    const at = Date.now();
    const reserved: Lease[] = [];
    for (const a of answer.answers) {
      const m = ms.find((x) => x.spec.id === a.id);
      if (!m) continue;
      const name = leaseName(m);
      const spare = a.granted > 0 ? a.granted - cost : 0;
      const existing = leases.get(name);
      let lease: Lease;
      if (existing && existing.version === m.spec.version && existing.expiresAt > at && (!a.refusal || existing.tokens > 0)) {
        // Tokens another answer brought meanwhile stay, with their (earlier) expiry; a refusal does not throw them
        // away (the counter had none left, this isolate still has some).
        existing.tokens += spare;
        existing.rateLeft = a.rateLeft;
        existing.quotaLeft = a.quotaLeft;
        existing.fullAt = at + a.fullInMs;
        existing.deniedUntil = 0;
        lease = existing;
      } else {
        lease = {
          version: m.spec.version,
          tokens: spare,
          expiresAt: at + RATE_LEASE_TTL_MS,
          // A cost refusal names no wait: it is remembered for a lease's lifetime, so repeats spare the counter.
          deniedUntil: a.refusal ? at + (a.refusal.reason === "cost" ? RATE_LEASE_TTL_MS : a.refusal.retryAfterMs) : 0,
          deniedCost: cost,
          deniedReason: a.refusal?.reason ?? "rate",
          deniedShadow: a.shadow,
          rateLeft: a.rateLeft,
          quotaLeft: a.quotaLeft,
          fullAt: at + a.fullInMs,
          auditOwed: existing?.auditOwed,
        };
        putLease(name, lease);
      }
      if (a.granted > 0) reserved.push(lease);
    }
    if (!answer.ok) {
      // The counter had nothing left, but answers to this isolate's other requests may have left spare tokens in
      // its leases meanwhile: spend those rather than refuse while they sit here.
      const local = takeLocally(ms, cost, at);
      if (local) {
        for (const a of answer.answers) {
          const m = ms.find((x) => x.spec.id === a.id);
          const lease = m && leases.get(leaseName(m));
          if (a.refusal && a.firstInWindow && lease) lease.auditOwed = true;
        }
        return { kind: "local", leases: local };
      }
    }
    return { kind: "answer", answer, reserved, at };
  });
  inflight.set(pool, work);
  void work
    .finally(() => {
      if (inflight.get(pool) === work) inflight.delete(pool);
    })
    .catch(() => {});
  try {
    return await work;
  } catch {
    return { kind: "error" };
  }
}

/**
 * Charges `cost` to every limit that applies to the caller on `group`; throws 429 RATE_LIMITED when an enforced
 * limit refuses. Records the request's usage either way.
 */
export async function chargeRateLimit(
  c: AppContext,
  group: RouteGroup,
  cost: number,
  principal: Principal | null = c.get("principal"),
): Promise<void> {
  if (!principal) return;
  const config = c.get("config");
  const log = c.get("log");
  const dryRun = currentDryRun();
  if (dryRun) {
    // `/admin/explain`: report what the request would be counted against; no counter, lease or usage is touched.
    const table = await limitTable(c.env.KEY_CACHE, config, c.get("control").cacheEpoch, (p) => waitUntil(c, p)).catch(() => null);
    const matched = table && table.size > 0 ? matchLimits(table, group, principal) : [];
    dryRun.limits.push({
      routeGroup: group,
      cost,
      limits: matched.map((m) => ({ id: m.rule.id, pool: m.pool, mode: m.rule.mode, rate: m.rule.rate, quota: m.rule.quota })),
    });
    return;
  }
  const usage = (refused: boolean) => {
    const flush = recordUsage(config, log, {
      tenant: principal.tenant,
      subject: principal.subject,
      keyId: principal.keyId,
      routeGroup: group,
      cost,
      refused,
    });
    if (flush) waitUntil(c, flush);
  };

  let table;
  try {
    table = await limitTable(c.env.KEY_CACHE, config, c.get("control").cacheEpoch, (p) => waitUntil(c, p));
  } catch (err) {
    if (!(err instanceof LimitsUnavailable)) throw err;
    return unavailable(c, "limits", cost, usage);
  }
  if (table.size === 0) return usage(false);
  const matched = matchLimits(table, group, principal);
  if (matched.length === 0) return usage(false);

  const now = Date.now();
  const charged: MatchedLimit[] = [];
  for (const m of matched) {
    const lease = leases.get(leaseName(m));
    if (lease && lease.version === m.spec.version && lease.deniedUntil > now && cost >= lease.deniedCost && lease.tokens < cost) {
      // Refused a moment ago and not yet due: decided here, without the counter (and audited once already), in the
      // same words as the counter's refusal would be: a cost above the whole limit is told so even when a smaller
      // one was refused for the rate just before.
      const refusal: Refusal = exceedsWhole(m.spec, cost)
        ? { m, reason: "cost", retryAfterMs: 0 }
        : { m, reason: lease.deniedReason, retryAfterMs: lease.deniedUntil - now };
      recordFire(config, m.spec.id, lease.deniedShadow);
      if (takeAuditOwed(m)) auditFire(c, principal, m, group, cost, refusal.reason, lease.deniedShadow);
      if (!lease.deniedShadow) {
        usage(true);
        throw refuse(c, describe(matched, now, [refusal]), refusalError(refusal, cost));
      }
      if (log.enabled("info")) log.info("ratelimit.shadow", { limit: m.spec.id, cost, routeGroup: group, reason: refusal.reason });
      continue;
    }
    charged.push(m);
  }

  // Pools whose leases cover the cost are charged at once (synchronously: no other request can interleave).
  const byPool = new Map<string, MatchedLimit[]>();
  for (const m of charged) byPool.set(m.pool, [...(byPool.get(m.pool) ?? []), m]);
  const taken: Lease[] = [];
  const remote: [string, MatchedLimit[]][] = [];
  for (const [pool, ms] of byPool) {
    const local = takeLocally(ms, cost, now);
    if (local) taken.push(...local);
    else remote.push([pool, ms]);
  }

  let unreachable = false;
  const refusals: Refusal[] = [];
  let refusedAt = now;
  const reserved: Lease[] = [];
  if (remote.length > 0) {
    const obtained = await Promise.all(remote.map(([pool, ms]) => obtain(c, pool, ms, cost)));
    for (let i = 0; i < remote.length; i++) {
      const [pool, ms] = remote[i]!;
      const result = obtained[i]!;
      if (result.kind === "local") {
        taken.push(...result.leases);
        continue;
      }
      if (result.kind === "error") {
        if (config.rateLimits.onUnavailable === "refuse") {
          log.error("ratelimit.counter_unavailable", { pool: pool.slice(0, 100), decision: "refused" });
          unreachable = true;
        } else {
          log.error("ratelimit.counter_unavailable", { pool: pool.slice(0, 100), decision: "allowed" });
        }
        continue;
      }
      reserved.push(...result.reserved);
      const after = result.at;
      for (const a of result.answer.answers) {
        const m = ms.find((x) => x.spec.id === a.id);
        if (!m || !a.refusal) continue;
        recordFire(config, m.spec.id, a.shadow);
        if (a.firstInWindow || takeAuditOwed(m)) auditFire(c, principal, m, group, cost, a.refusal.reason, a.shadow);
        if (a.shadow) {
          if (log.enabled("info")) log.info("ratelimit.shadow", { limit: m.spec.id, cost, routeGroup: group, reason: a.refusal.reason });
        } else {
          refusals.push({ m, reason: a.refusal.reason, retryAfterMs: a.refusal.retryAfterMs });
          refusedAt = Math.max(refusedAt, after);
        }
      }
    }
  }

  if (refusals.length > 0 || unreachable) {
    // Nothing is spent by a refused request: what was charged here goes back to the leases.
    for (const l of taken) l.tokens += cost;
    for (const l of reserved) l.tokens += cost;
    usage(true);
    if (refusals.length === 0) throw refuse(c, describe(matched, Date.now()), unavailableError(cost));
    throw refuse(c, describe(matched, refusedAt, refusals), refusalError(decisive(refusals), cost));
  }
  c.set("rateLimit", describe(matched, Date.now()));
  usage(false);
}

function unavailable(c: AppContext, what: string, cost: number, usage: (refused: boolean) => void): void {
  const config = c.get("config");
  if (config.rateLimits.onUnavailable === "refuse") {
    c.get("log").error("ratelimit.unavailable", { what, decision: "refused" });
    usage(true);
    throw refuse(c, { policy: [], state: [] }, unavailableError(cost));
  }
  c.get("log").error("ratelimit.unavailable", { what, decision: "allowed" });
  usage(false);
}

/** The route group's middleware: charges the engine's cost of the request before the route runs. */
export function rateLimited(
  group: RouteGroup,
  costOf: (c: AppContext) => number = () => 1,
  exempt?: (c: AppContext) => boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!exempt?.(c)) await chargeRateLimit(c, group, costOf(c));
    await next();
  };
}

/**
 * Writes `RateLimit-Policy`, `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured fields) and, on a 429,
 * `Retry-After` on whatever answer the route gave, the error renderer's included.
 */
export function writeRateLimitHeaders(c: AppContext): void {
  const outcome = c.get("rateLimit");
  if (!outcome) return;
  const status = c.res.status;
  editAnswerHeaders(c, (h) => {
    if (outcome.policy.length > 0) h.set("ratelimit-policy", outcome.policy.join(", "));
    if (outcome.state.length > 0) h.set("ratelimit", outcome.state.join(", "));
    // Only a 429 names a wait: a request that can never pass (413 COST_EXCEEDS_LIMIT) is told none.
    if (status === 429 && outcome.retryAfterS !== undefined) h.set("retry-after", String(outcome.retryAfterS));
  });
}
