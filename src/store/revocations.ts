/**
 * JWT revocations in PostgreSQL: the durable record behind `POST /admin/tokens/revoke` (reads go through KV).
 */
import { lt, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { tokenRevocations } from "../db/schema";

export type RevocationKind = "jti" | "subject";

export interface Revocation {
  kind: RevocationKind;
  value: string;
  revokedAt: Date;
  expiresAt: Date;
}

/** Records (or renews) a revocation; a later revocation of the same token or subject moves both times forward. */
export async function recordRevocation(
  db: Database,
  r: { kind: RevocationKind; value: string; expiresAt: Date; revokedBy: string },
): Promise<Revocation> {
  const [row] = await db
    .insert(tokenRevocations)
    .values({ kind: r.kind, value: r.value, expiresAt: r.expiresAt, revokedBy: r.revokedBy })
    .onConflictDoUpdate({
      target: [tokenRevocations.kind, tokenRevocations.value],
      set: { revokedAt: sql`now()`, expiresAt: sql`greatest(${tokenRevocations.expiresAt}, excluded.expires_at)`, revokedBy: r.revokedBy },
    })
    .returning();
  return { kind: row!.kind as RevocationKind, value: row!.value, revokedAt: row!.revokedAt, expiresAt: row!.expiresAt };
}

/** Forgets revocations whose tokens have all expired; returns how many went. */
export async function pruneRevocations(db: Database, now: Date): Promise<number> {
  const rows = await db.delete(tokenRevocations).where(lt(tokenRevocations.expiresAt, now)).returning({ id: tokenRevocations.id });
  return rows.length;
}
