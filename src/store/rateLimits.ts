/**
 * Rate limits and usage in PostgreSQL: the operator's settings (`rate_limits`), how often each fired, and the
 * usage cells isolates write in batches (`usage_counters`).
 */
import { and, asc, desc, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiKeys, rateLimits, tenants, usageCounters } from "../db/schema";
import type { QuotaPeriod, RateLimitRule, RouteGroup, TargetKind } from "../formats/rateLimitRule";

type Row = typeof rateLimits.$inferSelect;

export interface RateLimitView extends RateLimitRule {
  description: string | null;
  /** Requests refused by this limit, and requests it would have refused while in shadow mode. */
  refused: number;
  wouldHaveRefused: number;
  lastFiredAt: string | null;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export const toRule = (r: Row): RateLimitRule => ({
  id: r.id,
  kind: r.targetKind as TargetKind,
  target: r.target,
  routeGroup: r.routeGroup,
  rate: { limit: r.rateLimit, windowS: r.rateWindowS },
  quota: r.quotaLimit !== null && r.quotaPeriod ? { limit: r.quotaLimit, period: r.quotaPeriod as QuotaPeriod } : null,
  mode: r.mode === "shadow" ? "shadow" : "enforce",
  version: r.version,
});

export const toView = (r: Row): RateLimitView => ({
  ...toRule(r),
  description: r.description,
  refused: r.refusedCount,
  wouldHaveRefused: r.shadowRefusedCount,
  lastFiredAt: r.lastFiredAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  updatedBy: r.updatedBy,
});

export async function listRateLimits(db: Database): Promise<RateLimitRule[]> {
  return (await db.select().from(rateLimits).orderBy(asc(rateLimits.id))).map(toRule);
}

export async function listRateLimitViews(db: Database): Promise<RateLimitView[]> {
  return (await db.select().from(rateLimits).orderBy(asc(rateLimits.id))).map(toView);
}

export async function getRateLimit(db: Database, id: string): Promise<RateLimitView | null> {
  const [r] = await db.select().from(rateLimits).where(eq(rateLimits.id, id));
  return r ? toView(r) : null;
}

export interface RateLimitInput {
  kind: TargetKind;
  target: string;
  routeGroup: RouteGroup | "*";
  rate: { limit: number; windowS: number };
  quota: { limit: number; period: QuotaPeriod } | null;
  mode: "enforce" | "shadow";
  description: string | null;
}

const newId = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `rl_${[...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("")}`;
};

/** What the counters count by: a change of any of these bumps the version (a description is not one). */
interface Setting {
  rateLimit: number;
  rateWindowS: number;
  quotaLimit: number | null;
  quotaPeriod: string | null;
  mode: string;
}

const sameSetting = (r: Setting, v: Setting) =>
  r.rateLimit === v.rateLimit &&
  r.rateWindowS === v.rateWindowS &&
  r.quotaLimit === v.quotaLimit &&
  r.quotaPeriod === v.quotaPeriod &&
  r.mode === v.mode;

/** A version bump for an upsert's update: only when the new setting differs from the stored one. */
const bumpIfSettingChanged = sql`CASE WHEN (${rateLimits.rateLimit}, ${rateLimits.rateWindowS}, ${rateLimits.quotaLimit}, ${rateLimits.quotaPeriod}, ${rateLimits.mode})
  IS NOT DISTINCT FROM (excluded.rate_limit, excluded.rate_window_s, excluded.quota_limit, excluded.quota_period, excluded.mode)
  THEN ${rateLimits.version} ELSE ${rateLimits.version} + 1 END`;

/**
 * Sets the limit of a target on a route group: creates it, or (same kind, target and group) replaces its setting,
 * bumping its version (so the counters adopt it) when the setting changed. Setting it to what it is changes
 * nothing: `changed` is false and the stored limit is returned as it was.
 */
