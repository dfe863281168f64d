/**
 * Is this JWT revoked? One token by its `jti`, or every token of a subject issued up to the revocation.
 *
 * Read path: the isolate's memory (MEMORY_CACHE_TTL_S, answers "revoked" and "not revoked" alike) -> KV
 * (`revoked:jti:<sha256>`, `revoked:sub:<sha256>`, expiring with the revocation). The admin API writes PostgreSQL
 * (the record) and KV (what requests read), and forgets the answer in its own isolate at once; other isolates see
 * it within MEMORY_CACHE_TTL_S, other locations within that plus KV's propagation (up to 60 s). A KV failure
 * refuses the token (503): an unknown answer is never taken for "not revoked".
 */
import { LruCache } from "../cache/lru";
import { KV } from "../cache/kv";
import { GatewayError } from "../errors";
import { sha256Hex } from "../formats/apiKey";
import type { RevocationKind } from "../store/revocations";

const MEMORY_ENTRIES = 10_000;
const answers = new LruCache<{ revokedAt: number } | null>(MEMORY_ENTRIES);

export interface TokenFacts {
  jti?: string;
  subject: string;
  /** Issued-at, epoch seconds. */
  iat?: number;
}

async function entryName(kind: RevocationKind, value: string): Promise<string> {
  return KV.revocation(kind, await sha256Hex(value));
}

async function revocationOf(
  kv: KVNamespace,
  kind: RevocationKind,
  value: string,
  memoryTtlMs: number,
): Promise<{ revokedAt: number } | null> {
  const name = await entryName(kind, value);
  const cached = answers.get(name);
  if (cached !== undefined) return cached;
  let found: { revokedAt: number } | null;
  try {
    const v = await kv.get<{ revokedAt?: unknown }>(name, "json");
    found = v && typeof v.revokedAt === "number" ? { revokedAt: v.revokedAt } : null;
  } catch {
    throw new GatewayError("AUTH_BACKEND_UNAVAILABLE", "token revocations cannot be read; try again shortly");
  }
  answers.set(name, found, memoryTtlMs);
  return found;
}

/** Whether the token is revoked (by its jti, or by its subject for tokens issued up to the revocation). */
export async function isTokenRevoked(kv: KVNamespace, token: TokenFacts, memoryTtlS: number): Promise<boolean> {
  const ttl = memoryTtlS * 1000;
  const [byJti, bySubject] = await Promise.all([
    token.jti ? revocationOf(kv, "jti", token.jti, ttl) : Promise.resolve(null),
    revocationOf(kv, "subject", token.subject, ttl),
  ]);
  if (byJti) return true;
  // A token without iat cannot show it was issued after the revocation: it is refused too.
  return bySubject !== null && (token.iat === undefined || token.iat * 1000 <= bySubject.revokedAt);
}

/** Writes what requests read, and forgets this isolate's answer at once. */
export async function publishRevocation(
  kv: KVNamespace,
  kind: RevocationKind,
  value: string,
  revokedAt: Date,
  expiresAt: Date,
): Promise<void> {
  const name = await entryName(kind, value);
  const ttlS = Math.max(60, Math.ceil((expiresAt.getTime() - Date.now()) / 1000));
  await kv.put(name, JSON.stringify({ revokedAt: revokedAt.getTime() }), { expirationTtl: ttlS });
  answers.set(name, { revokedAt: revokedAt.getTime() }, ttlS * 1000);
}
