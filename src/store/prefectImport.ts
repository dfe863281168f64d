/**
 * Import of keys from the replaced Prefect API-key proxy (table `prefect_api_keys`: user_id, scopes, api_key,
 * key_issu_dt, key_expr_dt, ...). The key each client holds keeps working: flowgate stores its SHA-256 only and
 * looks it up like any key. Idempotent: a key whose hash is already known is skipped.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiKeys } from "../db/schema";
import { GatewayError } from "../errors";
import { KEY_PREFIX, generateKeyId, hashApiKey } from "../formats/apiKey";
import { MAX_LEGACY_KEY_LENGTH } from "../constants";
import { parseScopePattern } from "../formats/scopes";
import { claimSubject, claimTenant } from "./identities";
import { requireTenantName } from "./keys";

export interface LegacyPrefectKeyRow {
  user_id: unknown;
  scopes: unknown;
  api_key: unknown;
  key_issu_dt: unknown;
  key_expr_dt: unknown;
}

export interface ImportReport {
  created: { id: string; subject: string }[];
  skipped: { subject: string; reason: string }[];
  refused: { subject: string; reason: string }[];
}

const asDate = (v: unknown): Date | null => {
  if (v === null || v === undefined || v === "") return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
};

/** Checks one legacy row; a reason when it cannot be imported as is. Pure. */
export function checkLegacyRow(
  row: LegacyPrefectKeyRow,
):
  | { subject: string; key: string; scopes: string[]; notBefore: Date | null; expiresAt: Date | null }
  | { subject: string; reason: string } {
  const subject = typeof row.user_id === "string" ? row.user_id.trim() : "";
  if (!subject) return { subject: String(row.user_id ?? ""), reason: "no user_id" };
  const key = typeof row.api_key === "string" ? row.api_key : "";
  if (key.length < 8 || key.length > MAX_LEGACY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key) || key.startsWith(KEY_PREFIX)) {
    return { subject, reason: "api_key is not 8-256 printable characters" };
  }
  const scopes = String(row.scopes ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) return { subject, reason: "no scopes" };
  const bad = scopes.find((s) => parseScopePattern(s) === null);
  if (bad !== undefined) return { subject, reason: `invalid scope ${JSON.stringify(bad.slice(0, 40))}` };
  const notBefore = asDate(row.key_issu_dt);
  const expiresAt = asDate(row.key_expr_dt);
  if (row.key_expr_dt !== null && row.key_expr_dt !== undefined && !expiresAt) return { subject, reason: "key_expr_dt is not a date" };
  return { subject, key, scopes, notBefore, expiresAt };
}

export async function importLegacyPrefectKeys(
  db: Database,
  rows: LegacyPrefectKeyRow[],
  tenant: string,
  createdBy: string,
): Promise<ImportReport> {
  requireTenantName(tenant);
  const report: ImportReport = { created: [], skipped: [], refused: [] };
  await claimTenant(db, tenant); // another spelling of a stored tenant refuses the whole import, naming both
  for (const row of rows) {
    const checked = checkLegacyRow(row);
    if ("reason" in checked) {
      report.refused.push(checked);
      continue;
    }
    const secretHash = await hashApiKey(checked.key);
    const existing = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.secretHash, secretHash)).limit(1);
    if (existing.length > 0) {
      report.skipped.push({ subject: checked.subject, reason: `already imported as ${existing[0]!.id}` });
      continue;
    }
    try {
      await claimSubject(db, checked.subject);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      report.refused.push({ subject: checked.subject, reason: err.message });
      continue;
    }
    const id = generateKeyId();
    await db.insert(apiKeys).values({
      id,
      prefix: `legacy_${id}`,
      secretHash,
      tenant,
      subject: checked.subject,
      scopes: checked.scopes,
      notBefore: checked.notBefore,
      expiresAt: checked.expiresAt,
      origin: "prefect-import",
      name: "imported from prefect_api_keys",
      createdBy,
    });
    report.created.push({ id, subject: checked.subject });
  }
  return report;
}
