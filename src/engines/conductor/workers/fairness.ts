/**
 * How one worker poll of `count` tasks is shared among the tenants it serves. Pure.
 *
 * Max-min fair ("water-filling"): every tenant with work gets an equal share, a tenant with less work than its
 * share gets all of its work, and what it leaves is shared again among the others. Tenants are taken in an order
 * that rotates from poll to poll, so when `count` cannot give every tenant a task, the ones left out this time come
 * first next time. A tenant's queue depth therefore decides nothing beyond its own share: a flood in one queue
 * cannot starve the others.
 */
import type { TenantName } from "../../../identity/principal";

/** `tenants` (sorted) starting at `start` (mod length). */
export function rotated<T>(items: readonly T[], start: number): T[] {
  if (items.length === 0) return [];
  const k = ((start % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Tasks to ask of each tenant. `depths` gives each tenant's waiting tasks (tenants without work get nothing);
 * `order` is this poll's rotated order. The shares sum to min(count, total depth).
 */
export function fairShares(count: number, depths: ReadonlyMap<TenantName, number>, order: readonly TenantName[]): Map<TenantName, number> {
  const shares = new Map<TenantName, number>();
  let active = order.filter((t) => (depths.get(t) ?? 0) > 0);
  let remaining = count;
  while (remaining > 0 && active.length > 0) {
    const each = Math.floor(remaining / active.length);
    if (each === 0) {
      // Fewer tasks left than tenants: one each, in this poll's order.
      for (const t of active.slice(0, remaining)) shares.set(t, (shares.get(t) ?? 0) + 1);
      break;
    }
    const still: TenantName[] = [];
    for (const t of active) {
      const room = (depths.get(t) ?? 0) - (shares.get(t) ?? 0);
      const give = Math.min(each, room);
      shares.set(t, (shares.get(t) ?? 0) + give);
      remaining -= give;
      if (room > give) still.push(t);
    }
    active = still;
  }
  for (const [t, n] of shares) if (n === 0) shares.delete(t);
  return shares;
}

/**
 * The long poll, when no tenant has work right now: at most `parallel` tenants (the connections a Worker request
 * may hold open), in this poll's order, sharing `count` evenly (each at least one).
 */
export function longPollShares(count: number, order: readonly TenantName[], parallel: number): Map<TenantName, number> {
  const chosen = order.slice(0, Math.max(0, Math.min(parallel, count, order.length)));
  const shares = new Map<TenantName, number>();
  chosen.forEach((t, i) => shares.set(t, Math.floor(count / chosen.length) + (i < count % chosen.length ? 1 : 0)));
  return shares;
}
