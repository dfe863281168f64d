/**
 * flowgate's tables. docs/storage.md describes each column and who writes it.
 * Timestamps are `timestamptz`; arrays are `text[]` so PostgreSQL (and PGlite) index and compare them natively.
 */
import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * Tenant names are unique without regard to case (`lower(name)`: names are ASCII, src/formats/identityFold.ts):
 * a case-insensitive store behind Conductor (MySQL's default collation) holds `acme___x` and `ACME___x` as one.
 */
export const tenants = pgTable(
  "tenants",
  {
    name: text("name").primaryKey(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("tenants_name_folded_idx").on(sql`lower(${t.name})`)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    /** Public id, also the middle part of the key (`fgk_<id>_...`). */
    id: text("id").primaryKey(),
    /** Short public prefix shown in listings and logs (`fgk_<id>`); never enough to use the key. */
    prefix: text("prefix").notNull(),
    /** Hex SHA-256 of the whole key string. The key itself is never stored. */
    secretHash: text("secret_hash").notNull(),
    tenant: text("tenant")
      .notNull()
      .references(() => tenants.name),
    subject: text("subject").notNull(),
    email: text("email"),
    roles: text("roles").array().notNull().default(sql`'{}'::text[]`),
    groups: text("groups").array().notNull().default(sql`'{}'::text[]`),
    scopes: text("scopes").array().notNull().default(sql`'{}'::text[]`),
    /** Tenants a worker credential polls for: `{*}` for all, or names; null for non-worker keys. */
    servesTenants: text("serves_tenants").array(),
    name: text("name"),
    notBefore: timestamp("not_before", { withTimezone: true }),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** Set on the old key when it is rotated: the key that replaces it. */
    replacedBy: text("replaced_by"),
    /** Where the key came from: `flowgate` (generated) or `prefect-import` (hash of a legacy key). */
    origin: text("origin").notNull().default("flowgate"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    createdBy: text("created_by").notNull(),
  },
  (t) => [
    uniqueIndex("api_keys_secret_hash_idx").on(t.secretHash),
    // The admin listings' order (newest first, src/store/keys.ts `listKeys`): a page is read off the index, never
    // every key sorted (docs/benchmarks.md, "Growth curves"); with the tenant first, one tenant's page likewise.
    index("api_keys_tenant_created_idx").on(t.tenant, t.createdAt.desc().nullsFirst(), t.id),
    index("api_keys_created_idx").on(t.createdAt.desc().nullsFirst(), t.id),
    index("api_keys_subject_idx").on(t.subject),
  ],
);

/** Workspace names are unique without regard to case, like tenant names (they are lower-case DNS labels anyway). */
export const workspaces = pgTable(
  "workspaces",
  {
    name: text("name").primaryKey(),
    /** Role groups: the caller needs every role of at least one group. `[["a","b"],["c"]]`. */
    roleGroups: jsonb("role_groups").$type<string[][]>().notNull(),
    hideForUnauthorized: boolean("hide_for_unauthorized").notNull().default(false),
    description: text("description"),
    /** Pod Security Standards level a submitted spec must meet: `baseline`, `restricted` or `privileged`. */
    podSecurity: text("pod_security").notNull().default("baseline"),
    /** Service accounts a workflow may name (none: the namespace's default only). */
    serviceAccounts: text("service_accounts").array().notNull().default(sql`'{}'::text[]`),
    /** ClusterWorkflowTemplates a workflow may reference or submit. */
    clusterTemplates: text("cluster_templates").array().notNull().default(sql`'{}'::text[]`),
    /** PriorityClasses a workflow's pods may name. */
    priorityClasses: text("priority_classes").array().notNull().default(sql`'{}'::text[]`),
    /** Powers granted beyond the defaults (src/engines/argo/specPolicy.ts `SPEC_CAPABILITIES`). */
    capabilities: text("capabilities").array().notNull().default(sql`'{}'::text[]`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    updatedBy: text("updated_by").notNull(),
  },
  (t) => [uniqueIndex("workspaces_name_folded_idx").on(sql`lower(${t.name})`)],
);

/**
 * Every subject a key was made for, under its fold (src/formats/identityFold.ts `foldSubject`: NFKD, accents and
 * ignorables dropped, full case folding): the primary key holds one spelling per fold, so `alice` and `Alice` are
 * never two key holders (Conductor's `correlationId` search, on a case-insensitive store, would merge them).
 * Written with each key; subjects of keys stored before it are claimed at start (src/store/identities.ts).
 */
export const subjects = pgTable("subjects", {
  folded: text("folded").primaryKey(),
  subject: text("subject").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** When the event happened (the first of an aggregated run): taken when it is decided, not when it is written. */
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** When the last event of an aggregated run happened; `at` for a single event. */
    lastAt: timestamp("last_at", { withTimezone: true }).notNull().defaultNow(),
    /** How many identical events this row stands for (refusals repeated within one window, src/audit.ts). */
    count: integer("count").notNull().default(1),
    /** What happened: `key.create`, `key.revoke`, `request.refused`, `request.allowed`, `prefect.mutation`, ... */
    action: text("action").notNull(),
    /** `allowed` / `refused` for decisions on requests, `done` for admin actions (src/store/audit.ts). */
    decision: text("decision").notNull(),
    actorSubject: text("actor_subject").notNull(),
    actorKeyId: text("actor_key_id"),
    tenant: text("tenant"),
    target: text("target"),
    requestId: text("request_id"),
    /** The route group the request went to (`prefect`, `conductor`, `workers`, `argo`, `flowapi`, `admin`, `auth`, `gateway`). */
    engine: text("engine"),
    /** The method and the route pattern that answered (`POST /argo/api/v1/workflows/:namespace`), never the raw path. */
    route: text("route"),
    /**
     * The aggregation key of a refusal (its kind, route, principal or client fingerprint, and window): one row per
     * key, later events of the window add to its `count`. Null for events that are never aggregated.
     */
    dedupeKey: text("dedupe_key"),
    /** Non-secret details (never variables, keys or tokens). */
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [
    index("audit_events_at_idx").on(t.at),
    // The cron's prune (`last_at` past retention) and the listing's `since` find their rows without a whole-table scan.
    index("audit_events_last_at_idx").on(t.lastAt),
    index("audit_events_action_idx").on(t.action, t.at),
    index("audit_events_engine_idx").on(t.engine, t.at),
    uniqueIndex("audit_events_dedupe_key_idx").on(t.dedupeKey),
  ],
);

/**
 * JWT revocations (`POST /admin/tokens/revoke`): one token by its `jti`, or every token of a subject issued up to
 * `revoked_at`. Read through KV and memory (src/identity/revocation.ts); rows past `expires_at` are pruned by the
 * cron, by when the tokens they stop have expired anyway.
 */
export const tokenRevocations = pgTable(
  "token_revocations",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** `jti` or `subject`. */
    kind: text("kind").notNull(),
    value: text("value").notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedBy: text("revoked_by").notNull(),
  },
  (t) => [uniqueIndex("token_revocations_kind_value_idx").on(t.kind, t.value), index("token_revocations_expires_idx").on(t.expiresAt)],
);

/**
 * Rate limits and quotas (`/admin/limits`, src/ratelimit). Counted on Durable Objects, not here: this is the
 * operator's setting, read through KV and memory, plus how often each limit fired.
 */
export const rateLimits = pgTable(
  "rate_limits",
  {
    /** `rl_` + 12 characters. */
    id: text("id").primaryKey(),
    /** Whose requests are counted together: `key` (an API key's id), `subject` (all keys and tokens of one identity), `tenant`. */
    targetKind: text("target_kind").notNull(),
    /** The key id, subject or tenant; `*` gives each one its own pool under the same limit. */
    target: text("target").notNull(),
    /** `prefect`, `conductor`, `workers`, `argo`, `flowapi`, `admin`, or `*` for every route. */
    routeGroup: text("route_group").notNull().default("*"),
    /** Token bucket: `rate_limit` cost units per `rate_window_s`, and bursts of up to `rate_limit`. */
    rateLimit: integer("rate_limit").notNull(),
    rateWindowS: integer("rate_window_s").notNull(),
    /** Optional quota: cost units per UTC `day` or `month`. */
    quotaLimit: bigint("quota_limit", { mode: "number" }),
    quotaPeriod: text("quota_period"),
    /** `enforce` refuses with 429; `shadow` only counts, logs and audits what it would refuse. */
    mode: text("mode").notNull().default("enforce"),
    /** Bumped on every change, so the counters adopt the new setting. */
    version: integer("version").notNull().default(1),
    description: text("description"),
    /** Requests refused (enforce) and requests that would have been (shadow), as isolates reported them. */
    refusedCount: bigint("refused_count", { mode: "number" }).notNull().default(0),
    shadowRefusedCount: bigint("shadow_refused_count", { mode: "number" }).notNull().default(0),
    lastFiredAt: timestamp("last_fired_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    updatedBy: text("updated_by").notNull(),
  },
  (t) => [uniqueIndex("rate_limits_target_idx").on(t.targetKind, t.target, t.routeGroup)],
);

/**
 * Usage: cost and requests per key, subject, tenant and route group, in minute, hour and day cells (written
 * together, in batches, by each isolate). Pruned by the cron: minutes after 2 days, hours after 35, days after
 * USAGE_RETENTION_DAYS. Empty tenant / key id: a caller without one (a JWT has no key id).
 */
export const usageCounters = pgTable(
  "usage_counters",
  {
    /** `minute`, `hour` or `day`. */
    resolution: text("resolution").notNull(),
    bucketStart: timestamp("bucket_start", { withTimezone: true }).notNull(),
    tenant: text("tenant").notNull().default(""),
    subject: text("subject").notNull(),
    keyId: text("key_id").notNull().default(""),
    routeGroup: text("route_group").notNull(),
    requests: bigint("requests", { mode: "number" }).notNull().default(0),
    cost: bigint("cost", { mode: "number" }).notNull().default(0),
    /** Requests refused by a limit (their cost is not in `cost`). */
    refused: bigint("refused", { mode: "number" }).notNull().default(0),
  },
  (t) => [
    primaryKey({ name: "usage_counters_pk", columns: [t.resolution, t.bucketStart, t.tenant, t.subject, t.keyId, t.routeGroup] }),
    index("usage_counters_bucket_idx").on(t.resolution, t.bucketStart),
    /** A key's cells: its last use and its usage on the console's key page (`GET /admin/keys/{id}`, `/admin/usage/series`). */
    index("usage_counters_key_idx").on(t.keyId, t.resolution, t.bucketStart),
  ],
);

export const schema = { tenants, apiKeys, workspaces, subjects, auditEvents, tokenRevocations, rateLimits, usageCounters };
export type Schema = typeof schema;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
