/**
 * `/admin/limits` and `/admin/usage`: rate limits and quotas (stored in PostgreSQL, published to KV and this
 * isolate at once) and the usage they are counted on. Registered behind the admin check of src/admin/routes.ts.
 */
import { z } from "zod";
import { recordAudit } from "../audit";
import type { AppContext } from "../context";
import { withDatabase, type Database } from "../db/client";
import { badRequest, notFound } from "../errors";
import { KEY_ID_RULE, parseKeyId } from "../formats/apiKey";
import { TENANT_NAME, TENANT_NAME_RULE } from "../identity/principal";
import { requirePrincipal } from "../pipeline";
import { CHART_MAX_BUCKETS, RATE_WINDOW_MAX_S, USAGE_SERIES_DEFAULT_TOP, USAGE_SERIES_MAX_TOP } from "../constants";
import type { RateLimitCounter } from "../ratelimit/counter";
import { TARGET_KINDS } from "../formats/rateLimitRule";
import { publishLimits } from "../ratelimit/limits";
import { settleUsage } from "../ratelimit/usage";
import {
  deleteRateLimit,
  getRateLimit,
  listRateLimits,
  listRateLimitViews,
  missingTarget,
  putRateLimit,
  queryUsage,
  updateRateLimit,
  USAGE_SERIES_BY,
  usageSeries,
} from "../store/rateLimits";
import { UsageSeriesList } from "./responses";
import { alignDown, bucketCount, usageSeriesOf } from "./series";
import { ErrorEnvelope, type AdminApi } from "./openapi";
import { jsonBody, parseOr400, singleQuery } from "./validation";

const ADMIN_MAX_BODY_BYTES = 16_384;
const LIMIT_ID = /^rl_[a-z0-9]{12}$/;
const printable = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[^\x00-\x1f\x7f]+$/, "must not contain control characters");

const rate = z
  .object({ limit: z.number().int().min(1).max(1_000_000_000), windowS: z.number().int().min(1).max(RATE_WINDOW_MAX_S) })
  .strict();
const quota = z.object({ limit: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), period: z.enum(["day", "month"]) }).strict();
const mode = z.enum(["enforce", "shadow"]);

export const LimitPatch = z
  .object({
    rate: rate.optional(),
    quota: quota.nullable().optional(),
    mode: mode.optional(),
    description: z.string().max(2_000).nullable().optional(),
  })
  .strict();

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/**
 * A new limit's body and a usage query, whose route group must be one of `routeGroups` (the registry's, from
 * `routeGroupsOf`): the admin API and the operator CLI build them from the registry they are given.
 */
export function limitSchemas(routeGroups: readonly [string, ...string[]]) {
  /**
   * Who is counted: a key id (either form: stored bare), a subject or a tenant, or `*` for each of them separately.
   * `kind` is the one name of the target's kind, in requests and answers alike.
   */
  const LimitBody = z
    .object({
      kind: z.enum(TARGET_KINDS),
      target: printable,
      routeGroup: z.enum([...routeGroups, "*"]).default("*"),
      rate,
      quota: quota.nullable().optional(),
      mode: mode.default("enforce"),
      description: z.string().max(2_000).optional(),
    })
    .strict()
    .refine(
      (b) => b.target === "*" || b.kind === "subject" || (b.kind === "key" ? parseKeyId(b.target) !== null : TENANT_NAME.test(b.target)),
      {
        message: "must be '*', a key id (fgk_ and 12 characters, or the 12 alone), a tenant name, or a subject",
        path: ["target"],
      },
    )
    .transform((b) => (b.kind === "key" && b.target !== "*" ? { ...b, target: parseKeyId(b.target)! } : b));

  const UsageQuery = z.object({
    resolution: z.enum(["minute", "hour", "day"]).default("hour"),
    tenant: z.string().regex(TENANT_NAME, TENANT_NAME_RULE).optional(),
    subject: z.string().max(256).optional(),
    keyId: z
      .string()
      .refine((s) => parseKeyId(s) !== null, KEY_ID_RULE)
      .transform((s) => parseKeyId(s)!)
      .optional(),
    routeGroup: z.enum(routeGroups).optional(),
    since: instant.optional(),
    until: instant.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  });
  /** `/admin/usage/series`: the usage query's filters and range, summed per `by` for the `top` names (the rest as one). */
  const UsageSeriesQuery = UsageQuery.omit({ limit: true, offset: true }).extend({
    by: z.enum(USAGE_SERIES_BY).meta({ description: "sum per tenant, subject, key (its id) or route group" }),
    top: z.coerce
      .number()
      .int()
      .min(1)
      .max(USAGE_SERIES_MAX_TOP)
      .default(USAGE_SERIES_DEFAULT_TOP)
      .meta({ description: "names given a series of their own, most requests first; the others are summed in rest" }),
  });
  return { LimitBody, UsageQuery, UsageSeriesQuery };
}

