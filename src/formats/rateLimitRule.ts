/**
 * A rate limit as an operator sets it and the database stores it (src/store/rateLimits.ts), in the words the limiter
 * (src/ratelimit/) matches requests with. Below both, so neither imports the other's files for it. Pure.
 */

/**
 * A route group a limit can name: an engine's `name` (one per mount, src/engines/index.ts), or `admin`. A string,
 * not a union: the groups are the registry's, which this module sits below; the admin API checks a new limit's
 * group against the registry (`routeGroupsOf`), and a stored limit naming an engine since removed simply matches no
 * request.
 */
export type RouteGroup = string;
/** The admin API's own route group. */
export const ADMIN_ROUTE_GROUP = "admin";

/** The route groups a limit can name, from the registry's entries: each one's name, then `admin`. */
export function routeGroupsOf(engines: readonly { name: string }[]): readonly [RouteGroup, ...RouteGroup[]] {
  // Never empty (`admin` is always one), as a zod enum needs.
  const [first, ...rest] = engines.map((e) => e.name);
  return first === undefined ? [ADMIN_ROUTE_GROUP] : [first, ...rest, ADMIN_ROUTE_GROUP];
}
/** Whom a limit counts: one key, one subject (person or program), or one tenant. */
export const TARGET_KINDS = ["key", "subject", "tenant"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** A quota's period: a calendar day or month, UTC (src/ratelimit/bucket.ts). */
export type QuotaPeriod = "day" | "month";

/** A limit as stored and cached (no counts: those change too often to cache). */
export interface RateLimitRule {
  id: string;
  kind: TargetKind;
  /** The key id, subject or tenant, or `*`: each one its own pool. */
  target: string;
  routeGroup: RouteGroup | "*";
  rate: { limit: number; windowS: number };
  quota: { limit: number; period: QuotaPeriod } | null;
  mode: "enforce" | "shadow";
  version: number;
}
