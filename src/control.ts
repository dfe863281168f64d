/**
 * Gateway-wide settings that operators change at run time and every isolate must see: the cache epoch and the
 * log-level override. Kept in KV, re-read by each isolate at most every few seconds, never on every request.
 */
import { KV } from "./cache/kv";
import { LOG_LEVELS, type LogLevel } from "./config";
import { LOG_LEVEL_REFRESH_MS } from "./constants";

export interface ControlState {
  cacheEpoch: number;
  logLevelOverride: { level: LogLevel; until: number } | null;
}

let current: ControlState | null = null;
let fetchedAt = 0;
let inflight: Promise<ControlState> | null = null;

async function readControl(kv: KVNamespace): Promise<ControlState> {
  const [epoch, level] = await Promise.all([
    kv.get(KV.cacheEpoch).catch(() => null),
    kv.get<{ level: string; until: number }>(KV.logLevel, "json").catch(() => null),
  ]);
  const cacheEpoch = epoch !== null && /^\d+$/.test(epoch) ? Number(epoch) : (current?.cacheEpoch ?? 0);
  const logLevelOverride =
    level && LOG_LEVELS.includes(level.level as LogLevel) && typeof level.until === "number"
      ? { level: level.level as LogLevel, until: level.until }
      : null;
  return { cacheEpoch, logLevelOverride };
}

/**
 * The control state, fresh within `maxAgeMs`. The first call of an isolate waits for KV (a promise); later ones
 * answer at once from memory, not in a promise (nothing to wait for on every request), and refresh in the
 * background (through `waitUntil`).
 */
export function controlState(
  kv: KVNamespace,
  waitUntil: (p: Promise<unknown>) => void,
  maxAgeMs = LOG_LEVEL_REFRESH_MS,
  now = Date.now(),
): ControlState | Promise<ControlState> {
  const refresh = () => {
    inflight ??= readControl(kv)
      .then((s) => {
        current = s;
        fetchedAt = Date.now();
        return s;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
  if (!current) return refresh();
  if (now - fetchedAt > maxAgeMs) waitUntil(refresh().catch(() => {}));
  return current;
}

/** Drops this isolate's copy: the next request reads the control state from KV, as on a new isolate. */
export function forgetControlInIsolate(): void {
  current = null;
  fetchedAt = 0;
}

/** Applies a change this isolate made, so it takes effect here at once. */
export function applyControl(patch: Partial<ControlState>): void {
  current = { ...(current ?? { cacheEpoch: 0, logLevelOverride: null }), ...patch };
  fetchedAt = Date.now();
}

export async function setLogLevelOverride(kv: KVNamespace, level: LogLevel, durationS: number): Promise<number> {
  const until = Date.now() + durationS * 1000;
  // KV needs at least 60 s of TTL; the `until` inside decides when the override really ends.
  await kv.put(KV.logLevel, JSON.stringify({ level, until }), { expirationTtl: Math.max(60, durationS) });
  applyControl({ logLevelOverride: { level, until } });
  return until;
}

/** Starts a new cache epoch: every cached key lookup in KV is orphaned. Returns the new epoch. */
export async function bumpCacheEpoch(kv: KVNamespace): Promise<number> {
  const raw = await kv.get(KV.cacheEpoch);
  const next = Math.max(raw && /^\d+$/.test(raw) ? Number(raw) : 0, current?.cacheEpoch ?? 0) + 1;
  await kv.put(KV.cacheEpoch, String(next));
  applyControl({ cacheEpoch: next });
  return next;
}

export function effectiveLogLevel(base: LogLevel, state: ControlState | null, now = Date.now()): LogLevel {
  const o = state?.logLevelOverride;
  return o && o.until > now ? o.level : base;
}