/** Default look-back of a usage query: an hour of minutes, two days of hours, a month of days. */
const DEFAULT_SINCE_MS = { minute: 3_600_000, hour: 2 * 86_400_000, day: 31 * 86_400_000 };
const STEP_S = { minute: 60, hour: 3_600, day: 86_400 };

const db = <T>(c: AppContext, work: (db: Database) => Promise<T>) => withDatabase(c.get("config"), work);

function limitId(c: AppContext): string {
  const id = c.req.param("id") ?? "";
  if (!LIMIT_ID.test(id)) throw notFound("no such limit");
  return id;
}

function audit(c: AppContext, action: string, target: string, details: Record<string, unknown>) {
  const p = requirePrincipal(c);
  recordAudit(
    c,
    { action, target, decision: "done", actorSubject: p.subject, actorKeyId: p.keyId ?? null, requestId: c.get("requestId"), details },
    "admin.action",
  );
}

/**
 * Every isolate's copy: this one at once, KV for the others (within MEMORY_CACHE_TTL_S plus KV propagation). No
 * lease is dropped, here or elsewhere: a lease carries the version of the limit it was granted under, so only the
 * changed limit's leases stop being spent (and go back to its counter), and every other owner keeps its own.
 */
async function publish(c: AppContext): Promise<void> {
  const rules = await db(c, listRateLimits);
  await publishLimits(c.env.KEY_CACHE, c.get("config"), c.get("control").cacheEpoch, rules);
}

function counter(c: AppContext, pool: string): DurableObjectStub<RateLimitCounter> | null {
  const ns = c.env.RATE_LIMITER as DurableObjectNamespace<RateLimitCounter> | undefined;
  return ns ? ns.get(ns.idFromName(pool)) : null;
}

