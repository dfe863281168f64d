/**
 * Usage and refusal counts, summed in the isolate and written in batches: never one database write per request.
 * A request adds its cost to a per-minute cell (tenant, subject, key, route group); the first request after
 * USAGE_FLUSH_INTERVAL_MS writes every pending cell as minute, hour and day rows in one INSERT (through
 * waitUntil), and the limits' fire counts in one UPDATE. `GET /admin/usage` writes this isolate's cells first.
 */
import type { Config } from "../config";
import { USAGE_FLUSH_INTERVAL_MS, USAGE_MAX_PENDING_CELLS } from "../constants";
import { withDatabase } from "../db/client";
import type { Logger } from "../log";
import { addFires, addUsage, type UsageCell, type UsageResolution } from "../store/rateLimits";

interface Cell {
  minute: number;
  tenant: string;
  subject: string;
  keyId: string;
  routeGroup: string;
  requests: number;
  cost: number;
  refused: number;
}

interface Queue {
  cells: Map<string, Cell>;
  fires: Map<string, { refused: number; shadow: number }>;
  lastFlush: number;
  flushing: Promise<void> | null;
  dropped: number;
}

/** One queue per database (tests and local stacks run several configurations in one isolate). */
const queues = new Map<string, Queue>();

function queueOf(config: Config): Queue {
  let q = queues.get(config.databaseUrl);
  if (!q) {
    q = { cells: new Map(), fires: new Map(), lastFlush: Date.now(), flushing: null, dropped: 0 };
    queues.set(config.databaseUrl, q);
  }
  return q;
}

export interface UsageEvent {
  tenant?: string;
  subject: string;
  keyId?: string;
  routeGroup: string;
  cost: number;
  refused: boolean;
}

/** Adds one request's usage; returns a flush to hand to waitUntil when one is due. */
export function recordUsage(config: Config, log: Logger, e: UsageEvent, now = Date.now()): Promise<void> | null {
  const q = queueOf(config);
  const minute = now - (now % 60_000);
  const name = `${minute}\u0000${e.tenant ?? ""}\u0000${e.subject}\u0000${e.keyId ?? ""}\u0000${e.routeGroup}`;
  let cell = q.cells.get(name);
  if (!cell) {
    if (q.cells.size >= USAGE_MAX_PENDING_CELLS) {
      q.dropped++;
      return startFlush(q, config, log, now);
    }
    cell = {
      minute,
      tenant: e.tenant ?? "",
      subject: e.subject,
      keyId: e.keyId ?? "",
      routeGroup: e.routeGroup,
      requests: 0,
      cost: 0,
      refused: 0,
    };
    q.cells.set(name, cell);
  }
  cell.requests++;
  if (e.refused) cell.refused++;
  else cell.cost += e.cost;
  return now - q.lastFlush >= USAGE_FLUSH_INTERVAL_MS ? startFlush(q, config, log, now) : null;
}

/** Counts one refusal (enforced) or would-be refusal (shadow) of a limit. */
export function recordFire(config: Config, limitId: string, shadow: boolean): void {
  const q = queueOf(config);
  const f = q.fires.get(limitId) ?? { refused: 0, shadow: 0 };
  if (shadow) f.shadow++;
  else f.refused++;
  q.fires.set(limitId, f);
}

function startFlush(q: Queue, config: Config, log: Logger, now: number): Promise<void> | null {
  if (q.flushing) return null;
  q.lastFlush = now;
  q.flushing = flush(q, config, log).finally(() => {
    q.flushing = null;
  });
  return q.flushing;
}

const floorTo = (ms: number, resolution: UsageResolution) => {
  if (resolution === "minute") return ms;
  const d = new Date(ms);
  return resolution === "hour"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
};

/** Pure: minute cells as minute, hour and day rows, each row key once (the INSERT may not touch a row twice). */
export function rollUp(cells: Iterable<Cell>): UsageCell[] {
  const rows = new Map<string, UsageCell>();
  for (const c of cells) {
    for (const resolution of ["minute", "hour", "day"] as const) {
      const start = floorTo(c.minute, resolution);
      const name = `${resolution}\u0000${start}\u0000${c.tenant}\u0000${c.subject}\u0000${c.keyId}\u0000${c.routeGroup}`;
      const row = rows.get(name);
      if (row) {
        row.requests += c.requests;
        row.cost += c.cost;
        row.refused += c.refused;
      } else {
        rows.set(name, {
          resolution,
          bucketStart: new Date(start),
          tenant: c.tenant,
          subject: c.subject,
          keyId: c.keyId,
          routeGroup: c.routeGroup,
          requests: c.requests,
          cost: c.cost,
          refused: c.refused,
        });
      }
    }
  }
  return [...rows.values()];
}

const ROWS_PER_INSERT = 500;

async function flush(q: Queue, config: Config, log: Logger): Promise<void> {
  const cells = [...q.cells.values()];
  const fires = [...q.fires.entries()].map(([id, f]) => ({ id, ...f }));
  q.cells = new Map();
  q.fires = new Map();
  if (q.dropped > 0) {
    log.error("usage.cells_dropped", { cells: q.dropped });
    q.dropped = 0;
  }
  if (cells.length === 0 && fires.length === 0) return;
  const rows = rollUp(cells);
  try {
    await withDatabase(config, async (db) => {
      for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) await addUsage(db, rows.slice(at, at + ROWS_PER_INSERT));
      await addFires(db, fires);
    });
  } catch {
    // Usage is a record, not a decision: a failed write is logged and the cells are gone (limits are unaffected).
    log.error("usage.write_failed", { cells: cells.length, limitsFired: fires.length });
  }
}

/** Writes this isolate's pending usage now (before the admin API reads it). */
export async function settleUsage(config: Config, log: Logger): Promise<void> {
  const q = queueOf(config);
  if (q.flushing) await q.flushing;
  const p = startFlush(q, config, log, Date.now());
  if (p) await p;
}
