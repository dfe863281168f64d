/**
 * The audit trail's one writer. Every decision worth keeping comes here: refusals on any route (recorded by the
 * error renderer, src/pipeline.ts `renderError`, whatever refused), allowed writes that reached an engine and
 * allowed reads when AUDIT_READS is on (recorded by the front door after the answer), and the events the engines
 * and the admin API record themselves (admin actions, Prefect mutations, rate-limit refusals). A request leaves one
 * entry per decision: the renderer records a refusal unless the route recorded that refusal itself
 * (`auditedRefusal`), the front door an allowed request only when the route recorded nothing but entries beside its decision
 * (`auditedRequest`; a shadow limit's firing stands beside it).
 *
 * Each event carries its own time (`at`, taken when it is recorded) and the request's route group (`engine`) and
 * route pattern (`route`). Nothing waits for the database: the request only queues the event; the first event of a
 * quiet moment starts a flush AUDIT_FLUSH_MS (200 ms) later (kept alive by that request's waitUntil), which writes every queued
 * event's log line (the record that is never lost: written before the database is tried) and then its rows, up to
 * 200 per INSERT. The backlog is bounded: past 5,000 waiting rows, rows are dropped (and counted in an error line);
 * their log lines are written at once. A failed write is logged, never turned into a failed request.
 *
 * Bounded under floods: a refusal identical to one already queued in the same window (same decision, action, error
 * code, engine, route, and principal, or for an anonymous request the client's address fingerprint) is added to
 * the queued entry (`count`, `lastAt`) instead of queueing another; across batches and isolates the row's
 * `dedupe_key` (those fields and the window) makes the INSERT add to the stored row (src/store/audit.ts). So a
 * flood of one kind costs one row a window, however many requests, isolates or batches carry it. The presented
 * credential is never part of an entry or its key.
 */
import { matchedRoutes } from "hono/route";
import { AUDIT_AGGREGATION_WINDOW_MS, AUDIT_ANONYMOUS_CLIENTS_PER_WINDOW, AUDIT_DEDUPE_KEY_MAX_CHARS } from "./constants";
import { waitUntil, type AppContext } from "./context";
import { currentDryRun } from "./dryRun";
import type { Config } from "./config";
import { withDatabase } from "./db/client";
import type { GatewayError } from "./errors";
import type { Logger } from "./log";
import { insertAuditEvents, type AuditDecision, type AuditEvent, type AuditRow } from "./store/audit";

const MAX_BATCH = 200;
const MAX_BACKLOG = 5_000;

interface Queued {
  row: AuditRow;
  /** The request's logger (its request id, subject and key id) and the line's event name. */
  log: Logger;
  logEvent: string;
}

interface Queue {
  pending: Queued[];
  /** The pending entries that aggregate, by their dedupe key: a repeat adds to its entry. */
  byKey: Map<string, Queued>;
  /**
   * The flush that will write the rows now pending. It takes them all when its delay is over, and later rows start
   * the next flush: so each flush ends, and a request waits only for the flush that writes its own row (a flush
   * that went on while rows kept coming would hold every request that ever waited on it).
   */
  next: Promise<void> | null;
}
/** One queue per database (tests and local stacks run several configurations in one isolate). */
const queues = new Map<string, Queue>();

/** The anonymous clients this isolate keeps apart in the current window (AUDIT_ANONYMOUS_CLIENTS_PER_WINDOW). */
let anonymousClients: { window: number; seen: Set<string> } = { window: 0, seen: new Set() };

