/**
 * The admin API's read endpoints behind the console's charts and key page (issue 27 item 5), through the real
 * Worker and the run's database: audit events counted over time per engine and decision, usage over time per
 * tenant or key (the top ones and the rest), a key's last use read from its usage cells, and field problems in
 * words. Rows are seeded through the store (past times the gateway cannot produce on demand) under names of the
 * test's own: the database is shared with the other test files.
 */
import { describe, expect, it } from "vitest";
import { asAdmin, baseEnv, bearer, call, createTestKey, uniqueTag } from "../helpers";
import { withDatabase, type Database } from "../../src/db/client";
import { parseConfig } from "../../src/readConfig";
import { insertAuditEvents } from "../../src/store/audit";
import { addUsage, type UsageCell } from "../../src/store/rateLimits";

const db = <T>(work: (d: Database) => Promise<T>) => {
  const parsed = parseConfig(baseEnv);
  if (!parsed.ok) throw parsed.error;
  return withDatabase(parsed.config, work);
};

interface Counts {
  since: string;
  until: string;
  stepS: number;
  buckets: number;
  total: number;
  series: { engine: string | null; decision: string; total: number; counts: number[] }[];
}

interface Series {
  since: string;
  stepS: number;
  buckets: number;
  series: { name: string; total: { requests: number; cost: number; refused: number }; requests: number[]; refused: number[] }[];
  rest: { total: { requests: number }; requests: number[] } | null;
}

const fieldsOf = async (res: Response) => ((await res.json()) as { error: { fields?: { field: string; problem: string }[] } }).error.fields;

