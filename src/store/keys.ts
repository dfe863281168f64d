/**
 * API keys and tenants in PostgreSQL. Used by the Worker (admin API, cache fills) and the CLI alike.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiKeys, tenants, type ApiKeyRow } from "../db/schema";
import { generateApiKey, hashApiKey } from "../formats/apiKey";
import { badRequest } from "../errors";
import { TENANT_NAME_RULE, isTenantName, type TenantName } from "../formats/tenantName";
import { claimSubject, claimTenant, collisionError, tenantUnderFold } from "./identities";

/** The part of a key the gateway caches and decides on: no secret, only its hash. Times are epoch ms. */
export interface KeyRecord {
  id: string;
  secretHash: string;
  tenant: TenantName;
  subject: string;
  email: string | null;
  roles: string[];
  groups: string[];
  scopes: string[];
  servesTenants: string[] | null;
  notBefore: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

/** What the admin API and CLI show of a key: everything but its hash. */
export interface KeyView {
  id: string;
  prefix: string;
  tenant: string;
  subject: string;
  email: string | null;
  name: string | null;
  roles: string[];
  groups: string[];
  scopes: string[];
  admin: boolean;
  servesTenants: string[] | null;
  notBefore: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  replacedBy: string | null;
  origin: string;
  createdAt: string;
  createdBy: string;
}

const ms = (d: Date | null) => (d ? d.getTime() : null);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toKeyRecord(row: ApiKeyRow): KeyRecord {
  return {
    id: row.id,
    secretHash: row.secretHash,
    tenant: row.tenant,
    subject: row.subject,
    email: row.email,
    roles: row.roles,
    groups: row.groups,
    scopes: row.scopes,
    servesTenants: row.servesTenants,
    notBefore: ms(row.notBefore),
    expiresAt: ms(row.expiresAt),
    revokedAt: ms(row.revokedAt),
  };
}

export function toKeyView(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    prefix: row.prefix,
    tenant: row.tenant,
    subject: row.subject,
    email: row.email,
    name: row.name,
    roles: row.roles,
    groups: row.groups,
    scopes: row.scopes,
    admin: row.scopes.includes("admin"),
    servesTenants: row.servesTenants,
    notBefore: iso(row.notBefore),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    replacedBy: row.replacedBy,
    origin: row.origin,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

export type KeyValidity = "valid" | "expired" | "not_yet_valid" | "revoked";

/** Decided on the record itself, so a cached record is checked on every request. */
export function keyValidity(record: KeyRecord, now: number): KeyValidity {
  if (record.revokedAt !== null && record.revokedAt <= now) return "revoked";
  if (record.expiresAt !== null && record.expiresAt <= now) return "expired";
  if (record.notBefore !== null && record.notBefore > now) return "not_yet_valid";
  return "valid";
}

export async function findKeyByHash(db: Database, secretHash: string): Promise<KeyRecord | null> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, secretHash)).limit(1);
  return rows[0] ? toKeyRecord(rows[0]) : null;
}

export async function getKeyRow(db: Database, id: string): Promise<ApiKeyRow | null> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return rows[0] ?? null;
}

/** Throws unless `name` may be a tenant's (src/formats/tenantName.ts): every writer of a tenant goes through here. */
export function requireTenantName(name: string): void {
  if (!isTenantName(name)) throw badRequest(`tenant: ${TENANT_NAME_RULE}`);
}

/** Creates a tenant, or finds it; another spelling of a stored tenant (`ACME` beside `acme`) is a 409 naming both. */
export async function ensureTenant(db: Database, name: TenantName): Promise<{ name: string; created: boolean }> {
  requireTenantName(name);
  const { created } = await claimTenant(db, name);
  return { name, created };
}

export async function listTenants(db: Database): Promise<{ name: string; createdAt: string }[]> {
  const rows = await db.select().from(tenants).orderBy(tenants.name);
  return rows.map((r) => ({ name: r.name, createdAt: r.createdAt.toISOString() }));
}

export interface NewKey {
  tenant: TenantName;
  subject: string;
  email?: string | null;
  name?: string | null;
  roles?: string[];
  groups?: string[];
  scopes?: string[];
  /** An admin key holds the scope `admin`: the one rule for admin, keys and JWTs alike. */
  admin?: boolean;
  servesTenants?: string[] | null;
  notBefore?: Date | null;
  expiresAt?: Date | null;
  createdBy: string;
}

