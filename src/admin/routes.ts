/**
 * The admin API: keys, tenants, cache, log level, audit trail. Every route needs an admin principal
 * (401 without credential, 403 for anyone else), and every change is written to the audit trail.
 */
import { Hono } from "hono";
import { forgetTenantList } from "../engines/workers/tenants";
import { KV } from "../cache/kv";
import { LOG_LEVELS, type LogLevel } from "../config";
import { DEFAULT_ROTATION_GRACE_S } from "../constants";
import { bumpCacheEpoch, setLogLevelOverride } from "../control";
import { recordAudit, settleAudit } from "../audit";
import type { AppContext, AppEnv } from "../context";
import { withDatabase, type Database } from "../db/client";
import { GatewayError, badRequest, forbidden, notFound } from "../errors";
import { forgetAllKeysInIsolate, forgetKeyInIsolate, writeKvEntry } from "../identity/keyLookup";
import { isAdminPrincipal } from "../identity/principal";
import { authenticated, requirePrincipal } from "../pipeline";
import { listAuditEvents, type AuditEvent } from "../store/audit";
import {
  createKey,
  ensureTenant,
  getKeyRow,
  listKeys,
  listTenants,
  revokeKey,
  rotateKey,
  toKeyRecord,
  toKeyView,
} from "../store/keys";
import { recordRevocation } from "../store/revocations";
import { registerExplain, type Dispatch } from "./explain";
import { registerWorkspaceListing, registerWorkspaceRoutes } from "./workspaces";
import { publishRevocation } from "../identity/revocation";
import { AuditQuery, CreateKeyBody, KeyListQuery, RevokeTokenBody, RotateKeyBody, TenantBody, jsonBody, parseOr400 } from "./validation";

/** Admin bodies are small; anything larger is refused before parsing. */
const ADMIN_MAX_BODY_BYTES = 65_536;
const KEY_ID = /^[a-z0-9]{12}$/;

const db = <T>(c: AppContext, work: (db: Database) => Promise<T>) => withDatabase(c.get("config"), work);

/** Records an admin action, with who did it, without delaying the answer. */
function audit(c: AppContext, event: Omit<AuditEvent, "actorSubject" | "actorKeyId" | "requestId" | "decision">) {
  const p = requirePrincipal(c);
  recordAudit(
    c,
    { ...event, decision: "DONE", actorSubject: p.subject, actorKeyId: p.keyId ?? null, requestId: c.get("requestId") },
    "admin.action",
  );
}

function keyIdParam(c: AppContext): string {
  const id = c.req.param("id") ?? c.req.param("keyId") ?? "";
  if (!KEY_ID.test(id)) throw notFound("no such key");
  return id;
}

