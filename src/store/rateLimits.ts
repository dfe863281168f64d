/**
 * Rate limits and usage in PostgreSQL: the operator's settings (`rate_limits`), how often each fired, and the
 * usage cells isolates write in batches (`usage_counters`).
 */
import { and, asc, eq, gte, lt, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { rateLimits, usageCounters } from "../db/schema";
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
  targetKind: r.targetKind as TargetKind,
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
  targetKind: TargetKind;
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

/**
 * Sets the limit of a target on a route group: creates it, or (same kind, target and group) replaces its setting,
 * bumping its version so the counters adopt it.
 */
export async function putRateLimit(db: Database, input: RateLimitInput, by: string): Promise<{ limit: RateLimitView; created: boolean }> {
  const values = {
    targetKind: input.targetKind,
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
  const id = newId();
  const [r] = await db
    .insert(rateLimits)
    .values({ id, ...values })
    .onConflictDoUpdate({
      target: [rateLimits.targetKind, rateLimits.target, rateLimits.routeGroup],
      set: { ...values, version: sql`${rateLimits.version} + 1`, updatedAt: new Date() },
    })
    .returning();
  return { limit: toView(r!), created: r!.id === id };
}

/** Changes parts of an existing limit (mode, rate, quota, description); null when there is none. */
export async function updateRateLimit(
  db: Database,
  id: string,
  patch: Partial<Pick<RateLimitInput, "rate" | "quota" | "mode" | "description">>,
  by: string,
): Promise<RateLimitView | null> {
  const set: Record<string, unknown> = { updatedBy: by, updatedAt: new Date(), version: sql`${rateLimits.version} + 1` };
  if (patch.rate) {
    set.rateLimit = patch.rate.limit;
    set.rateWindowS = patch.rate.windowS;
  }
  if (patch.quota !== undefined) {
    set.quotaLimit = patch.quota?.limit ?? null;
    set.quotaPeriod = patch.quota?.period ?? null;
  }
  if (patch.mode) set.mode = patch.mode;
  if (patch.description !== undefined) set.description = patch.description;
  const [r] = await db.update(rateLimits).set(set).where(eq(rateLimits.id, id)).returning();
  return r ? toView(r) : null;
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

/** Deletes cells of a resolution older than `before`; returns how many went. */
export async function pruneUsage(db: Database, resolution: UsageResolution, before: Date): Promise<number> {
  const rows = await db
    .delete(usageCounters)
    .where(and(eq(usageCounters.resolution, resolution), lt(usageCounters.bucketStart, before)))
    .returning({ s: usageCounters.subject });
  return rows.length;
}