export async function putRateLimit(
  db: Database,
  input: RateLimitInput,
  by: string,
): Promise<{ limit: RateLimitView; created: boolean; changed: boolean }> {
  const values = {
    targetKind: input.kind,
    target: input.target,
    routeGroup: input.routeGroup,
    rateLimit: input.rate.limit,
    rateWindowS: input.rate.windowS,
    quotaLimit: input.quota?.limit ?? null,
    quotaPeriod: input.quota?.period ?? null,
    mode: input.mode,
    description: input.description,
    updatedBy: by,
  };
  const [existing] = await db
    .select()
    .from(rateLimits)
    .where(and(eq(rateLimits.targetKind, input.kind), eq(rateLimits.target, input.target), eq(rateLimits.routeGroup, input.routeGroup)));
  if (existing && sameSetting(existing, values) && existing.description === values.description) {
    return { limit: toView(existing), created: false, changed: false };
  }
  const id = newId();
  const [r] = await db
    .insert(rateLimits)
    .values({ id, ...values })
    .onConflictDoUpdate({
      target: [rateLimits.targetKind, rateLimits.target, rateLimits.routeGroup],
      set: { ...values, version: bumpIfSettingChanged, updatedAt: new Date() },
    })
    .returning();
  return { limit: toView(r!), created: r!.id === id, changed: true };
}

/**
 * Changes parts of an existing limit (mode, rate, quota, description); null when there is none. A patch that
 * changes nothing (`{}`, or every field as it is) writes nothing: `changed` is false, the version stays.
 */
export async function updateRateLimit(
  db: Database,
  id: string,
  patch: Partial<Pick<RateLimitInput, "rate" | "quota" | "mode" | "description">>,
  by: string,
): Promise<{ limit: RateLimitView; changed: boolean } | null> {
  const [current] = await db.select().from(rateLimits).where(eq(rateLimits.id, id));
  if (!current) return null;
  const next: Setting = {
    rateLimit: patch.rate?.limit ?? current.rateLimit,
    rateWindowS: patch.rate?.windowS ?? current.rateWindowS,
    quotaLimit: patch.quota === undefined ? current.quotaLimit : (patch.quota?.limit ?? null),
    quotaPeriod: patch.quota === undefined ? current.quotaPeriod : (patch.quota?.period ?? null),
    mode: patch.mode ?? current.mode,
  };
  const description = patch.description === undefined ? current.description : patch.description;
  const settingChanged = !sameSetting(current, next);
  if (!settingChanged && description === current.description) return { limit: toView(current), changed: false };
  const [r] = await db
    .update(rateLimits)
    .set({
      ...next,
      description,
      updatedBy: by,
      updatedAt: new Date(),
      ...(settingChanged ? { version: sql`${rateLimits.version} + 1` } : {}),
    })
    .where(eq(rateLimits.id, id))
    .returning();
  return r ? { limit: toView(r), changed: true } : null;
}

/**
 * Which of a limit's target does not exist, as the admin API checks it: null when it does. A key id must be a key's
 * (revoked ones included), a tenant a tenant's; a subject must be some key's subject or have made a recorded
 * request (a JWT subject is known to flowgate only once it has been seen).
 */
export async function missingTarget(db: Database, kind: TargetKind, target: string): Promise<string | null> {
  if (target === "*") return null;
  if (kind === "key") {
    const [k] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, target)).limit(1);
    return k ? null : `no key has id ${target}`;
  }
  if (kind === "tenant") {
    const [t] = await db.select({ name: tenants.name }).from(tenants).where(eq(tenants.name, target)).limit(1);
    return t ? null : `no tenant is named ${target}`;
  }
  const [k] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.subject, target)).limit(1);
  if (k) return null;
  const [u] = await db.select({ s: usageCounters.subject }).from(usageCounters).where(eq(usageCounters.subject, target)).limit(1);
  return u ? null : `no key has subject ${target} and no request by it is recorded`;
}

export async function deleteRateLimit(db: Database, id: string): Promise<RateLimitView | null> {
  const [r] = await db.delete(rateLimits).where(eq(rateLimits.id, id)).returning();
  return r ? toView(r) : null;
}

