/**
 * The admin API: keys, tenants, cache, log level, audit trail. Every route needs an admin principal
 * (401 without credential, 403 for anyone else), and every change is written to the audit trail.
 */
import { Hono } from "hono";
import { KV } from "../cache/kv";
import { LOG_LEVELS, type LogLevel } from "../config";
import {
  AUDIT_EXPORT_MAX_ROWS,
  AUDIT_EXPORT_PAGE_ROWS,
  CHART_MAX_BUCKETS,
  DEFAULT_ROTATION_GRACE_S,
  PREFECT_IMPORT_MAX_ROWS,
} from "../constants";
import { bumpCacheEpoch, setLogLevelOverride } from "../control";
import { recordAudit, settleAudit } from "../audit";
import { lastScheduledRun } from "../cron/purge";
import type { AppContext, AppEnv } from "../context";
import { withDatabase, type Database } from "../db/client";
import { GatewayError, badRequest, forbidden, notFound } from "../errors";
import { parseKeyId } from "../formats/apiKey";
import { forgetAllKeysInIsolate, forgetKeyInIsolate, writeKvEntry } from "../identity/keyLookup";
import { isAdminPrincipal } from "../identity/principal";
import { authenticated, requirePrincipal } from "../pipeline";
import { rateLimited } from "../ratelimit/enforce";
import { settleUsage } from "../ratelimit/usage";
import { forgetLimitsInIsolate } from "../ratelimit/limits";
import { registerLimitRoutes } from "./limits";
import { ADMIN_ROUTE_GROUP, routeGroupsOf } from "../formats/rateLimitRule";
import { auditPage, countAuditEvents, listAuditEvents, type AuditCursor, type AuditEvent } from "../store/audit";
import { lastUseOfKey } from "../store/rateLimits";
import { alignDown, auditSeries, bucketCount, chartStepS } from "./series";
import { createKey, ensureTenant, getKeyRow, listKeys, listTenants, revokeKey, rotateKey, toKeyRecord, toKeyView } from "../store/keys";
import { recordRevocation } from "../store/revocations";
import { registerExplain, type Dispatch } from "./explain";
import { AdminApi, ErrorEnvelope, type AdminExtension } from "./openapi";
import {
  GatewayStatus,
  AuditCounts,
  AuditEventView,
  AuditList,
  CreatedKey,
  KeyDetail,
  KeyList,
  KeyView,
  LogLevelSet,
  PrefectImportReport,
  Purged,
  Revoked,
  RotatedKey,
  TenantCreated,
  TenantList,
} from "./responses";
import { publishRevocation } from "../identity/revocation";
import {
  AuditCountsQuery,
  AuditQuery,
  CreateKeyBody,
  KeyListQuery,
  PrefectImportBody,
  RevokeTokenBody,
  RotateKeyBody,
  TenantBody,
  jsonBody,
  parseOr400,
  singleQuery,
} from "./validation";
import { importLegacyPrefectKeys } from "../store/prefectImport";

/** Admin bodies are small; anything larger is refused before parsing. */
const ADMIN_MAX_BODY_BYTES = 65_536;

const db = <T>(c: AppContext, work: (db: Database) => Promise<T>) => withDatabase(c.get("config"), work);

/**
 * Which door an admin action came through, for the audit trail: the console (a browser session), the operator
 * CLI (it names itself in `User-Agent`), or the API. Informational: the principal is what authorizes.
 */
function doorOf(c: AppContext): "console" | "cli" | "api" {
  if (c.get("principal")?.kind === "session") return "console";
  return /^flowgate-cli\//.test(c.req.header("user-agent") ?? "") ? "cli" : "api";
}

/** Records an admin action, with who did it and through which door, without delaying the answer. */
function audit(c: AppContext, event: Omit<AuditEvent, "actorSubject" | "actorKeyId" | "requestId" | "decision">) {
  const p = requirePrincipal(c);
  recordAudit(
    c,
    {
      ...event,
      details: { ...event.details, door: doorOf(c) },
      decision: "done",
      actorSubject: p.subject,
      actorKeyId: p.keyId ?? null,
      requestId: c.get("requestId"),
    },
    "admin.action",
  );
}

/**
 * The audit trail as NDJSON, streamed: one page of AUDIT_EXPORT_PAGE_ROWS read per pull (keyset paging, so rows
 * written meanwhile neither shift nor repeat it), up to AUDIT_EXPORT_MAX_ROWS; an export cut there, or by a failed
 * read, ends with one line `{"truncated":true,...}` saying so rather than ending as if complete.
 */
