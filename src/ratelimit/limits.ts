/**
 * The limits an operator set, as the hot path reads them: the whole list, read the way keys are (isolate memory
 * for MEMORY_CACHE_TTL_S -> KV `ratelimits:<epoch>` for KEY_CACHE_TTL_S -> PostgreSQL), compiled once per read
 * into a table by route group. With no limits set, a request costs one memory lookup that answers "none".
 *
 * A stale list is served while a fresh one is fetched in the background, so only an isolate's very first request
 * waits. A change made through the admin API applies in its isolate at once and elsewhere within
 * MEMORY_CACHE_TTL_S plus KV propagation (docs/ratelimits.md). `POST /admin/cache/purge` starts a new epoch: the
 * KV copy is orphaned and every isolate rereads the database.
 */
import { KV } from "../cache/kv";
import type { Config } from "../config";
import { withDatabase } from "../db/client";
import type { Principal } from "../identity/principal";
import { listRateLimits } from "../store/rateLimits";
import { TARGET_KINDS, type RateLimitRule, type RouteGroup } from "../formats/rateLimitRule";
import type { LimitSpec } from "./bucket";

/** A rule that applies to a request, with the pool (counter object) it is counted in. */
export interface MatchedLimit {
  rule: RateLimitRule;
  spec: LimitSpec;
  /** `key:<id>`, `subject:<subject>` or `tenant:<name>`: the counter object's name. */
  pool: string;
}

export interface LimitTable {
  /** Rules by each route group some rule names, with the `*` rules included; empty when no limit is set. */
  byGroup: ReadonlyMap<RouteGroup, readonly RateLimitRule[]>;
  /** The `*` rules alone: what applies on a route group no rule names. */
  anyGroup: readonly RateLimitRule[];
  size: number;
}

const EMPTY: LimitTable = { byGroup: new Map(), anyGroup: [], size: 0 };

/**
 * The groups come from the rules, not from a list of engines (this module sits below the registry): a group no rule
 * names gets the `*` rules, as it would from a list.
 */
export function compileTable(rules: readonly RateLimitRule[]): LimitTable {
  if (rules.length === 0) return EMPTY;
  const byGroup = new Map<RouteGroup, RateLimitRule[]>();
  for (const g of new Set(rules.map((r) => r.routeGroup))) {
    if (g !== "*")
      byGroup.set(
        g,
        rules.filter((r) => r.routeGroup === "*" || r.routeGroup === g),
      );
  }
  return { byGroup, anyGroup: rules.filter((r) => r.routeGroup === "*"), size: rules.length };
}

export const specOf = (r: RateLimitRule): LimitSpec => ({
  id: r.id,
  version: r.version,
  rate: r.rate,
  quota: r.quota,
  shadow: r.mode === "shadow",
});

/** Pure: the rules that apply to a caller on a route group, each with its pool. */
export function matchLimits(table: LimitTable, group: RouteGroup, p: Pick<Principal, "keyId" | "subject" | "tenant">): MatchedLimit[] {
  const rules = table.byGroup.get(group) ?? table.anyGroup;
  if (!rules || rules.length === 0) return [];
  const out: MatchedLimit[] = [];
  for (const rule of rules) {
    const value = rule.kind === "key" ? p.keyId : rule.kind === "subject" ? p.subject : p.tenant;
    if (value === undefined || value === "") continue;
    if (rule.target !== "*" && rule.target !== value) continue;
    // A subject is free text chosen per tenant: its pool is the tenant's subject, so two tenants' "ci" never share one.
    const pool = rule.kind === "subject" ? `subject:${p.tenant ?? ""}:${value}` : `${rule.kind}:${value}`;
    out.push({ rule, spec: specOf(rule), pool });
  }
  return out;
}

const isRule = (v: unknown): v is RateLimitRule => {
  const r = v as RateLimitRule;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.id === "string" &&
    typeof r.target === "string" &&
    (TARGET_KINDS as readonly string[]).includes(r.kind) &&
    typeof r.routeGroup === "string" &&
    typeof r.rate?.limit === "number" &&
    typeof r.rate?.windowS === "number" &&
    (r.mode === "enforce" || r.mode === "shadow") &&
    typeof r.version === "number"
  );
};

interface Cached {
  /** Null: never read successfully (the limits are unknown). */
  table: LimitTable | null;
  epoch: number;
  until: number;
}
/** By database (tests and local stacks run several configurations in one isolate). */
const memory = new Map<string, Cached>();
const refreshing = new Map<string, Promise<void>>();

export class LimitsUnavailable extends Error {}

async function readRules(
  kv: KVNamespace,
  config: Config,
  epoch: number,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<RateLimitRule[]> {
  try {
    const cached = await kv.get<unknown>(KV.rateLimits(epoch), "json");
    if (Array.isArray(cached) && cached.every(isRule)) return cached;
  } catch {
    // read the database instead
  }
  const rules = await withDatabase(config, listRateLimits);
  waitUntil(kv.put(KV.rateLimits(epoch), JSON.stringify(rules), { expirationTtl: config.keyCacheTtlS }).catch(() => {}));
  return rules;
}

/** Whether `limitTable` would answer from memory at once (no read to start): the request path's cheap test. */
export function limitTableFresh(config: Config, epoch: number, now = Date.now()): boolean {
  const cached = memory.get(config.databaseUrl);
  return cached !== undefined && cached.epoch === epoch && cached.until > now;
}

/**
 * The limit table for this configuration, from memory when fresh; a stale one (or one of an older cache epoch)
 * answers at once while a fresh one is read behind the request. A failed read keeps the last table for another
 * MEMORY_CACHE_TTL_S, so an outage of KV and the database costs one slow read per isolate per period, not one per
 * request. Throws LimitsUnavailable only when this isolate has never read the limits.
 */
export async function limitTable(
  kv: KVNamespace,
  config: Config,
  epoch: number,
  waitUntil: (p: Promise<unknown>) => void,
  now = Date.now(),
): Promise<LimitTable> {
  const id = config.databaseUrl;
  const cached = memory.get(id);
  if (cached && limitTableFresh(config, epoch, now)) {
    if (cached.table) return cached.table;
    throw new LimitsUnavailable();
  }
  let pending = refreshing.get(id);
  if (!pending) {
    const ttlMs = Math.max(1, config.memoryCacheTtlS) * 1000;
    pending = readRules(kv, config, epoch, waitUntil)
      .then(
        (rules) => void memory.set(id, { table: compileTable(rules), epoch, until: Date.now() + config.memoryCacheTtlS * 1000 }),
        () => void memory.set(id, { table: memory.get(id)?.table ?? null, epoch, until: Date.now() + ttlMs }),
      )
      .finally(() => refreshing.delete(id));
    refreshing.set(id, pending);
  }
  if (cached?.table) {
    waitUntil(pending);
    return cached.table;
  }
  await pending;
  const table = memory.get(id)?.table;
  if (!table) throw new LimitsUnavailable();
  return table;
}

/** After a change made here: this isolate uses `rules` at once; KV gets them for the others. */
export async function publishLimits(kv: KVNamespace, config: Config, epoch: number, rules: RateLimitRule[]): Promise<void> {
  memory.set(config.databaseUrl, { table: compileTable(rules), epoch, until: Date.now() + config.memoryCacheTtlS * 1000 });
  await kv.put(KV.rateLimits(epoch), JSON.stringify(rules), { expirationTtl: config.keyCacheTtlS });
}

/** Drops this isolate's copy (cache purge). */
export function forgetLimitsInIsolate(): void {
  memory.clear();
}
