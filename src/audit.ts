/**
 * Writes an audit event without delaying the answer: one structured log line and one `audit_events` row, both
 * carried by a batch. The request only queues the event (with the time it was decided, `at`); the first event of
 * a quiet moment starts a flush 200 ms later (kept alive by that request's waitUntil), which writes every queued
 * event's log line (the record that is never lost: written before the database is tried, with the request's own
 * id, subject and key) and then its rows, up to 200 per INSERT. So a burst of mutations costs a few database round
 * trips, not one connection each, and nothing on any request's path but a push. The backlog is bounded: past
 * 5,000 waiting rows, rows are dropped (and counted in an error line); their log lines are written at once. A
 * failed write is logged, never turned into a failed request.
 */
import { waitUntil, type AppContext } from "./context";
import { currentDryRun } from "./dryRun";
import type { Config } from "./config";
import { withDatabase } from "./db/client";
import type { Logger } from "./log";
import { insertAuditEvents, type AuditEvent } from "./store/audit";

const FLUSH_DELAY_MS = 200;
const MAX_BATCH = 200;
const MAX_BACKLOG = 5_000;

interface Queued {
  event: AuditEvent;
  /** The request's logger (its request id, subject and key id) and the line's event name. */
  log: Logger;
  logEvent: string;
  /** When the event was decided (ISO 8601): the line is written later, at the flush. */
  at: string;
}

interface Queue {
  pending: Queued[];
  /**
   * The flush that will write the rows now pending. It takes them all when its delay is over, and later rows start
   * the next flush: so each flush ends, and a request waits only for the flush that writes its own row (a flush
   * that went on while rows kept coming would hold every request that ever waited on it).
   */
  next: Promise<void> | null;
}
/** One queue per database (tests and local stacks run several configurations in one isolate). */
const queues = new Map<string, Queue>();

async function flush(queue: Queue, config: Config, log: Logger): Promise<void> {
  await new Promise((r) => setTimeout(r, FLUSH_DELAY_MS));
  queue.next = null;
  const queued = queue.pending.splice(0, queue.pending.length);
  for (const q of queued) auditLine(q.log, q.logEvent, q.event, q.at);
  const rows = queued.map((q) => q.event);
  for (let at = 0; at < rows.length; at += MAX_BATCH) {
    const batch = rows.slice(at, at + MAX_BATCH);
    try {
      await withDatabase(config, (db) => insertAuditEvents(db, batch));
    } catch {
      log.error("audit.write_failed", { rows: batch.length, actions: [...new Set(batch.map((e) => e.action))].join(",") });
    }
  }
}

/** Waits until the rows already recorded for this configuration's database are written (reads see them). */
export async function settleAudit(config: Config): Promise<void> {
  const pending = queues.get(queueId(config))?.next;
  if (pending) await pending;
}

const queueId = (config: Config) => `${config.databaseUrl}\u0000${config.dbWsProxy ?? ""}`;

function auditLine(log: Logger, logEvent: string, event: AuditEvent, at: string): void {
  log.audit(logEvent, {
    action: event.action,
    decision: event.decision,
    subject: event.actorSubject,
    keyId: event.actorKeyId ?? undefined,
    tenant: event.tenant ?? undefined,
    target: event.target ?? undefined,
    at,
    ...(event.details ?? {}),
  });
}

export function recordAudit(c: AppContext, event: AuditEvent, logEvent = "audit"): void {
  const dryRun = currentDryRun();
  if (dryRun) {
    // An explained request changes nothing: the event is reported to the operator, not written.
    dryRun.audits.push({ action: event.action, decision: event.decision, target: event.target ?? null });
    return;
  }
  const log = c.get("log");
  const at = new Date().toISOString();
  const config = c.get("config");
  const id = queueId(config);
  let queue = queues.get(id);
  if (!queue) {
    queue = { pending: [], next: null };
    queues.set(id, queue);
  }
  if (queue.pending.length >= MAX_BACKLOG) {
    auditLine(log, logEvent, event, at);
    log.error("audit.row_dropped", { action: event.action, backlog: queue.pending.length });
    return;
  }
  queue.pending.push({ event, log, logEvent, at });
  if (queue.next === null) {
    // This request carries the flush (its timer and database connection live in its context); the others only
    // queue their rows and end as soon as they have answered.
    queue.next = flush(queue, config, log);
    waitUntil(c, queue.next);
  }
}
