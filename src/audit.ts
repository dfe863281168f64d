/**
 * Writes an audit event without delaying the answer: one structured log line now (the record that is never
 * lost), one `audit_events` row soon. Rows are written in batches: the first event of a quiet moment starts a
 * flush 200 ms later (through waitUntil), and events arriving meanwhile ride along, up to 200 rows per INSERT. So a
 * burst of mutations costs a few database round trips, not one connection each. The backlog is bounded: past
 * 5,000 waiting rows, rows are dropped (and counted in an error line); their log lines remain. A failed write is
 * logged, never turned into a failed request.
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

interface Queue {
  pending: AuditEvent[];
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
  const rows = queue.pending.splice(0, queue.pending.length);
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

export function recordAudit(c: AppContext, event: AuditEvent, logEvent = "audit"): void {
  const dryRun = currentDryRun();
  if (dryRun) {
    // An explained request changes nothing: the event is reported to the operator, not written.
    dryRun.audits.push({ action: event.action, decision: event.decision, target: event.target ?? null });
    return;
  }
  const log = c.get("log");
  log.audit(logEvent, {
    action: event.action,
    decision: event.decision,
    subject: event.actorSubject,
    keyId: event.actorKeyId ?? undefined,
    tenant: event.tenant ?? undefined,
    target: event.target ?? undefined,
    ...(event.details ?? {}),
  });
  const config = c.get("config");
  const id = queueId(config);
  let queue = queues.get(id);
  if (!queue) {
    queue = { pending: [], next: null };
    queues.set(id, queue);
  }
  if (queue.pending.length >= MAX_BACKLOG) {
    log.error("audit.row_dropped", { action: event.action, backlog: queue.pending.length });
    return;
  }
  queue.pending.push(event);
  queue.next ??= flush(queue, config, log);
  // The request lives until the flush that writes its row is done (through waitUntil), and no longer.
  waitUntil(c, queue.next);
}
