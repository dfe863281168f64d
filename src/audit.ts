/**
 * Writes an audit event without delaying the answer: one structured log line now, one `audit_events` row through
 * `waitUntil`. A failed row write is logged, never turned into a failed request.
 */
import { waitUntil, type AppContext } from "./context";
import { withDatabase } from "./db/client";
import { insertAuditEvents, type AuditEvent } from "./store/audit";

export function recordAudit(c: AppContext, event: AuditEvent, logEvent = "audit"): void {
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
  waitUntil(
    c,
    withDatabase(c.get("config"), (db) => insertAuditEvents(db, [event])).catch(() =>
      log.error("audit.write_failed", { action: event.action, target: event.target ?? undefined }),
    ),
  );
}