/** Adds refusals counted by an isolate since its last flush: one statement for every limit that fired. */
export async function addFires(db: Database, fires: { id: string; refused: number; shadow: number }[]): Promise<void> {
  if (fires.length === 0) return;
  const values = sql.join(
    fires.map((f) => sql`(${f.id}, ${f.refused}::bigint, ${f.shadow}::bigint)`),
    sql`, `,
  );
  await db.execute(sql`UPDATE rate_limits AS l SET refused_count = l.refused_count + v.refused, shadow_refused_count = l.shadow_refused_count + v.shadow, last_fired_at = now()
    FROM (VALUES ${values}) AS v(id, refused, shadow) WHERE l.id = v.id`);
}

export type UsageResolution = "minute" | "hour" | "day";

export interface UsageCell {
  resolution: UsageResolution;
  bucketStart: Date;
  tenant: string;
  subject: string;
  keyId: string;
  routeGroup: string;
  requests: number;
  cost: number;
  refused: number;
}

/** Adds cells (each key at most once per call) to the stored counts. */
export async function addUsage(db: Database, cells: UsageCell[]): Promise<void> {
  if (cells.length === 0) return;
  await db
    .insert(usageCounters)
    .values(cells)
    .onConflictDoUpdate({
      target: [
        usageCounters.resolution,
        usageCounters.bucketStart,
        usageCounters.tenant,
        usageCounters.subject,
        usageCounters.keyId,
        usageCounters.routeGroup,
      ],
      set: {
        requests: sql`${usageCounters.requests} + excluded.requests`,
        cost: sql`${usageCounters.cost} + excluded.cost`,
        refused: sql`${usageCounters.refused} + excluded.refused`,
      },
    });
}

export interface UsageFilter {
  resolution: UsageResolution;
  tenant?: string;
  subject?: string;
  keyId?: string;
  routeGroup?: string;
  since: Date;
  until?: Date;
  limit: number;
  offset: number;
}

export async function queryUsage(db: Database, f: UsageFilter) {
  const conds = [eq(usageCounters.resolution, f.resolution), gte(usageCounters.bucketStart, f.since)];
  if (f.until) conds.push(lte(usageCounters.bucketStart, f.until));
  if (f.tenant !== undefined) conds.push(eq(usageCounters.tenant, f.tenant));
  if (f.subject !== undefined) conds.push(eq(usageCounters.subject, f.subject));
  if (f.keyId !== undefined) conds.push(eq(usageCounters.keyId, f.keyId));
  if (f.routeGroup !== undefined) conds.push(eq(usageCounters.routeGroup, f.routeGroup));
  const rows = await db
    .select()
    .from(usageCounters)
    .where(and(...conds))
    .orderBy(
      asc(usageCounters.bucketStart),
      asc(usageCounters.tenant),
      asc(usageCounters.subject),
      asc(usageCounters.keyId),
      asc(usageCounters.routeGroup),
    )
    .limit(f.limit)
    .offset(f.offset);
  return rows.map((r) => ({
    at: r.bucketStart.toISOString(),
    tenant: r.tenant || null,
    subject: r.subject,
    keyId: r.keyId || null,
    routeGroup: r.routeGroup,
    requests: r.requests,
    cost: r.cost,
    refused: r.refused,
  }));
}

/** What usage can be summed by: each is a column of the cells (`key`: the key id, empty for a token's requests). */
export const USAGE_SERIES_BY = ["tenant", "subject", "key", "routeGroup"] as const;
export type UsageSeriesBy = (typeof USAGE_SERIES_BY)[number];

const SERIES_COLUMN = {
  tenant: usageCounters.tenant,
  subject: usageCounters.subject,
  key: usageCounters.keyId,
  routeGroup: usageCounters.routeGroup,
} as const;

/** One cell of a usage series: one bucket's sums for one name (`null`: every name past the top ones). */
export interface UsageSeriesCell {
  at: Date;
  name: string | null;
  requests: number;
  cost: number;
  refused: number;
}

/**
 * Usage summed per bucket for the `top` names (tenants, subjects, keys or route groups) with the most requests over
 * the range, and for the rest together (`name: null`): two statements whatever the number of names, and at most
 * buckets x (top + 1) rows. `names` lists the top ones, most requests first; `more` says whether a rest exists.
 */
