/**
 * Time series for charts (the console's audit and usage charts, `GET /admin/audit/counts`, `/admin/usage/series`):
 * the step of a range, and sparse database cells laid out as dense arrays, one count per bucket. Pure.
 */

/** The steps a chart's buckets take, in seconds: a minute up to a week, each a divisor of the next day or week. */
export const CHART_STEPS_S = [60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 604_800] as const;

/** Buckets a chart holds when its step is chosen here (a step given by the caller may make more, up to the route's bound). */
export const CHART_DEFAULT_BUCKETS = 48;

/**
 * The smallest step of CHART_STEPS_S that lays `rangeMs` out in at most `buckets` buckets, one more allowed for the
 * range's start aligned down (so "the last 24 hours" asked a moment ago still gets 30-minute buckets); the largest
 * step if none does.
 */
export function chartStepS(rangeMs: number, buckets = CHART_DEFAULT_BUCKETS): number {
  return CHART_STEPS_S.find((s) => Math.ceil(rangeMs / (s * 1000)) <= buckets + 1) ?? CHART_STEPS_S[CHART_STEPS_S.length - 1]!;
}

/** `ms` down to a multiple of `stepS` (buckets are aligned on UTC: an hour's start, a day's midnight UTC). */
export const alignDown = (ms: number, stepS: number) => ms - (((ms % (stepS * 1000)) + stepS * 1000) % (stepS * 1000));

/** How many buckets of `stepS` cover [since, until): since aligned, until rounded up. */
export const bucketCount = (since: number, until: number, stepS: number) => Math.max(1, Math.ceil((until - since) / (stepS * 1000)));

export interface AuditSeries {
  /** The route group (`prefect`, `conductor`, `argo`, `admin`, ...); null for events recorded without one. */
  engine: string | null;
  decision: string;
  total: number;
  /** Events in each bucket: `counts[i]` from `since + i * stepS`. */
  counts: number[];
}

/** Audit cells (bucket index, engine, decision, count) as one dense series per engine and decision, largest first. */
export function auditSeries(cells: { bucket: number; engine: string | null; decision: string; count: number }[], n: number): AuditSeries[] {
  const byName = new Map<string, AuditSeries>();
  for (const c of cells) {
    if (c.bucket < 0 || c.bucket >= n) continue;
    const name = `${c.engine ?? ""}\u0000${c.decision}`;
    let s = byName.get(name);
    if (!s) {
      s = { engine: c.engine, decision: c.decision, total: 0, counts: new Array<number>(n).fill(0) };
      byName.set(name, s);
    }
    s.counts[c.bucket]! += c.count;
    s.total += c.count;
  }
  return [...byName.values()].sort(
    (a, b) => b.total - a.total || (a.engine ?? "").localeCompare(b.engine ?? "") || a.decision.localeCompare(b.decision),
  );
}

export interface UsageSeries {
  /** The tenant, subject, key id or route group; "" for requests without one (a token has no key id). */
  name: string;
  /** For a key: its subject and tenant. */
  owner?: { subject: string; tenant: string };
  total: { requests: number; cost: number; refused: number };
  requests: number[];
  cost: number[];
  refused: number[];
}

/**
 * Usage cells (bucket start, name or null for the rest, sums) as dense series in `names` order, and the rest as
 * one series (null when there is none).
 */
export function usageSeriesOf(
  cells: { at: Date; name: string | null; requests: number; cost: number; refused: number }[],
  names: string[],
  since: number,
  stepS: number,
  n: number,
  owners: Map<string, { subject: string; tenant: string }> = new Map(),
): { series: UsageSeries[]; rest: Omit<UsageSeries, "name"> | null } {
  const make = (): Omit<UsageSeries, "name"> => ({
    total: { requests: 0, cost: 0, refused: 0 },
    requests: new Array<number>(n).fill(0),
    cost: new Array<number>(n).fill(0),
    refused: new Array<number>(n).fill(0),
  });
  const byName = new Map<string, UsageSeries>(
    names.map((name) => {
      const owner = owners.get(name);
      return [name, { name, ...(owner ? { owner } : {}), ...make() }];
    }),
  );
  let rest: Omit<UsageSeries, "name"> | null = null;
  for (const c of cells) {
    const i = Math.floor((c.at.getTime() - since) / (stepS * 1000));
    if (i < 0 || i >= n) continue;
    const s = c.name === null ? (rest ??= make()) : byName.get(c.name);
    if (!s) continue;
    s.requests[i]! += c.requests;
    s.cost[i]! += c.cost;
    s.refused[i]! += c.refused;
    s.total.requests += c.requests;
    s.total.cost += c.cost;
    s.total.refused += c.refused;
  }
  return { series: [...byName.values()], rest };
}
