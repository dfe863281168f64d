/**
 * A rate limit as an operator sets it and the database stores it (src/store/rateLimits.ts), in the words the limiter
 * (src/ratelimit/) matches requests with. Below both, so neither imports the other's files for it. Pure.
 */

/** The route groups a limit can name: each engine's mount, and the admin API. */
export const ROUTE_GROUPS = ["prefect", "conductor", "workers", "argo", "flowapi", "admin"] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];
/** Whom a limit counts: one key, one subject (person or program), or one tenant. */
export const TARGET_KINDS = ["key", "subject", "tenant"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** A quota's period: a calendar day or month, UTC (src/ratelimit/bucket.ts). */
export type QuotaPeriod = "day" | "month";

/** A limit as stored and cached (no counts: those change too often to cache). */
export interface RateLimitRule {
  id: string;
  targetKind: TargetKind;
  /** The key id, subject or tenant, or `*`: each one its own pool. */
  target: string;
  routeGroup: RouteGroup | "*";
  rate: { limit: number; windowS: number };
  quota: { limit: number; period: QuotaPeriod } | null;
  mode: "enforce" | "shadow";
  version: number;
}