export async function usageSeries(
  db: Database,
  f: Omit<UsageFilter, "limit" | "offset"> & { by: UsageSeriesBy; top: number },
): Promise<{ names: string[]; owners: Map<string, { subject: string; tenant: string }>; more: boolean; cells: UsageSeriesCell[] }> {
  const col = SERIES_COLUMN[f.by];
  const conds = [eq(usageCounters.resolution, f.resolution), gte(usageCounters.bucketStart, f.since)];
  if (f.until) conds.push(lt(usageCounters.bucketStart, f.until));
  if (f.tenant !== undefined) conds.push(eq(usageCounters.tenant, f.tenant));
  if (f.subject !== undefined) conds.push(eq(usageCounters.subject, f.subject));
  if (f.keyId !== undefined) conds.push(eq(usageCounters.keyId, f.keyId));
  if (f.routeGroup !== undefined) conds.push(eq(usageCounters.routeGroup, f.routeGroup));
  const ranked = await db
    .select({
      name: col,
      requests: sql<number>`sum(${usageCounters.requests})`.mapWith(Number),
      // A key has one subject and tenant: named beside its id.
      subject: sql<string>`min(${usageCounters.subject})`,
      tenant: sql<string>`min(${usageCounters.tenant})`,
    })
    .from(usageCounters)
    .where(and(...conds))
    .groupBy(col)
    .orderBy(desc(sql`2`), asc(col))
    .limit(f.top + 1);
  const names = ranked.slice(0, f.top).map((r) => r.name);
  const more = ranked.length > f.top;
  const owners = new Map(f.by === "key" ? ranked.slice(0, f.top).map((r) => [r.name, { subject: r.subject, tenant: r.tenant }]) : []);
  if (names.length === 0) return { names, owners, more, cells: [] };
  // Grouped by position: the name's CASE holds parameters, which PostgreSQL would not match between SELECT and GROUP BY.
  const name = more ? sql<string | null>`CASE WHEN ${inArray(col, names)} THEN ${col} END` : sql<string | null>`${col}`;
  const cells = await db
    .select({
      at: usageCounters.bucketStart,
      name,
      requests: sql<number>`sum(${usageCounters.requests})`.mapWith(Number),
      cost: sql<number>`sum(${usageCounters.cost})`.mapWith(Number),
      refused: sql<number>`sum(${usageCounters.refused})`.mapWith(Number),
    })
    .from(usageCounters)
    .where(and(...conds))
    .groupBy(sql`1`, sql`2`)
    .orderBy(sql`1`);
  return { names, owners, more, cells };
}

/**
 * When a key was last used, from its usage cells: the latest minute cell (kept 2 days), else hour (35 days), else
 * day (USAGE_RETENTION_DAYS). Every request a route group charges (src/ratelimit/enforce.ts) adds to its key's
 * cell, written in batches, so this costs the request path nothing; it is the start of the cell, to its resolution,
 * and up to USAGE_FLUSH_INTERVAL_MS behind for isolates that have not written yet. Three index lookups
 * (usage_counters_key_idx).
 */
export async function lastUseOfKey(db: Database, keyId: string): Promise<{ at: string; resolution: UsageResolution } | null> {
  const latest = (resolution: UsageResolution) =>
    sql<
      number | null
    >`(SELECT extract(epoch from max(${usageCounters.bucketStart})) * 1000 FROM ${usageCounters} WHERE ${usageCounters.keyId} = ${keyId} AND ${usageCounters.resolution} = ${resolution})`.mapWith(
      (v: unknown) => (v === null ? null : Number(v)),
    );
  const [row] = await db.select({ minute: latest("minute"), hour: latest("hour"), day: latest("day") }).from(sql`(SELECT 1) AS one`);
  for (const resolution of ["minute", "hour", "day"] as const) {
    const ms = row?.[resolution];
    if (typeof ms === "number" && Number.isFinite(ms)) return { at: new Date(ms).toISOString(), resolution };
  }
  return null;
}

/** Deletes cells of a resolution older than `before`; returns how many went. */
export async function pruneUsage(db: Database, resolution: UsageResolution, before: Date): Promise<number> {
  const rows = await db
    .delete(usageCounters)
    .where(and(eq(usageCounters.resolution, resolution), lt(usageCounters.bucketStart, before)))
    .returning({ s: usageCounters.subject });
  return rows.length;
}