describe("GET /admin/audit/counts", () => {
  const event = (subject: string, engine: string, decision: "allowed" | "refused" | "done", at: string, count = 1) => ({
    action: decision === "refused" ? "request.refused" : "request.allowed",
    decision,
    actorSubject: subject,
    engine,
    at,
    lastAt: at,
    count,
    dedupeKey: count > 1 ? uniqueTag("k") : null,
  });

  it("counts events per bucket, engine and decision; a run of refusals counts each of its events", async () => {
    const subject = uniqueTag("chart-audit");
    await db((d) =>
      insertAuditEvents(d, [
        event(subject, "conductor", "refused", "2026-03-01T10:05:00.000Z", 7),
        event(subject, "conductor", "refused", "2026-03-01T10:40:00.000Z"),
        event(subject, "conductor", "allowed", "2026-03-01T11:59:59.000Z"),
        event(subject, "argo", "refused", "2026-03-01T12:30:00.000Z"),
        event(subject, "prefect", "allowed", "2026-03-01T09:59:59.000Z"), // before the range
        event(subject, "prefect", "allowed", "2026-03-01T14:00:00.000Z"), // at `until`: outside
      ]),
    );
    const res = await asAdmin(`/admin/audit/counts?principal=${subject}&since=2026-03-01T10:00:00Z&until=2026-03-01T14:00:00Z&stepS=3600`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Counts;
    expect(body).toMatchObject({
      since: "2026-03-01T10:00:00.000Z",
      until: "2026-03-01T14:00:00.000Z",
      stepS: 3600,
      buckets: 4,
      total: 10,
    });
    expect(body.series).toEqual([
      { engine: "conductor", decision: "refused", total: 8, counts: [8, 0, 0, 0] },
      { engine: "argo", decision: "refused", total: 1, counts: [0, 0, 1, 0] },
      { engine: "conductor", decision: "allowed", total: 1, counts: [0, 1, 0, 0] },
    ]);
    // The decision filter narrows the series; the range's start is aligned down to the step.
    const refused = (await (
      await asAdmin(
        `/admin/audit/counts?principal=${subject}&decision=refused&since=2026-03-01T10:20:00Z&until=2026-03-01T14:00:00Z&stepS=3600`,
      )
    ).json()) as Counts;
    expect(refused.since).toBe("2026-03-01T10:00:00.000Z");
    expect(refused.series.map((s) => s.decision)).toEqual(["refused", "refused"]);
  });

  it("chooses a step that lays the range out in about 48 buckets, and refuses too many buckets or a range backwards, in words", async () => {
    const subject = uniqueTag("chart-audit-step");
    const day = (await (await asAdmin(`/admin/audit/counts?principal=${subject}`)).json()) as Counts;
    expect(day.stepS).toBe(1800);
    expect(day.buckets).toBeGreaterThanOrEqual(48);
    expect(day.buckets).toBeLessThanOrEqual(49);
    expect(day.series).toEqual([]);

    const tooMany = await asAdmin("/admin/audit/counts?since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z&stepS=60");
    expect(tooMany.status).toBe(400);
    expect(await fieldsOf(tooMany)).toEqual([{ field: "stepS", problem: expect.stringMatching(/^makes 84960 buckets .* at most 1440/) }]);
    const odd = await asAdmin("/admin/audit/counts?stepS=61");
    expect(await fieldsOf(odd)).toEqual([{ field: "stepS", problem: expect.stringMatching(/^must be one of 60, 300/) }]);
    const backwards = await asAdmin("/admin/audit/counts?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z");
    expect(await fieldsOf(backwards)).toEqual([{ field: "since", problem: "must be before until" }]);
    const notATime = await asAdmin("/admin/audit/counts?since=yesterday");
    expect(await fieldsOf(notATime)).toEqual([{ field: "since", problem: expect.stringMatching(/^must be a date and time/) }]);
  });

  it("answers admins only", async () => {
    const { key } = await createTestKey({ scopes: ["query/*"] });
    expect((await call("/admin/audit/counts", { headers: bearer(key) })).status).toBe(403);
    expect((await call("/admin/audit/counts")).status).toBe(401);
  });
});

describe("GET /admin/usage/series", () => {
  const cell = (over: Partial<UsageCell> & Pick<UsageCell, "bucketStart" | "tenant" | "keyId" | "requests">): UsageCell => ({
    resolution: "hour",
    subject: "chart-user",
    routeGroup: "prefect",
    cost: over.requests,
    refused: 0,
    ...over,
  });

  it("sums usage per key for the top ones, most requests first, and the rest as one series", async () => {
    const tenant = uniqueTag("charts").toLowerCase();
    const [a, b, c] = ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"].map((k) => `${k.slice(0, 6)}${uniqueTag("").slice(0, 6)}`);
    const h = (n: number) => new Date(Date.UTC(2026, 2, 1, n));
    await db((d) =>
      addUsage(d, [
        cell({ bucketStart: h(10), tenant, keyId: a!, requests: 5, refused: 2 }),
        cell({ bucketStart: h(10), tenant, keyId: a!, requests: 3, routeGroup: "conductor" }),
        cell({ bucketStart: h(12), tenant, keyId: b!, requests: 20 }),
        cell({ bucketStart: h(11), tenant, keyId: c!, requests: 1 }),
        cell({ bucketStart: h(11), tenant, keyId: "", subject: "a-token-user", requests: 2 }),
      ]),
    );
    const range = "since=2026-03-01T10:00:00Z&until=2026-03-01T13:00:00Z";
    const res = await asAdmin(`/admin/usage/series?resolution=hour&by=key&tenant=${tenant}&top=2&${range}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Series;
    expect(body).toMatchObject({ since: "2026-03-01T10:00:00.000Z", stepS: 3600, buckets: 3 });
    expect(body.series.map((s) => [s.name, s.requests, s.total.requests])).toEqual([
      [b, [0, 0, 20], 20],
      [a, [8, 0, 0], 8],
    ]);
    expect(body.series[1]!.refused).toEqual([2, 0, 0]);
    expect(body.series[1]).toMatchObject({ owner: { subject: "chart-user", tenant } });
    expect(body.rest).toMatchObject({ total: { requests: 3 }, requests: [0, 3, 0] });

    const byTenant = (await (await asAdmin(`/admin/usage/series?resolution=hour&by=tenant&tenant=${tenant}&${range}`)).json()) as Series;
    expect(byTenant.series).toEqual([expect.objectContaining({ name: tenant, requests: [8, 3, 20] })]);
    expect(byTenant.rest).toBeNull();
  });

  it("refuses a range of too many buckets and an unknown sum, in words beside the field", async () => {
    const minutes = await asAdmin("/admin/usage/series?resolution=minute&by=tenant&since=2026-01-01T00:00:00Z&until=2026-01-03T00:00:00Z");
    expect(minutes.status).toBe(400);
    expect(await fieldsOf(minutes)).toEqual([{ field: "since", problem: expect.stringMatching(/^makes 2880 minutes; at most 1440/) }]);
    const by = await asAdmin("/admin/usage/series?by=colour");
    expect(await fieldsOf(by)).toEqual([{ field: "by", problem: "must be one of tenant, subject, key, routeGroup" }]);
  });
});

describe("a key's last use (GET /admin/keys/{id})", () => {
  it("is the latest usage cell: the minute of a request made a moment ago, through the gateway", async () => {
    const { id, key } = await createTestKey({ tenant: "ops", admin: true });
    const before = (await (await asAdmin(`/admin/keys/${id}`)).json()) as { lastUsed: unknown };
    expect(before.lastUsed).toBeNull();
    const used = Date.now();
    expect((await call("/admin/status", { headers: bearer(key) })).status).toBe(200);
    const after = (await (await asAdmin(`/admin/keys/fgk_${id}`)).json()) as { lastUsed: { at: string; resolution: string } };
    expect(after.lastUsed.resolution).toBe("minute");
    const at = Date.parse(after.lastUsed.at);
    expect(at % 60_000).toBe(0);
    expect(used - at).toBeLessThan(60_000 + 5_000);
  });

  it("falls back to the hour and the day cells once the minutes are pruned", async () => {
    const { id } = await createTestKey({});
    const cell = (resolution: "hour" | "day", bucketStart: Date): UsageCell => ({
      resolution,
      bucketStart,
      tenant: "acme",
      subject: "user-1",
      keyId: id,
      routeGroup: "prefect",
      requests: 1,
      cost: 1,
      refused: 0,
    });
    await db((d) => addUsage(d, [cell("day", new Date("2026-02-01T00:00:00Z"))]));
    expect(((await (await asAdmin(`/admin/keys/${id}`)).json()) as { lastUsed: unknown }).lastUsed).toEqual({
      at: "2026-02-01T00:00:00.000Z",
      resolution: "day",
    });
    await db((d) => addUsage(d, [cell("hour", new Date("2026-02-01T13:00:00Z"))]));
    expect(((await (await asAdmin(`/admin/keys/${id}`)).json()) as { lastUsed: unknown }).lastUsed).toEqual({
      at: "2026-02-01T13:00:00.000Z",
      resolution: "hour",
    });
  });
});

describe("field problems in words", () => {
  it("a bad number in a limit is named with what it must be, not zod's message", async () => {
    const { id } = await createTestKey({});
    const put = (rate: unknown) => asAdmin("/admin/limits", { method: "POST", json: { kind: "key", target: id, rate } });
    expect(await fieldsOf(await put({ limit: "ten", windowS: 60 }))).toEqual([
      { field: "rate.limit", problem: "must be a number, not text" },
    ]);
    expect(await fieldsOf(await put({ limit: 1.5, windowS: 60 }))).toEqual([{ field: "rate.limit", problem: "must be a whole number" }]);
    expect(await fieldsOf(await put({ limit: 0, windowS: 60 }))).toEqual([{ field: "rate.limit", problem: "must be at least 1" }]);
    expect(await fieldsOf(await put({ limit: 5 }))).toEqual([{ field: "rate.windowS", problem: "is required" }]);
    const mode = await asAdmin("/admin/limits", {
      method: "POST",
      json: { kind: "key", target: id, rate: { limit: 1, windowS: 1 }, mode: "loud" },
    });
    expect(await fieldsOf(mode)).toEqual([{ field: "mode", problem: "must be one of enforce, shadow" }]);
  });
});
