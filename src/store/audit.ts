/**
 * The audit trail: who did what, decided how. Every refusal (any engine, the admin API), allowed writes, admin
 * actions, and allowed reads when AUDIT_READS is on (src/audit.ts decides what is recorded and aggregates).
 */
import { and, desc, eq, gte, lt, lte, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { auditEvents } from "../db/schema";

/**
 * The words of a decision, the same in the API, the console, explain, logs and docs: `allowed` or `refused` for a
 * decision on a request, `done` for an operator's action.
 */
export const AUDIT_DECISIONS = ["allowed", "refused", "done"] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];

export interface AuditEvent {
  action: string;
  decision: AuditDecision;
  actorSubject: string;
  actorKeyId?: string | null;
  tenant?: string | null;
  target?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
  /** The route group (`conductor`, `argo`, `admin`, ...); filled from the request when left out (src/audit.ts). */
  engine?: string | null;
  /** Method and route pattern; filled from the request when left out. */
  route?: string | null;
}

/** An event as written: its own time, and for an aggregated run its count, last time and key. */
export interface AuditRow extends AuditEvent {
  /** When it happened (ISO 8601), the first of the run. */
  at: string;
  lastAt: string;
  count: number;
  dedupeKey: string | null;
}

/**
 * One INSERT for a batch, its rows in a single JSON parameter: building drizzle's multi-row VALUES (8 bound
 * parameters a row, each checked and encoded) cost the Worker more than the request it audits, and the database
 * as much again to parse; one JSON text costs one JSON.stringify here and one jsonb parse there. A row whose
 * `dedupe_key` is already stored (the same refusal, same window, written by an earlier batch or another isolate)
 * is added to that row: its count grows and its last time moves on, so a flood adds no rows. A batch never holds
 * one key twice (src/audit.ts aggregates first), which ON CONFLICT DO UPDATE requires.
 */
export async function insertAuditEvents(db: Database, events: (AuditEvent & Partial<AuditRow>)[]): Promise<void> {
  if (events.length === 0) return;
  // An event written as it happens (the CLI's bootstrap) takes the time of the write.
  const now = new Date().toISOString();
  const rows = JSON.stringify(
    events.map((e) => ({
      at: e.at ?? now,
      last_at: e.lastAt ?? e.at ?? now,
      count: e.count ?? 1,
      action: e.action,
      decision: e.decision,
      actor_subject: e.actorSubject,
      actor_key_id: e.actorKeyId ?? null,
      tenant: e.tenant ?? null,
      target: e.target ?? null,
      request_id: e.requestId ?? null,
      engine: e.engine ?? null,
      route: e.route ?? null,
      dedupe_key: e.dedupeKey ?? null,
      details: e.details ?? {},
    })),
    // PostgreSQL's text and jsonb refuse NUL, which a refusal's message may quote from the request (a field's
    // name): one such row would fail its whole batch, so NUL is written as U+FFFD.
    (_key, value: unknown) => (typeof value === "string" && value.includes("\u0000") ? value.replaceAll("\u0000", "\uFFFD") : value),
  );
  await db.execute(sql`
    INSERT INTO ${auditEvents} AS a (at, last_at, count, action, decision, actor_subject, actor_key_id, tenant, target,
      request_id, engine, route, dedupe_key, details)
    SELECT at, last_at, count, action, decision, actor_subject, actor_key_id, tenant, target, request_id, engine, route,
      dedupe_key, details
    FROM jsonb_to_recordset(${rows}::jsonb) AS r(at timestamptz, last_at timestamptz, count integer, action text,
      decision text, actor_subject text, actor_key_id text, tenant text, target text, request_id text, engine text,
      route text, dedupe_key text, details jsonb)
    ON CONFLICT (dedupe_key) DO UPDATE SET count = a.count + EXCLUDED.count,
      at = LEAST(a.at, EXCLUDED.at), last_at = GREATEST(a.last_at, EXCLUDED.last_at)`);
}

export interface AuditFilter {
  action?: string;
  decision?: string;
  subject?: string;
  tenant?: string;
  engine?: string;
  /** Events (runs) that overlap [since, until]: a run's last event at or after `since`, its first at or before `until`. */
  since?: Date;
  until?: Date;
  limit: number;
  offset: number;
}