async function flush(queue: Queue, config: Config, log: Logger): Promise<void> {
  await new Promise((r) => setTimeout(r, config.auditFlushMs));
  queue.next = null;
  const queued = queue.pending.splice(0, queue.pending.length);
  queue.byKey.clear();
  for (const q of queued) auditLine(q.log, q.logEvent, q.row);
  const rows = queued.map((q) => q.row);
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

function auditLine(log: Logger, logEvent: string, row: AuditRow): void {
  log.audit(logEvent, {
    action: row.action,
    decision: row.decision,
    subject: row.actorSubject,
    keyId: row.actorKeyId ?? undefined,
    tenant: row.tenant ?? undefined,
    target: row.target ?? undefined,
    engine: row.engine ?? undefined,
    route: row.route ?? undefined,
    at: row.at,
    ...(row.count > 1 ? { count: row.count, lastAt: row.lastAt } : {}),
    ...(row.details ?? {}),
  });
}

/**
 * The route the request was for, as registered (`POST /argo/api/v1/workflows/:namespace`), never the raw path: the
 * handler that ran when it is one registered for the method; else (a refusal by a group's middleware, before any
 * handler) the first handler Hono matched for the method, the one it would have dispatched to; else the last
 * pattern matched other than the front door's `*` (a group's catch-all). Bounded by the app's own patterns.
 */
export function routeOf(c: AppContext): string {
  let pattern = "";
  try {
    const matched = matchedRoutes(c);
    const specific = (r: (typeof matched)[number] | undefined) => !!r && r.method !== "ALL" && !r.path.endsWith("*");
    const current = matched[c.req.routeIndex];
    const chosen =
      (specific(current) ? current : undefined) ??
      matched.find(specific) ??
      [...matched].reverse().find((r) => r.path !== "*" && r.path !== "/*");
    pattern = chosen?.path ?? "";
  } catch {
    // a context without a match result (a bare unit-test context): no pattern to name
  }
  return `${c.req.method.slice(0, 10)} ${pattern === "" ? "(no route)" : pattern}`;
}

/**
 * FNV-1a, 2 × 32 bits, as hex: a short fingerprint of a client address or an over-long key (not a secret's digest:
 * no credential is ever part of a key).
 */
function fingerprint(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/**
 * Who a refusal is counted against: the principal when the request had one, else the client's address (the
 * platform's `CF-Connecting-IP`, which a client cannot set through Cloudflare) as a fingerprint, up to
 * AUDIT_ANONYMOUS_CLIENTS_PER_WINDOW distinct clients a window, then all further ones together.
 */
function actorKey(c: AppContext, event: AuditEvent, window: number): string {
  if (event.actorSubject !== ANONYMOUS) return `p:${event.actorSubject}\u0000${event.actorKeyId ?? ""}`;
  const client = fingerprint(c.req.header("cf-connecting-ip") ?? "");
  if (anonymousClients.window !== window) anonymousClients = { window, seen: new Set() };
  const seen = anonymousClients.seen;
  if (seen.has(client)) return `a:${client}`;
  if (seen.size >= AUDIT_ANONYMOUS_CLIENTS_PER_WINDOW) return "a:*";
  seen.add(client);
  return `a:${client}`;
}

/**
 * A run's key as stored: its parts as JSON (unambiguous whatever a subject holds, and never a NUL, which PostgreSQL
 * text refuses). A key longer than AUDIT_DEDUPE_KEY_MAX_CHARS (a very long subject) is stored as its fingerprint
 * instead, so the unique index never meets a value past its size limit (which would fail the whole batch).
 */
function dedupeKeyOf(parts: readonly (string | number)[]): string {
  const key = JSON.stringify(parts);
  return key.length <= AUDIT_DEDUPE_KEY_MAX_CHARS ? key : `${JSON.stringify(parts[0])}#${fingerprint(key)}`;
}

/** The subject of an entry for a request without a (valid) credential. */
export const ANONYMOUS = "anonymous";

/**
 * Queues an audit event. `engine`, `route` and the time are the request's own unless the event names them; a
 * refusal aggregates with identical refusals of its window (see the module comment). An entry `beside` the request's
 * decision (a shadow limit's firing: it allows nothing and refuses nothing) leaves the request's own entry to be
 * recorded as well.
 */
export function recordAudit(c: AppContext, event: AuditEvent, logEvent = "audit", options: { beside?: boolean } = {}): void {
  const dryRun = currentDryRun();
  if (dryRun) {
    // An explained request changes nothing: the event is reported to the operator, not written.
    dryRun.audits.push({ action: event.action, decision: event.decision, target: event.target ?? null });
    return;
  }
  if (!options.beside) c.set("auditedRequest", true);
  if (event.decision === "refused") c.set("auditedRefusal", true);
  const now = Date.now();
  const at = new Date(now).toISOString();
  const log = c.get("log");
  const config = c.get("config");
  const id = queueId(config);
  let queue = queues.get(id);
  if (!queue) {
    queue = { pending: [], byKey: new Map(), next: null };
    queues.set(id, queue);
  }
  const engine = event.engine ?? c.get("engine") ?? null;
  const route = event.route ?? routeOf(c);
  let dedupeKey: string | null = null;
  if (event.decision === "refused") {
    const window = Math.floor(now / AUDIT_AGGREGATION_WINDOW_MS) * AUDIT_AGGREGATION_WINDOW_MS;
    const code = typeof event.details?.code === "string" ? event.details.code : "";
    dedupeKey = dedupeKeyOf([window, event.decision, event.action, code, engine ?? "", route, actorKey(c, event, window)]);
    const earlier = queue.byKey.get(dedupeKey);
    if (earlier) {
      earlier.row.count++;
      earlier.row.lastAt = at;
      return;
    }
  }
  const row: AuditRow = { ...event, engine, route, at, lastAt: at, count: 1, dedupeKey };
  if (queue.pending.length >= MAX_BACKLOG) {
    auditLine(log, logEvent, row);
    log.error("audit.row_dropped", { action: event.action, backlog: queue.pending.length });
    return;
  }
  const queued = { row, log, logEvent };
  queue.pending.push(queued);
  if (dedupeKey) queue.byKey.set(dedupeKey, queued);
  if (queue.next === null) {
    // This request carries the flush (its timer and database connection live in its context); the others only
    // queue their rows and end as soon as they have answered.
    queue.next = flush(queue, config, log);
    waitUntil(c, queue.next);
  }
}

/** The error's fields worth keeping (never the request's values): which fields or limit refused it. */
const KEPT_DETAILS = ["fields", "refusedFields", "reason", "limit", "cost", "retryAfterS", "error"] as const;

/**
 * Records a refusal the gateway answered (called by the error renderer, for 4xx answers): who, where, why. Skipped
 * when the route recorded the refusal itself (a Prefect mutation's, a rate limit's).
 */
export function auditRefusal(c: AppContext, e: GatewayError): void {
  // An entry the route recorded that is not a refusal (an action's) does not stand for this one.
  if (c.get("auditedRefusal") || !c.get("config") || !c.get("log")) return;
  const details: Record<string, unknown> = { code: e.code, status: e.status, message: e.message.slice(0, 300) };
  for (const k of KEPT_DETAILS) if (e.details?.[k] !== undefined) details[k] = e.details[k];
  recordAudit(c, requestEvent(c, "request.refused", "refused", details), "audit.refused");
}

/**
 * Records an allowed request that reached an engine (called by the front door after the answer): writes always,
 * reads when AUDIT_READS is on. Skipped when the route recorded its own entry (admin actions, Prefect mutations,
 * Conductor's recorded actions).
 */
export function auditAllowed(c: AppContext, reachedUpstream: boolean): void {
  if (!reachedUpstream || c.get("auditedRequest") || c.get("refused") || c.res.status >= 400) return;
  const method = c.req.method;
  const read = method === "GET" || method === "HEAD" || method === "OPTIONS" || c.get("auditRead") === true;
  if (read && !c.get("config").auditReads) return;
  recordAudit(c, requestEvent(c, "request.allowed", "allowed", { status: c.res.status }), "audit.allowed");
}

/** The front door's entry for a request's decision: its principal (or anonymous), target and id. */
function requestEvent(c: AppContext, action: string, decision: AuditDecision, details: Record<string, unknown>): AuditEvent {
  const p = c.get("principal");
  return {
    action,
    decision,
    actorSubject: p?.subject ?? ANONYMOUS,
    actorKeyId: p?.keyId ?? null,
    tenant: p?.tenant ?? null,
    target: targetOf(c),
    requestId: c.get("requestId"),
    details,
  };
}

/**
 * What the request was about, when its route names it: the matched route's parameters (a workspace, a workflow
 * name, an id), each cut to 100 characters, the whole to 300.
 */
function targetOf(c: AppContext): string | null {
  let params: Record<string, string> = {};
  try {
    params = c.req.param() as Record<string, string>;
  } catch {
    return null;
  }
  const named = Object.entries(params).filter(([k, v]) => typeof v === "string" && v !== "" && k !== "*");
  if (named.length === 0) return null;
  return named
    .map(([k, v]) => `${k}=${v.slice(0, 100)}`)
    .join(" ")
    .slice(0, 300);
}