/** `dispatch` is the app itself, for `/admin/explain`'s dry runs. */
export function adminRoutes(dispatch: Dispatch): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();

  // Workspace changes also accept that workspace's own admins: registered before the admin-only check.
  registerWorkspaceRoutes(admin);

  admin.use("*", authenticated(), async (c, next) => {
    const p = requirePrincipal(c);
    if (!isAdminPrincipal(p)) throw forbidden("admin credential required");
    await next();
  });

  // Cache
  admin.post("/cache/purge", async (c) => {
    const epoch = await bumpCacheEpoch(c.env.KEY_CACHE);
    forgetAllKeysInIsolate();
    audit(c, { action: "cache.purge", target: "*", details: { epoch } });
    return c.json({ purged: "all", cacheEpoch: epoch });
  });

  admin.delete("/cache/keys/:keyId", async (c) => {
    const id = keyIdParam(c);
    const row = await db(c, (d) => getKeyRow(d, id));
    if (!row) throw notFound("no such key");
    forgetKeyInIsolate(row.secretHash);
    await c.env.KEY_CACHE.delete(KV.apiKey(c.get("control").cacheEpoch, row.secretHash));
    audit(c, { action: "cache.purge", target: id, tenant: row.tenant });
    return c.json({ purged: id });
  });

  // Log level
  admin.post("/logs/:level", async (c) => {
    const level = c.req.param("level").toLowerCase();
    if (!LOG_LEVELS.includes(level as LogLevel)) {
      throw badRequest(`unknown log level; use one of ${LOG_LEVELS.join(", ")}`);
    }
    const durationS = c.get("config").logLevelOverrideDurationS;
    const until = await setLogLevelOverride(c.env.KEY_CACHE, level as LogLevel, durationS);
    audit(c, { action: "log.level", target: level, details: { durationS } });
    return c.json({ level, until: new Date(until).toISOString(), durationS });
  });

  // Keys
  admin.get("/keys", async (c) => {
    const q = parseOr400(KeyListQuery, c.req.query());
    const rows = await db(c, (d) =>
      listKeys(d, { ...q, includeRevoked: q.includeRevoked === "true" }),
    );
    return c.json({ keys: rows.map(toKeyView), limit: q.limit, offset: q.offset });
  });

  admin.post("/keys", async (c) => {
    const body = parseOr400(CreateKeyBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
    const creator = requirePrincipal(c);
    const { key, row } = await db(c, (d) => createKey(d, { ...body, createdBy: creator.subject }));
    await forgetTenantList(c.env.KEY_CACHE); // the key may have created its tenant
    audit(c, { action: "key.create", target: row.id, tenant: row.tenant, details: { scopes: row.scopes } });
    return c.json({ ...toKeyView(row), key }, 201);
  });

  admin.get("/keys/:id", async (c) => {
    const id = keyIdParam(c);
    const row = await db(c, (d) => getKeyRow(d, id));
    if (!row) throw notFound("no such key");
    return c.json(toKeyView(row));
  });

  admin.delete("/keys/:id", async (c) => {
    const id = keyIdParam(c);
    const row = await db(c, (d) => revokeKey(d, id));
    if (!row) throw notFound("no such key");
    // Here at once; elsewhere through the tombstone, within MEMORY_CACHE_TTL_S plus KV propagation.
    forgetKeyInIsolate(row.secretHash);
    await writeKvEntry(c.env.KEY_CACHE, c.get("control").cacheEpoch, toKeyRecord(row), c.get("config").keyCacheTtlS);
    audit(c, { action: "key.revoke", target: id, tenant: row.tenant });
    return c.json(toKeyView(row));
  });

  admin.post("/keys/:id/rotate", async (c) => {
    const id = keyIdParam(c);
    const body = parseOr400(RotateKeyBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
    const graceS = body.gracePeriodS ?? DEFAULT_ROTATION_GRACE_S;
    const creator = requirePrincipal(c);
    const result = await db(c, (d) => rotateKey(d, id, graceS, creator.subject));
    if ("error" in result) {
      if (result.error === "not_found") throw notFound("no such key");
      throw new GatewayError("CONFLICT", result.error === "revoked" ? "key is revoked" : "key was already rotated");
    }
    // The old key's new expiry must reach the caches: rewrite its entry.
    forgetKeyInIsolate(result.old.secretHash);
    await writeKvEntry(c.env.KEY_CACHE, c.get("control").cacheEpoch, toKeyRecord(result.old), c.get("config").keyCacheTtlS);
    audit(c, { action: "key.rotate", target: id, tenant: result.row.tenant, details: { newKeyId: result.row.id, graceS } });
    return c.json(
      { ...toKeyView(result.row), key: result.key, previous: { id, expiresAt: result.old.expiresAt?.toISOString() } },
      201,
    );
  });

  // Tenants
  admin.get("/tenants", async (c) => c.json({ tenants: await db(c, listTenants) }));

  admin.post("/tenants", async (c) => {
    const body = parseOr400(TenantBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
    const result = await db(c, (d) => ensureTenant(d, body.name));
    if (result.created) {
      await forgetTenantList(c.env.KEY_CACHE);
      audit(c, { action: "tenant.create", target: body.name, tenant: body.name });
    }
    return c.json(result, result.created ? 201 : 200);
  });

  registerWorkspaceListing(admin);
  registerExplain(admin, dispatch);

  // Token revocation
  admin.post("/tokens/revoke", async (c) => {
    const body = parseOr400(RevokeTokenBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
    const kind = body.jti !== undefined ? ("jti" as const) : ("subject" as const);
    const value = (body.jti ?? body.subject)!;
    const expiresAt = body.expiresAt ?? new Date(Date.now() + c.get("config").tokenRevocationTtlS * 1000);
    const r = await db(c, (d) => recordRevocation(d, { kind, value, expiresAt, revokedBy: requirePrincipal(c).subject }));
    await publishRevocation(c.env.KEY_CACHE, kind, value, r.revokedAt, r.expiresAt);
    audit(c, { action: "token.revoke", target: `${kind}:${value}`.slice(0, 300), details: { expiresAt: r.expiresAt.toISOString() } });
    return c.json({ kind, [kind]: value, revokedAt: r.revokedAt.toISOString(), expiresAt: r.expiresAt.toISOString() });
  });

  // Audit trail
  admin.get("/audit", async (c) => {
    const q = parseOr400(AuditQuery, c.req.query());
    await settleAudit(c.get("config")); // rows recorded a moment ago are written first, so they are listed
    return c.json({ events: await db(c, (d) => listAuditEvents(d, q)), limit: q.limit, offset: q.offset });
  });

  return admin;
}
