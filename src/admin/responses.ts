/**
 * The admin API's answers, as zod schemas: the OpenAPI document's response bodies (src/admin/openapi.ts). The
 * handlers build these objects from rows (src/store/*); the schemas describe them for clients.
 */
import { z } from "zod";
import { AUDIT_DECISIONS } from "../store/audit";

const instant = z.string().meta({ format: "date-time" });

export const KeyView = z
  .object({
    id: z.string(),
    prefix: z.string(),
    tenant: z.string(),
    subject: z.string(),
    email: z.string().nullable(),
    name: z.string().nullable(),
    roles: z.array(z.string()),
    groups: z.array(z.string()),
    scopes: z.array(z.string()),
    admin: z.boolean(),
    servesTenants: z.array(z.string()).nullable(),
    notBefore: instant.nullable(),
    expiresAt: instant.nullable(),
    revokedAt: instant.nullable(),
    replacedBy: z.string().nullable(),
    origin: z.string(),
    createdAt: instant,
    createdBy: z.string().nullable(),
  })
  .meta({ id: "Key" });

export const KeyDetail = KeyView.extend({
  lastUsed: z
    .object({
      at: instant.meta({ description: "the start of the usage cell holding the key's last counted request" }),
      resolution: z.enum(["minute", "hour", "day"]).meta({ description: "that cell's length: how precise `at` is" }),
    })
    .nullable()
    .meta({
      description:
        "When the key was last used, from its usage cells (minutes kept 2 days, hours 35, days USAGE_RETENTION_DAYS); null when none is kept. Usage is written in batches: up to USAGE_FLUSH_INTERVAL_MS behind.",
    }),
}).meta({ id: "KeyDetail" });

export const KeyList = z.object({ keys: z.array(KeyView), limit: z.number(), offset: z.number() }).meta({ id: "KeyList" });
export const CreatedKey = KeyView.extend({
  key: z.string().meta({ description: "the plaintext key: shown this once, never stored" }),
}).meta({ id: "CreatedKey" });
export const RotatedKey = CreatedKey.extend({ previous: z.object({ id: z.string(), expiresAt: instant.optional() }) }).meta({
  id: "RotatedKey",
});
export const Tenant = z.object({ name: z.string(), createdAt: instant }).meta({ id: "Tenant" });
export const TenantList = z.object({ tenants: z.array(Tenant) });
export const PrefectImportReport = z
  .object({
    created: z.array(z.object({ id: z.string(), subject: z.string() })),
    skipped: z.array(z.object({ subject: z.string(), reason: z.string() })),
    refused: z.array(z.object({ subject: z.string(), reason: z.string() })),
  })
  .meta({ id: "PrefectImportReport" });
export const TenantCreated = z.object({ name: z.string(), created: z.boolean() }).catchall(z.unknown());
export const AuditEventView = z
  .object({
    action: z.string(),
    decision: z.enum(AUDIT_DECISIONS),
    actorSubject: z.string(),
    actorKeyId: z.string().nullable(),
    tenant: z.string().nullable(),
    target: z.string().nullable(),
    requestId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    at: z.string().meta({ description: "when it happened (ISO 8601); the first of an aggregated run" }),
    lastAt: z.string().meta({ description: "when the last event of the run happened; at for a single event" }),
    count: z.number().int().meta({ description: "how many identical events this entry stands for" }),
    engine: z.string().nullable().meta({ description: "route group: prefect, conductor, workers, argo, flowapi, admin, auth, gateway" }),
    route: z.string().nullable().meta({ description: "method and route pattern, e.g. POST /argo/api/v1/workflows/:namespace" }),
  })
  .catchall(z.unknown())
  .meta({ id: "AuditEvent" });
export const AuditList = z.object({ events: z.array(AuditEventView), limit: z.number(), offset: z.number() });
export const Purged = z.object({ purged: z.string() }).catchall(z.unknown());
export const LogLevelSet = z.object({ level: z.string(), until: instant, durationS: z.number() });
export const Revoked = z.object({ kind: z.enum(["jti", "subject"]), revokedAt: instant, expiresAt: instant }).catchall(z.unknown());
export const Explanation = z
  .object({
    decision: z.enum(["allowed", "refused"]),
    status: z.number().nullable().meta({ description: "what the client would be answered; null when it would go upstream" }),
    principal: z.record(z.string(), z.unknown()).nullable(),
    reason: z.object({ code: z.string(), message: z.string() }).catchall(z.unknown()),
    upstream: z
      .object({
        method: z.string(),
        url: z.string(),
        headerNames: z.array(z.string()),
        body: z.string().nullable(),
        bodyTruncated: z.boolean(),
      })
      .nullable(),
    audits: z.array(z.object({ action: z.string(), decision: z.enum(AUDIT_DECISIONS), target: z.string().nullable().optional() })),
    limits: z.array(z.record(z.string(), z.unknown())),
  })
  .meta({ id: "Explanation" });
export const GatewayStatus = z
  .object({
    cacheEpoch: z.number(),
    logLevel: z.object({ configured: z.string(), override: z.object({ level: z.string(), until: instant }).nullable() }),
    cron: z.object({ lastRun: z.object({ at: instant, summary: z.record(z.string(), z.unknown()) }).nullable() }),
  })
  .meta({ id: "GatewayStatus" });

const counts = z.array(z.number().int());

export const AuditCounts = z
  .object({
    since: instant.meta({ description: "the first bucket's start (aligned on UTC to stepS)" }),
    until: instant,
    stepS: z.number().int().meta({ description: "each bucket's length in seconds" }),
    buckets: z.number().int().meta({ description: "how many buckets each series holds" }),
    total: z.number().int(),
    series: z.array(
      z.object({
        engine: z.string().nullable().meta({ description: "route group; null for events recorded without one" }),
        decision: z.enum(AUDIT_DECISIONS),
        total: z.number().int(),
        counts: counts.meta({
          description: "events in each bucket, from since, stepS apart (an aggregated run counts each of its events)",
        }),
      }),
    ),
  })
  .meta({ id: "AuditCounts" });

const usageSums = { requests: counts, cost: counts, refused: counts };
export const UsageSeriesList = z
  .object({
    resolution: z.enum(["minute", "hour", "day"]),
    by: z.enum(["tenant", "subject", "key", "routeGroup"]),
    since: instant,
    until: instant,
    stepS: z.number().int(),
    buckets: z.number().int(),
    series: z.array(
      z.object({
        name: z.string().meta({ description: "the tenant, subject, key id or route group; empty for none (a token has no key id)" }),
        owner: z
          .object({ subject: z.string(), tenant: z.string() })
          .optional()
          .meta({ description: "by key: the key's subject and tenant" }),
        total: z.object({ requests: z.number(), cost: z.number(), refused: z.number() }),
        ...usageSums,
      }),
    ),
    rest: z
      .object({ total: z.object({ requests: z.number(), cost: z.number(), refused: z.number() }), ...usageSums })
      .nullable()
      .meta({ description: "every other name summed; null when the series hold them all" }),
  })
  .meta({ id: "UsageSeries" });