export function registerLimitRoutes(api: AdminApi, routeGroups: readonly [string, ...string[]]): void {
  const { LimitBody, UsageQuery, UsageSeriesQuery } = limitSchemas(routeGroups);
  const NOT_FOUND = { description: "no such limit", schema: ErrorEnvelope };
  api.route(
    {
      method: "get",
      path: "/limits",
      tag: "limits",
      summary: "Every rate limit, with how often each refused (or would have, in shadow mode)",
      responses: { 200: { description: "limits" } },
    },
    async (c) => {
      await settleUsage(c.get("config"), c.get("log")); // this isolate's fire counts first
      return c.json({ limits: await db(c, listRateLimitViews) });
    },
  );

  api.route(
    {
      method: "get",
      path: "/limits/:id",
      tag: "limits",
      summary: "One limit, with its live bucket when it names one target",
      responses: { 200: { description: "the limit" }, 404: NOT_FOUND },
    },
    async (c) => {
      await settleUsage(c.get("config"), c.get("log"));
      const limit = await db(c, (d) => getRateLimit(d, limitId(c)));
      if (!limit) throw notFound("no such limit");
      // The live bucket, for a limit on one target (a `*` limit has one per caller: see /admin/usage instead).
      let bucket: unknown = null;
      if (limit.target !== "*") {
        const stub = counter(c, `${limit.kind}:${limit.target}`);
        bucket = (await stub?.buckets().catch(() => null))?.find((b) => b.limitId === limit.id) ?? null;
      }
      return c.json({ ...limit, bucket });
    },
  );

  api.route(
    {
      method: "post",
      path: "/limits",
      tag: "limits",
      summary: "Set the limit of a key, subject or tenant (or each, `*`) on a route group: created, or replaced",
      body: LimitBody,
      responses: { 200: { description: "replaced" }, 201: { description: "created" } },
    },
    async (c) => {
      const body = parseOr400(LimitBody, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
      const by = requirePrincipal(c).subject;
      // A limit on a key, tenant or subject that does not exist would never count anything: refused, naming it. A
      // subject may be known only from its usage: this isolate's pending cells are written first.
      if (body.kind === "subject") await settleUsage(c.get("config"), c.get("log"));
      const missing = await db(c, (d) => missingTarget(d, body.kind, body.target));
      if (missing) throw badRequest(`invalid request: target: ${missing}`, { fields: [{ field: "target", problem: missing }] });
      const { limit, created, changed } = await db(c, (d) =>
        putRateLimit(
          d,
          {
            kind: body.kind,
            target: body.target,
            routeGroup: body.routeGroup,
            rate: body.rate,
            quota: body.quota ?? null,
            mode: body.mode,
            description: body.description ?? null,
          },
          by,
        ),
      );
      if (!changed) return c.json(limit, 200);
      await publish(c);
      audit(c, created ? "limit.create" : "limit.update", limit.id, {
        kind: limit.kind,
        target: limit.target.slice(0, 256),
        routeGroup: limit.routeGroup,
        rate: limit.rate,
        quota: limit.quota,
        mode: limit.mode,
      });
      return c.json(limit, created ? 201 : 200);
    },
  );

  api.route(
    {
      method: "patch",
      path: "/limits/:id",
      tag: "limits",
      summary: "Change a limit: mode (shadow, enforce), rate, quota, description",
      body: LimitPatch,
      responses: { 200: { description: "changed" }, 404: NOT_FOUND },
    },
    async (c) => {
      const id = limitId(c);
      const body = parseOr400(LimitPatch, await jsonBody(c.req.raw, ADMIN_MAX_BODY_BYTES));
      const updated = await db(c, (d) => updateRateLimit(d, id, body, requirePrincipal(c).subject));
      if (!updated) throw notFound("no such limit");
      const { limit, changed } = updated;
      // A patch that changes nothing is answered with the limit as it is: no version, no publication, no audit.
      if (!changed) return c.json(limit);
      await publish(c);
      audit(c, "limit.update", id, { rate: limit.rate, quota: limit.quota, mode: limit.mode });
      return c.json(limit);
    },
  );

  api.route(
    {
      method: "delete",
      path: "/limits/:id",
      tag: "limits",
      summary: "Delete a limit",
      responses: { 200: { description: "deleted" }, 404: NOT_FOUND },
    },
    async (c) => {
      const id = limitId(c);
      const limit = await db(c, (d) => deleteRateLimit(d, id));
      if (!limit) throw notFound("no such limit");
      await publish(c);
      if (limit.target !== "*")
        await counter(c, `${limit.kind}:${limit.target}`)
          ?.forget(id)
          .catch(() => {});
      audit(c, "limit.delete", id, { kind: limit.kind, target: limit.target.slice(0, 256), routeGroup: limit.routeGroup });
      return c.json({ deleted: id });
    },
  );

  api.route(
    {
      method: "get",
      path: "/usage",
      tag: "limits",
      summary: "Usage (requests, cost, refused) per key, subject, tenant and route group, by minute, hour or day",
      query: UsageQuery,
      responses: { 200: { description: "usage cells, oldest first" } },
    },
    async (c) => {
      const q = parseOr400(UsageQuery, singleQuery(c.req.url));
      await settleUsage(c.get("config"), c.get("log")); // this isolate's pending cells first, so they are listed
      const since = q.since ?? new Date(Date.now() - DEFAULT_SINCE_MS[q.resolution]);
      const rows = await db(c, (d) => queryUsage(d, { ...q, since }));
      return c.json({
        resolution: q.resolution,
        since: since.toISOString(),
        until: q.until?.toISOString() ?? null,
        usage: rows,
        limit: q.limit,
        offset: q.offset,
      });
    },
  );

  api.route(
    {
      method: "get",
      path: "/usage/series",
      tag: "limits",
      summary: "Usage over time per tenant, subject, key or route group (the console's usage charts)",
      description:
        "The cells of `/admin/usage` summed per bucket (the resolution's minute, hour or day, aligned on UTC) for the " +
        `\`top\` names with the most requests over the range; every other name is summed in \`rest\`. At most ${CHART_MAX_BUCKETS} buckets.`,
      query: UsageSeriesQuery,
      responses: { 200: { description: "one series per name, oldest bucket first", schema: UsageSeriesList } },
    },
    async (c) => {
      const q = parseOr400(UsageSeriesQuery, singleQuery(c.req.url));
      const stepS = STEP_S[q.resolution];
      const until = q.until?.getTime() ?? Date.now();
      const since = alignDown(q.since?.getTime() ?? until - DEFAULT_SINCE_MS[q.resolution], stepS);
      if (since >= until) {
        throw badRequest("invalid request: since must be before until", { fields: [{ field: "since", problem: "must be before until" }] });
      }
      const n = bucketCount(since, until, stepS);
      if (n > CHART_MAX_BUCKETS) {
        const problem = `makes ${n} ${q.resolution}s; at most ${CHART_MAX_BUCKETS} (a coarser resolution or a shorter range)`;
        throw badRequest(`invalid request: since ${problem}`, { fields: [{ field: "since", problem }] });
      }
      await settleUsage(c.get("config"), c.get("log"));
      const { names, owners, cells } = await db(c, (d) => usageSeries(d, { ...q, since: new Date(since), until: new Date(until) }));
      const { series, rest } = usageSeriesOf(cells, names, since, stepS, n, owners);
      return c.json({
        resolution: q.resolution,
        by: q.by,
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        stepS,
        buckets: n,
        series,
        rest,
      });
    },
  );
}