/** Where an export page starts: after this row, in the order of the listing (newest first). */
export interface AuditCursor {
  at: Date;
  id: number;
}

function conditions(f: Omit<AuditFilter, "limit" | "offset">) {
  const conds = [];
  if (f.action) conds.push(eq(auditEvents.action, f.action));
  if (f.decision) conds.push(eq(auditEvents.decision, f.decision));
  if (f.subject) conds.push(eq(auditEvents.actorSubject, f.subject));
  if (f.tenant) conds.push(eq(auditEvents.tenant, f.tenant));
  if (f.engine) conds.push(eq(auditEvents.engine, f.engine));
  if (f.since) conds.push(gte(auditEvents.lastAt, f.since));
  if (f.until) conds.push(lte(auditEvents.at, f.until));
  return conds;
}

/** The row as the API shows it: times in ISO 8601, the aggregation key left out (it is storage's business). */
function view(r: typeof auditEvents.$inferSelect) {
  const { dedupeKey: _key, ...shown } = r;
  return { ...shown, at: r.at.toISOString(), lastAt: r.lastAt.toISOString() };
}

export async function listAuditEvents(db: Database, f: AuditFilter) {
  const conds = conditions(f);
  const rows = await db
    .select()
    .from(auditEvents)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(f.limit)
    .offset(f.offset);
  return rows.map(view);
}

/**
 * One page of an export, newest first, after `cursor` (keyset paging: rows written while the export runs neither
 * shift nor repeat what it has sent).
 */
export async function auditPage(db: Database, f: Omit<AuditFilter, "limit" | "offset">, cursor: AuditCursor | null, size: number) {
  const conds = conditions(f);
  if (cursor) {
    conds.push(or(lt(auditEvents.at, cursor.at), and(eq(auditEvents.at, cursor.at), lt(auditEvents.id, cursor.id)))!);
  }
  const rows = await db
    .select()
    .from(auditEvents)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(size);
  const last = rows.at(-1);
  return { events: rows.map(view), next: last && rows.length === size ? { at: last.at, id: last.id } : null };
}

/** Deletes events whose last occurrence is older than `before`; returns how many went. */
export async function pruneAuditEvents(db: Database, before: Date): Promise<number> {
  const rows = await db.delete(auditEvents).where(lt(auditEvents.lastAt, before)).returning({ id: auditEvents.id });
  return rows.length;
}

/** One cell of the audit's counts: events (runs weighed by their `count`) of one engine and decision in one bucket. */
export interface AuditCountCell {
  /** The bucket's index: its start is `since + bucket * stepS` (`since` a multiple of `stepS`). */
  bucket: number;
  engine: string | null;
  decision: string;
  count: number;
}

/**
 * Events counted per time bucket, engine and decision (a run of N identical refusals counts N, in the bucket of its
 * first event: a run spans at most AUDIT_AGGREGATION_WINDOW_MS). Only the buckets that hold events are returned.
 * `stepS` is a whole number of seconds; `since` is a multiple of it (buckets aligned on UTC).
 */
export async function countAuditEvents(
  db: Database,
  f: Omit<AuditFilter, "limit" | "offset" | "since" | "until"> & { since: Date; until: Date; stepS: number },
): Promise<AuditCountCell[]> {
  if (!Number.isInteger(f.stepS) || f.stepS < 1) throw new Error("stepS must be a whole number of seconds");
  const conds = [...conditions({ ...f, since: undefined, until: undefined }), gte(auditEvents.at, f.since), lt(auditEvents.at, f.until)];
  // The step is written into the statement (a checked integer): as a parameter it would be a different expression
  // in SELECT and GROUP BY, which PostgreSQL refuses.
  const bucket = sql<number>`floor((extract(epoch from ${auditEvents.at}) - ${sql.raw(String(Math.floor(f.since.getTime() / 1000)))}) / ${sql.raw(String(f.stepS))})`;
  const rows = await db
    .select({
      bucket: bucket.mapWith(Number),
      engine: auditEvents.engine,
      decision: auditEvents.decision,
      count: sql<number>`sum(${auditEvents.count})`.mapWith(Number),
    })
    .from(auditEvents)
    .where(and(...conds))
    .groupBy(sql`1`, auditEvents.engine, auditEvents.decision)
    .orderBy(sql`1`);
  return rows;
}
