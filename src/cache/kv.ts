/**
 * Every key flowgate writes to the KEY_CACHE namespace (documented in docs/storage.md).
 */
export const KV = {
  /** A cached key lookup: `apikey:<epoch>:<sha256 of the key>` -> KeyRecord JSON, metadata {exp, rev}. */
  apiKey: (epoch: number, secretHash: string) => `apikey:${epoch}:${secretHash}`,
  apiKeyPrefix: "apikey:",
  /**
   * Which key hash a key id names: `apikeyid:<epoch>:<key id>` -> the key's SHA-256 (hex), KEY_CACHE_TTL_S. Never
   * changes for an id (rotation makes a new id), so it needs no invalidation; the key's state is read through its
   * `apikey:` entry. Lets a Conductor SDK token, which names the key by id, reach the cached key record.
   */
  apiKeyId: (epoch: number, keyId: string) => `apikeyid:${epoch}:${keyId}`,
  /** The cache epoch: purging every key lookup bumps it, orphaning all older `apikey:` entries at once. */
  cacheEpoch: "control:cache-epoch",
  /** Log-level override `{level, until}` (epoch ms), expiring on its own. */
  logLevel: "control:log-level",
  /**
   * A Conductor external payload path a tenant may read: `extpath:<tenant>:<sha256 of the path>` -> "1", expiring
   * after 30 days on its own (src/engines/conductor/payloadPaths.ts).
   */
  payloadPath: (tenant: string, pathHash: string) => `extpath:${tenant}:${pathHash}`,
  /**
   * A JWT revocation: `revoked:jti:<sha256 of jti>` or `revoked:sub:<sha256 of subject>` -> `{revokedAt}` (epoch
   * ms), expiring when the revocation does (src/identity/revocation.ts).
   */
  revocation: (kind: "jti" | "subject", hash: string) => `revoked:${kind === "jti" ? "jti" : "sub"}:${hash}`,
  /** The scopes a FlowAPI query run through the gateway needs (JSON list), for its polls and results; 30 days. */
  flowapiQuery: (queryId: string) => `flowapi:query:${queryId}`,
  /** Every Argo workspace policy (JSON list); KEY_CACHE_TTL_S, deleted on every workspace change. */
  workspaces: "workspaces:all",
  /** Every tenant name (JSON list), for workers serving all tenants; 5 min, dropped when a tenant is created. */
  tenantList: "tenants:all",
  /**
   * Every rate limit (JSON list of rules), `ratelimits:<epoch>`; KEY_CACHE_TTL_S, rewritten on every limit change,
   * orphaned by a cache purge (src/ratelimit/limits.ts).
   */
  rateLimits: (epoch: number) => `ratelimits:${epoch}`,
  /**
   * A browser sign-in's `state` already redeemed: `signin:state:<sha256 of state>` -> "1", expiring after
   * LOGIN_TRANSACTION_TTL_S (a replayed callback is refused; src/auth/routes.ts).
   */
  signInState: (stateHash: string) => `signin:state:${stateHash}`,
  /** Where the cron's purge of dead cache entries resumes (a KV list cursor). */
  purgeCursor: "cron:purge-cursor",
  /** The cron's last run `{at, summary}` (epoch ms, PurgeSummary), for operators (`GET /admin/status`); 30 days. */
  cronLastRun: "cron:last-run",
} as const;

/** Metadata stored with each `apikey:` entry, so the cron can decide without reading values. */
export interface ApiKeyEntryMetadata {
  /** The key's expiry, epoch seconds, or 0 for none. */
  exp: number;
  /** 1 when the key is revoked (the entry is a tombstone). */
  rev: 0 | 1;
}

export function parseApiKeyEntryName(name: string): { epoch: number; secretHash: string } | null {
  const m = /^apikey:(\d+):([0-9a-f]{64})$/.exec(name);
  return m ? { epoch: Number(m[1]), secretHash: m[2]! } : null;
}