/**
 * Creates a key (and its tenant when new). The plaintext is returned here once and stored nowhere. A tenant or
 * subject that is a stored one spelled otherwise under folding (`Acme` where `acme` exists) is refused with a 409
 * naming both, never resolved to the stored one: the admin meant one of the two, and only they know which.
 */
export async function createKey(db: Database, input: NewKey): Promise<{ key: string; row: ApiKeyRow }> {
  requireTenantName(input.tenant);
  for (const t of input.servesTenants ?? []) if (t !== "*") requireTenantName(t);
  const generated = generateApiKey();
  const secretHash = await hashApiKey(generated.key);
  const scopes = [...new Set([...(input.scopes ?? []), ...(input.admin ? ["admin"] : [])])];
  const row = await db.transaction(async (tx) => {
    await claimTenant(tx, input.tenant);
    // A worker key polls its served tenants' queues by name, and the worker routes do not check a key's names
    // again (workers/tenants.ts): a respelling of a stored tenant is refused here, as the key's own tenant is.
    for (const t of input.servesTenants ?? []) {
      const existing = t === "*" ? null : await tenantUnderFold(tx, t);
      if (existing !== null && existing !== t) throw collisionError({ kind: "tenant", existing, requested: t });
    }
    await claimSubject(tx, input.subject);
    const [r] = await tx
      .insert(apiKeys)
      .values({
        id: generated.id,
        prefix: generated.prefix,
        secretHash,
        tenant: input.tenant,
        subject: input.subject,
        email: input.email ?? null,
        name: input.name ?? null,
        roles: input.roles ?? [],
        groups: input.groups ?? [],
        scopes,
        servesTenants: input.servesTenants ?? null,
        notBefore: input.notBefore ?? null,
        expiresAt: input.expiresAt ?? null,
        createdBy: input.createdBy,
      })
      .returning();
    return r!;
  });
  return { key: generated.key, row };
}

export interface KeyListFilter {
  tenant?: string;
  subject?: string;
  includeRevoked?: boolean;
  limit: number;
  offset: number;
}

export async function listKeys(db: Database, f: KeyListFilter): Promise<ApiKeyRow[]> {
  const conds = [];
  if (f.tenant) conds.push(eq(apiKeys.tenant, f.tenant));
  if (f.subject) conds.push(eq(apiKeys.subject, f.subject));
  if (!f.includeRevoked) conds.push(sql`${apiKeys.revokedAt} is null`);
  return db
    .select()
    .from(apiKeys)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(apiKeys.createdAt), apiKeys.id)
    .limit(f.limit)
    .offset(f.offset);
}

/** Revokes a key; revoking twice keeps the first time. Returns the row, or null for an unknown id. */
export async function revokeKey(db: Database, id: string, at = new Date()): Promise<ApiKeyRow | null> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${at.toISOString()}::timestamptz)` })
    .where(eq(apiKeys.id, id))
    .returning();
  return rows[0] ?? null;
}

/**
 * Replaces a key with a new one holding the same grants. The old key keeps working until `graceS` from now
 * (or its own earlier expiry), then stops. Refused for revoked or already rotated keys.
 */
export async function rotateKey(
  db: Database,
  id: string,
  graceS: number,
  createdBy: string,
  now = new Date(),
): Promise<{ key: string; row: ApiKeyRow; old: ApiKeyRow } | { error: "not_found" | "revoked" | "rotated" }> {
  const generated = generateApiKey();
  const secretHash = await hashApiKey(generated.key);
  return db.transaction(async (tx) => {
    const [old] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for("update");
    if (!old) return { error: "not_found" as const };
    if (old.revokedAt) return { error: "revoked" as const };
    if (old.replacedBy) return { error: "rotated" as const };
    const graceEnd = new Date(now.getTime() + graceS * 1000);
    const oldExpiry = old.expiresAt && old.expiresAt < graceEnd ? old.expiresAt : graceEnd;
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id: generated.id,
        prefix: generated.prefix,
        secretHash,
        tenant: old.tenant,
        subject: old.subject,
        email: old.email,
        name: old.name,
        roles: old.roles,
        groups: old.groups,
        scopes: old.scopes,
        servesTenants: old.servesTenants,
        notBefore: old.notBefore,
        expiresAt: old.expiresAt,
        createdBy,
      })
      .returning();
    const [updated] = await tx
      .update(apiKeys)
      .set({ expiresAt: oldExpiry, replacedBy: generated.id })
      .where(eq(apiKeys.id, id))
      .returning();
    return { key: generated.key, row: row!, old: updated! };
  });
}