function exportAudit(c: AppContext, filter: Parameters<typeof auditPage>[1]): Response {
  const config = c.get("config");
  const encoder = new TextEncoder();
  let cursor: AuditCursor | null = null;
  let sent = 0;
  let done = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return;
      if (sent >= AUDIT_EXPORT_MAX_ROWS) {
        controller.enqueue(
          encoder.encode(`${JSON.stringify({ truncated: true, reason: `export limit of ${AUDIT_EXPORT_MAX_ROWS} events` })}\n`),
        );
        controller.close();
        done = true;
        return;
      }
      try {
        const size = Math.min(AUDIT_EXPORT_PAGE_ROWS, AUDIT_EXPORT_MAX_ROWS - sent);
        const page = await withDatabase(config, (d) => auditPage(d, filter, cursor, size));
        sent += page.events.length;
        if (page.events.length > 0) controller.enqueue(encoder.encode(page.events.map((e) => `${JSON.stringify(e)}\n`).join("")));
        cursor = page.next;
        if (!cursor) {
          controller.close();
          done = true;
        }
      } catch {
        c.get("log").error("audit.export_failed", { sent });
        controller.enqueue(encoder.encode(`${JSON.stringify({ truncated: true, reason: "the database failed during the export" })}\n`));
        controller.close();
        done = true;
      }
    },
  });
  return new Response(stream, { status: 200, headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
}

/** The key a path names, by its id in either form (`fgk_<id>` as shown, or the bare id). */
function keyIdParam(c: AppContext): string {
  const id = parseKeyId(c.req.param("id") ?? c.req.param("keyId") ?? "");
  if (id === null) throw notFound("no such key");
  return id;
}

/** Each admin app's operations, for the test that holds the OpenAPI document against the routes served. */
export const adminApis = new WeakMap<Hono<AppEnv>, AdminApi>();

/** The engines' hooks the admin API calls after a tenant was created (it may be one a cached list lacks). */
async function tenantsChanged(c: AppContext, engines: readonly AdminExtension[]): Promise<void> {
  for (const e of engines) if (e.onTenantsChanged) await e.onTenantsChanged(c);
}

/**
 * `dispatch` is the app itself, for `/admin/explain`'s dry runs; `engines` (the registry, from src/app.ts) add their
 * own admin routes (Argo's workspaces), hear of new tenants, and name the route groups a limit may name and the
 * mounts a dry run may explain.
 */
export function adminRoutes(dispatch: Dispatch, engines: readonly AdminExtension[]): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  const api = new AdminApi(admin);

  // Engine routes that also accept the engine's own admins (a workspace's): registered before the admin-only check.
  for (const e of engines) e.adminRoutes?.ownAccess?.(api);

  admin.use(
    "*",
    authenticated(),
    async (c, next) => {
      const p = requirePrincipal(c);
      if (!isAdminPrincipal(p)) throw forbidden("admin credential required");
      await next();
    },
    // An operator can always reach the limits themselves, to lift one set too tight.
    rateLimited(ADMIN_ROUTE_GROUP, undefined, (c) => c.req.path.startsWith("/admin/limits")),
  );

  // Cache
  api.route(
    {
      method: "post",
      path: "/cache/purge",
      tag: "operations",
      summary: "Purge every cached key lookup (all isolates, through the cache epoch)",
      responses: { 200: { description: "purged", schema: Purged } },
    },
    async (c) => {
      const epoch = await bumpCacheEpoch(c.env.KEY_CACHE);
      forgetAllKeysInIsolate();
      forgetLimitsInIsolate();
      audit(c, { action: "cache.purge", target: "*", details: { epoch } });
      return c.json({ purged: "all", cacheEpoch: epoch });
    },
  );

  api.route(
    {
      method: "delete",
      path: "/cache/keys/:keyId",
      tag: "operations",
      summary: "Purge one key's cached lookup",
      responses: { 200: { description: "purged", schema: Purged }, 404: { description: "no such key", schema: ErrorEnvelope } },
    },
    async (c) => {
      const id = keyIdParam(c);
      const row = await db(c, (d) => getKeyRow(d, id));
      if (!row) throw notFound("no such key");
      forgetKeyInIsolate(row.secretHash);
      await c.env.KEY_CACHE.delete(KV.apiKey(c.get("control").cacheEpoch, row.secretHash));
      audit(c, { action: "cache.purge", target: id, tenant: row.tenant });
      return c.json({ purged: id });
    },
  );

  // What operators watch: the cache epoch, the log level in force, the cron's last run.
  api.route(
    {
      method: "get",
      path: "/status",
      tag: "operations",
      summary: "Cache epoch, log level in force (and its override's end), the cron's last run",
      responses: { 200: { description: "status", schema: GatewayStatus } },
    },
    async (c) => {
      const control = c.get("control");
      const override = control.logLevelOverride && control.logLevelOverride.until > Date.now() ? control.logLevelOverride : null;
      return c.json({
        cacheEpoch: control.cacheEpoch,
        logLevel: {
          configured: c.get("config").logLevel,
          override: override && { level: override.level, until: new Date(override.until).toISOString() },
        },
        cron: { lastRun: await lastScheduledRun(c.env.KEY_CACHE) },
      });
    },
  );

  // Log level
  api.route(
    {
      method: "post",
      path: "/logs/:level",
      tag: "operations",
      summary: "Set the log level (error, warn, info, debug) for LOG_LEVEL_OVERRIDE_DURATION seconds",
      responses: { 200: { description: "set", schema: LogLevelSet } },
    },
    async (c) => {
      const level = (c.req.param("level") ?? "").toLowerCase();
      if (!LOG_LEVELS.includes(level as LogLevel)) {
        throw badRequest(`unknown log level; use one of ${LOG_LEVELS.join(", ")}`);
      }
      const durationS = c.get("config").logLevelOverrideDurationS;
      const until = await setLogLevelOverride(c.env.KEY_CACHE, level as LogLevel, durationS);
      audit(c, { action: "log.level", target: level, details: { durationS } });
      return c.json({ level, until: new Date(until).toISOString(), durationS });
    },
  );

  // Keys
  api.route(
    {
      method: "get",
      path: "/keys",
      tag: "keys",
      summary: "List keys",
      query: KeyListQuery,
      responses: { 200: { description: "keys, newest first", schema: KeyList } },
    },
    async (c) => {
      const q = parseOr400(KeyListQuery, singleQuery(c.req.url));
      const rows = await db(c, (d) => listKeys(d, { ...q, includeRevoked: q.includeRevoked === "true" }));
      return c.json({ keys: rows.map(toKeyView), limit: q.limit, offset: q.offset });
    },
  );

  api.route(
    {
      method: "post",
      path: "/keys",
      tag: "keys",
      summary: "Create a key; the answer carries the plaintext once",
      body: CreateKeyBody,
      examples: {
        ciJob: { tenant: "acme", subject: "ci-bot", scopes: ["query/*", "mutation/create_flow_run"] },
        worker: { tenant: "ops", subject: "worker-1", scopes: ["worker"], servesTenants: ["acme", "globex"] },
        admin: { tenant: "ops", subject: "root", admin: true, expiresAt: "2030-01-01T00:00:00Z" },
      },
      responses: { 201: { description: "created", schema: CreatedKey } },
    },
    async (c) => {
      const body = parseOr400(CreateKeyBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
      const creator = requirePrincipal(c);
      const { key, row } = await db(c, (d) => createKey(d, { ...body, createdBy: creator.subject }));
      await tenantsChanged(c, engines); // the key may have created its tenant
      audit(c, { action: "key.create", target: row.id, tenant: row.tenant, details: { scopes: row.scopes } });
      return c.json({ ...toKeyView(row), key }, 201);
    },
  );

  api.route(
    {
      method: "get",
      path: "/keys/:id",
      tag: "keys",
      summary: "One key, with when it was last used",
      responses: { 200: { description: "the key", schema: KeyDetail }, 404: { description: "no such key", schema: ErrorEnvelope } },
    },
    async (c) => {
      const id = keyIdParam(c);
      await settleUsage(c.get("config"), c.get("log")); // this isolate's pending usage first, so a use a moment ago shows
      const found = await db(c, async (d) => {
        const row = await getKeyRow(d, id);
        return row && { row, lastUsed: await lastUseOfKey(d, id) };
      });
      if (!found) throw notFound("no such key");
      return c.json({ ...toKeyView(found.row), lastUsed: found.lastUsed });
    },
  );

  api.route(
    {
      method: "delete",
      path: "/keys/:id",
      tag: "keys",
      summary: "Revoke a key (at once here, elsewhere within MEMORY_CACHE_TTL_S)",
      responses: { 200: { description: "revoked", schema: KeyView }, 404: { description: "no such key", schema: ErrorEnvelope } },
    },
    async (c) => {
      const id = keyIdParam(c);
      const row = await db(c, (d) => revokeKey(d, id));
      if (!row) throw notFound("no such key");
      // Here at once; elsewhere through the tombstone, within MEMORY_CACHE_TTL_S plus KV propagation.
      forgetKeyInIsolate(row.secretHash);
      await writeKvEntry(c.env.KEY_CACHE, c.get("control").cacheEpoch, toKeyRecord(row), c.get("config").keyCacheTtlS);
      audit(c, { action: "key.revoke", target: id, tenant: row.tenant });
      return c.json(toKeyView(row));
    },
  );

  api.route(
    {
      method: "post",
      path: "/keys/:id/rotate",
      tag: "keys",
      summary: "Rotate a key: a new key with the same grants; the old one works until the grace period ends",
      body: RotateKeyBody,
      examples: { oneHour: { gracePeriodS: 3600 }, now: { gracePeriodS: 0 } },
      responses: {
        201: { description: "the new key, and the old one's end", schema: RotatedKey },
        404: { description: "no such key", schema: ErrorEnvelope },
        409: { description: "revoked or already rotated", schema: ErrorEnvelope },
      },
    },
    async (c) => {
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
      return c.json({ ...toKeyView(result.row), key: result.key, previous: { id, expiresAt: result.old.expiresAt?.toISOString() } }, 201);
    },
  );

  api.route(
    {
      method: "post",
      path: "/keys/import-prefect",
      tag: "keys",
      summary: `Import keys from the replaced Prefect proxy's prefect_api_keys rows (at most ${PREFECT_IMPORT_MAX_ROWS} a call); idempotent`,
      description:
        "Each client keeps its key: only its SHA-256 is stored. A key already known is skipped; a row that cannot be imported is reported with why.",
      body: PrefectImportBody,
      examples: {
        oneRow: {
          tenant: "prefect",
          rows: [
            {
              user_id: "USERID",
              scopes: "mutation/*, query/*",
              api_key: "TestKey001",
              key_issu_dt: "2021-12-27",
              key_expr_dt: "2099-12-31",
            },
          ],
        },
      },
      responses: { 200: { description: "what was created, skipped and refused", schema: PrefectImportReport } },
    },
    async (c) => {
      const body = parseOr400(PrefectImportBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
      const importer = requirePrincipal(c);
      const report = await db(c, (d) => importLegacyPrefectKeys(d, body.rows, body.tenant, `import:prefect:${importer.subject}`));
      if (report.created.length > 0) {
        await tenantsChanged(c, engines);
        audit(c, {
          action: "key.import",
          tenant: body.tenant,
          details: { source: "prefect_api_keys", created: report.created.map((r) => r.id), refused: report.refused.length },
        });
      }
      return c.json(report);
    },
  );

  // Tenants
  api.route(
    {
      method: "get",
      path: "/tenants",
      tag: "tenants",
      summary: "List tenants",
      responses: { 200: { description: "tenants", schema: TenantList } },
    },
    async (c) => c.json({ tenants: await db(c, listTenants) }),
  );

  api.route(
    {
      method: "post",
      path: "/tenants",
      tag: "tenants",
      summary: "Create a tenant (an existing name is not an error)",
      body: TenantBody,
      examples: { acme: { name: "acme" } },
      responses: { 200: { description: "exists already", schema: TenantCreated }, 201: { description: "created", schema: TenantCreated } },
    },
    async (c) => {
      const body = parseOr400(TenantBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
      const result = await db(c, (d) => ensureTenant(d, body.name));
      if (result.created) {
        await tenantsChanged(c, engines);
        audit(c, { action: "tenant.create", target: body.name, tenant: body.name });
      }
      return c.json(result, result.created ? 201 : 200);
    },
  );

  for (const e of engines) e.adminRoutes?.adminOnly?.(api);
  registerExplain(
    api,
    dispatch,
    engines.map((e) => e.mount),
  );
  registerLimitRoutes(api, routeGroupsOf(engines));

  const documents = new Map<string, unknown>();
  api.route(
    {
      method: "get",
      path: "/openapi.json",
      tag: "meta",
      summary: "This document (OpenAPI 3.1)",
      responses: { 200: { description: "the OpenAPI document" } },
    },
    (c) => {
      const origin = new URL(c.req.url).origin;
      let document = documents.get(origin);
      if (!document) {
        document = api.document(origin);
        if (documents.size < 8) documents.set(origin, document);
      }
      return c.json(document);
    },
  );
  adminApis.set(admin, api);

  // Token revocation
  api.route(
    {
      method: "post",
      path: "/tokens/revoke",
      tag: "tokens",
      summary: "Revoke a JWT by jti, or every token of a subject issued up to now",
      body: RevokeTokenBody,
      examples: { oneToken: { jti: "6f1c0a9e-token-id" }, aPerson: { subject: "ann@acme.example", expiresAt: "2030-01-01T00:00:00Z" } },
      responses: { 200: { description: "revoked", schema: Revoked } },
    },
    async (c) => {
      const body = parseOr400(RevokeTokenBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
      const kind = body.jti !== undefined ? ("jti" as const) : ("subject" as const);
      const value = (body.jti ?? body.subject)!;
      const expiresAt = body.expiresAt ?? new Date(Date.now() + c.get("config").tokenRevocationTtlS * 1000);
      const r = await db(c, (d) => recordRevocation(d, { kind, value, expiresAt, revokedBy: requirePrincipal(c).subject }));
      await publishRevocation(c.env.KEY_CACHE, kind, value, r.revokedAt, r.expiresAt);
      audit(c, { action: "token.revoke", target: `${kind}:${value}`.slice(0, 300), details: { expiresAt: r.expiresAt.toISOString() } });
      return c.json({ kind, [kind]: value, revokedAt: r.revokedAt.toISOString(), expiresAt: r.expiresAt.toISOString() });
    },
  );

  // Audit trail
  api.route(
    {
      method: "get",
      path: "/audit",
      tag: "audit",
      summary: "The audit trail, newest first",
      description:
        "Refusals (any engine, the admin API), allowed writes, admin actions, and allowed reads when AUDIT_READS is on. " +
        "Identical refusals within a minute are one event with `count`, `at` (first) and `lastAt` (last). " +
        "With `format=ndjson`, every matching event, one JSON object a line, streamed page by page.",
      query: AuditQuery,
      responses: { 200: { description: "events", schema: AuditList, ndjson: AuditEventView } },
    },
    async (c) => {
      const q = parseOr400(AuditQuery, singleQuery(c.req.url));
      if (q.subject && q.principal && q.subject !== q.principal) throw badRequest("subject and principal name the same field: give one");
      const filter = { ...q, subject: q.subject ?? q.principal };
      await settleAudit(c.get("config")); // rows recorded a moment ago are written first, so they are listed
      if (q.format === "ndjson") return exportAudit(c, filter);
      return c.json({ events: await db(c, (d) => listAuditEvents(d, filter)), limit: q.limit, offset: q.offset });
    },
  );

  api.route(
    {
      method: "get",
      path: "/audit/counts",
      tag: "audit",
      summary: "Events counted over time, per engine and decision (the console's audit chart)",
      description:
        "The audit trail's filters; the range `since`..`until` (default: the last 24 hours) cut into buckets of `stepS` " +
        "seconds aligned on UTC (default: about 48 buckets), at most " +
        `${CHART_MAX_BUCKETS}. A run of identical refusals counts each of its events, in the bucket of its first.`,
      query: AuditCountsQuery,
      responses: { 200: { description: "one series of counts per engine and decision", schema: AuditCounts } },
    },
    async (c) => {
      const q = parseOr400(AuditCountsQuery, singleQuery(c.req.url));
      if (q.subject && q.principal && q.subject !== q.principal) throw badRequest("subject and principal name the same field: give one");
      const until = q.until?.getTime() ?? Date.now();
      const from = q.since?.getTime() ?? until - 86_400_000;
      if (from >= until)
        throw badRequest("invalid request: since must be before until", { fields: [{ field: "since", problem: "must be before until" }] });
      const stepS = q.stepS ?? chartStepS(until - from);
      const since = alignDown(from, stepS);
      const n = bucketCount(since, until, stepS);
      if (n > CHART_MAX_BUCKETS) {
        const problem = `makes ${n} buckets of the range; at most ${CHART_MAX_BUCKETS} (a longer step or a shorter range)`;
        throw badRequest(`invalid request: stepS ${problem}`, { fields: [{ field: "stepS", problem }] });
      }
      await settleAudit(c.get("config"));
      const cells = await db(c, (d) =>
        countAuditEvents(d, {
          action: q.action,
          decision: q.decision,
          engine: q.engine,
          subject: q.subject ?? q.principal,
          tenant: q.tenant,
          since: new Date(since),
          until: new Date(until),
          stepS,
        }),
      );
      const series = auditSeries(cells, n);
      return c.json({
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        stepS,
        buckets: n,
        total: series.reduce((t, s) => t + s.total, 0),
        series,
      });
    },
  );

  return admin;
}
