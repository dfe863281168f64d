/**
 * Fan-out within the Workers limits: at most 6 simultaneous outgoing connections per request, and a subrequest
 * budget per request (SUBREQUEST_BUDGET: 50 on the free plan, 1,000 on paid). Routes that fan out (bulk checks,
 * the execution hierarchy, the worker poll) draw from one budget per request and stop before the platform would.
 */

/** Outgoing connections a Worker request may hold open at once. */
export const MAX_PARALLEL_SUBREQUESTS = 6;

/** Subrequests kept aside for the request's own non-fan-out work (credential lookup, audit write, control state). */
export const RESERVED_SUBREQUESTS = 4;

export class SubrequestBudget {
  private used = 0;
  constructor(readonly limit: number) {}

  /** Subrequests taken so far: more than none means the request reached an upstream (src/audit.ts). */
  get spent(): number {
    return this.used;
  }

  get remaining(): number {
    return Math.max(0, this.limit - RESERVED_SUBREQUESTS - this.used);
  }

  /** Takes one subrequest; false when the budget is spent. */
  take(): boolean {
    if (this.remaining <= 0) return false;
    this.used++;
    return true;
  }
}

/** `fn` over `items`, at most `limit` at a time, results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
