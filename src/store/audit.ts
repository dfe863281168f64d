/**
 * The audit trail: who did what, decided how. Admin actions and (later) GraphQL mutation decisions.
 */
import { and, desc, eq, gte, lt, lte, sql } from "drizzle-orm";
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
}

/**
 * One INSERT for a batch, its rows in a single JSON parameter: building drizzle's multi-row VALUES (8 bound
 * parameters a row, each checked and encoded) cost the Worker more than the request it audits, and the database
 * as much again to parse; one JSON text costs one JSON.stringify here and one jsonb parse there.
 */
export async function insertAuditEvents(db: Database, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = JSON.stringify(
    events.map((e) => ({
      action: e.action,
      decision: e.decision,
      actor_subject: e.actorSubject,
      actor_key_id: e.actorKeyId ?? null,
      tenant: e.tenant ?? null,
      target: e.target ?? null,
      request_id: e.requestId ?? null,
      details: e.details ?? {},
    })),
  );
  await db.execute(sql`
    INSERT INTO ${auditEvents} (action, decision, actor_subject, actor_key_id, tenant, target, request_id, details)
    SELECT action, decision, actor_subject, actor_key_id, tenant, target, request_id, details
    FROM jsonb_to_recordset(${rows}::jsonb) AS r(action text, decision text, actor_subject text, actor_key_id text,
      tenant text, target text, request_id text, details jsonb)`);
}

export interface AuditFilter {
  action?: string;
  decision?: string;
  subject?: string;
  tenant?: string;
  since?: Date;
  until?: Date;
  limit: number;
  offset: number;
}

export async function listAuditEvents(db: Database, f: AuditFilter) {
  const conds = [];
  if (f.action) conds.push(eq(auditEvents.action, f.action));
  if (f.decision) conds.push(eq(auditEvents.decision, f.decision));
  if (f.subject) conds.push(eq(auditEvents.actorSubject, f.subject));
  if (f.tenant) conds.push(eq(auditEvents.tenant, f.tenant));
  if (f.since) conds.push(gte(auditEvents.at, f.since));
  if (f.until) conds.push(lte(auditEvents.at, f.until));
  const rows = await db
    .select()
    .from(auditEvents)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(f.limit)
    .offset(f.offset);
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}

/** Deletes events older than `before`; returns how many went. */
export async function pruneAuditEvents(db: Database, before: Date): Promise<number> {
  const rows = await db.delete(auditEvents).where(lt(auditEvents.at, before)).returning({ id: auditEvents.id });
  return rows.length;
}
