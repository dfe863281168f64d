/**
 * The counter: one Durable Object per limited key, subject or tenant (named `key:<id>`, `subject:<subject>`,
 * `tenant:<name>`), never one for everyone. It holds one bucket per limit that applies to its owner, in its own
 * SQLite storage, and grants leases of tokens to isolates. A Durable Object runs one call at a time, so a grant
 * can never be made twice from the same tokens, however many isolates ask at once.
 */
import { DurableObject } from "cloudflare:workers";
import { consume, evaluate, freshState, settle, type BucketState, type LimitSpec, type Take } from "./bucket";

export interface AcquireRequest {
  /** The limits of this owner that apply to the request. */
  limits: LimitSpec[];
  cost: number;
  /** Unspent tokens of expired leases, by limit id: handed back before this grant. */
  returns: Record<string, number>;
}

export interface LimitAnswer extends Take {
  id: string;
  /** The mode that decided: the newest setting of the limit this counter has seen (an isolate may hold an older one). */
  shadow: boolean;
  /** The refusal is the first of its window for this limit and owner: the isolate records it in the audit trail. */
  firstInWindow: boolean;
  /**
   * What each policy of the limit still holds after this answer, in whole units: the bucket (the rate) and the
   * quota's count (null without one). Apart, so each `RateLimit` item reports its own policy.
   */
  rateLeft: number;
  quotaLeft: number | null;
}

export interface AcquireAnswer {
  /** False when an enforced limit refused: nothing was granted by any limit. */
  ok: boolean;
  answers: LimitAnswer[];
}

interface Row extends Record<string, SqlStorageValue> {
  limit_id: string;
  version: number;
  tokens: number;
  updated_ms: number;
  quota_period: string | null;
  quota_used: number;
  audited_window: string | null;
  /** The newest setting seen (JSON LimitSpec): an isolate still holding an older version is held to this one. */
  spec: string | null;
}

const toState = (r: Row): BucketState => ({
  version: r.version,
  tokens: r.tokens,
  updatedMs: r.updated_ms,
  quotaPeriod: r.quota_period,
  quotaUsed: r.quota_used,
  auditedWindow: r.audited_window,
});

export class RateLimitCounter extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS buckets (
      limit_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      tokens REAL NOT NULL,
      updated_ms INTEGER NOT NULL,
      quota_period TEXT,
      quota_used REAL NOT NULL DEFAULT 0,
      audited_window TEXT,
      spec TEXT
    )`);
  }

  private load(id: string): { state: BucketState; spec: LimitSpec | null } | null {
    const rows = this.sql.exec<Row>("SELECT * FROM buckets WHERE limit_id = ?", id).toArray();
    const r = rows[0];
    if (!r) return null;
    let spec: LimitSpec | null = null;
    try {
      spec = r.spec ? (JSON.parse(r.spec) as LimitSpec) : null;
    } catch {
      spec = null;
    }
    return { state: toState(r), spec };
  }

  private save(spec: LimitSpec, s: BucketState): void {
    this.sql.exec(
      `INSERT INTO buckets (limit_id, version, tokens, updated_ms, quota_period, quota_used, audited_window, spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (limit_id) DO UPDATE SET version = excluded.version, tokens = excluded.tokens, updated_ms = excluded.updated_ms,
         quota_period = excluded.quota_period, quota_used = excluded.quota_used, audited_window = excluded.audited_window, spec = excluded.spec`,
      spec.id,
      s.version,
      s.tokens,
      s.updatedMs,
      s.quotaPeriod,
      s.quotaUsed,
      s.auditedWindow,
      JSON.stringify(spec),
    );
  }

  /**
   * Grants `cost` (plus a lease) from every limit, or nothing: an enforced limit that cannot cover the cost refuses
   * the whole request and no other limit is charged. A shadow limit that cannot cover it is reported and charges
   * nothing (as if the request had been refused there), and the others grant as usual.
   */
  acquire(req: AcquireRequest): AcquireAnswer {
    const now = Date.now();
    const cost = Math.max(0, Math.floor(req.cost));
    const settled = req.limits.map((offered) => {
      const stored = this.load(offered.id);
      // Versions only grow: a setting older than the one stored comes from an isolate that has not reread the
      // limits yet, and the newer one applies.
      const spec = stored?.spec && stored.spec.version > offered.version ? stored.spec : offered;
      const state = settle(stored?.state ?? freshState(spec, now), spec, now, req.returns[spec.id] ?? 0);
      return { spec, state, take: evaluate(state, spec, cost, now) };
    });
    const ok = settled.every((x) => x.take.refusal === null || x.spec.shadow);
    const answers: LimitAnswer[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const x of settled) {
        let state = x.state;
        let firstInWindow = false;
        if (x.take.refusal) {
          firstInWindow = state.auditedWindow !== x.take.refusal.window;
          state = { ...state, auditedWindow: x.take.refusal.window };
        } else if (ok) {
          state = consume(state, x.spec, x.take.granted);
        }
        this.save(x.spec, state);
        const granted = ok && !x.take.refusal ? x.take.granted : 0;
        // Refused as a whole: a limit that could have granted still holds what it had.
        const available = ok || x.take.refusal ? x.take.available : x.take.available + x.take.granted;
        // When the bucket is full again, counted from what it holds after this grant.
        const fullInMs = Math.max(0, Math.ceil(((x.spec.rate.limit - state.tokens) * x.spec.rate.windowS * 1000) / x.spec.rate.limit));
        const rateLeft = Math.max(0, Math.floor(state.tokens));
        const quotaLeft = x.spec.quota ? Math.max(0, Math.floor(x.spec.quota.limit - state.quotaUsed)) : null;
        answers.push({ id: x.spec.id, shadow: x.spec.shadow, ...x.take, granted, available, fullInMs, firstInWindow, rateLeft, quotaLeft });
      }
    });
    return { ok, answers };
  }

  /** Every bucket of this owner, for the admin API and tests. */
  buckets(): (BucketState & { limitId: string })[] {
    return this.sql
      .exec<Row>("SELECT * FROM buckets ORDER BY limit_id")
      .toArray()
      .map((r) => ({ limitId: r.limit_id, ...toState(r) }));
  }

  /** Forgets a limit's bucket (the limit was deleted, or an operator starts it afresh). */
  forget(limitId: string): void {
    this.sql.exec("DELETE FROM buckets WHERE limit_id = ?", limitId);
  }
}
