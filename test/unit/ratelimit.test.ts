/**
 * The pure parts of rate limiting: the bucket and quota arithmetic (with a clock of the test's own), what a
 * request costs, which limits match a caller, and the usage roll-up.
 */
import { describe, expect, it } from "vitest";
import { consume, evaluate, freshState, periodEnd, periodKey, settle, type LimitSpec } from "../../src/ratelimit/bucket";
import { conductorBulkCost, conductorCost, fieldWeight, prefectCost, rootFieldExecutions, workerCost } from "../../src/ratelimit/cost";
import type { RateLimitRule } from "../../src/formats/rateLimitRule";
import { compileTable, matchLimits } from "../../src/ratelimit/limits";
import { rollUp } from "../../src/ratelimit/usage";
import { parseConfig } from "../../src/readConfig";
import { DEFAULT_GRAPHQL_LIMITS } from "../../src/constants";
import { analyzeRequest } from "../../src/engines/prefect/policy";

const spec = (over: Partial<LimitSpec> = {}): LimitSpec => ({
  id: "rl_x",
  version: 1,
  rate: { limit: 100, windowS: 60 },
  quota: null,
  shadow: false,
  ...over,
});
const T0 = Date.UTC(2026, 10, 27, 23, 59, 0);

describe("token bucket", () => {
  it("starts full, grants a tenth of what is left as a lease (never less than the cost), refills at limit/window", () => {
    const s = spec();
    let state = freshState(s, T0);
    const first = evaluate(state, s, 1, T0);
    expect(first).toMatchObject({ granted: 10, available: 90, refusal: null });
    state = consume(state, s, first.granted);
    expect(evaluate(state, s, 30, T0).granted).toBe(30);
    // 30 s later: +50 tokens, capped at the limit.
    state = settle(state, s, T0 + 30_000);
    expect(state.tokens).toBeCloseTo(100);
  });

  it("refuses a cost above what is left with the exact wait; a cost above the capacity or the quota never passes, and names no wait", () => {
    const s = spec({ rate: { limit: 10, windowS: 10 } });
    let state = consume(freshState(s, T0), s, 9);
    const r = evaluate(state, s, 3, T0);
    expect(r.granted).toBe(0);
    expect(r.refusal).toMatchObject({ reason: "rate", retryAfterMs: 2_000 });
    expect(evaluate(state, s, 11, T0).refusal).toMatchObject({ reason: "cost", retryAfterMs: 0 });
    expect(evaluate(freshState(s, T0), s, 11, T0).refusal?.reason).toBe("cost"); // even from a full bucket
    const q = spec({ rate: { limit: 100, windowS: 10 }, quota: { limit: 20, period: "day" } });
    expect(evaluate(freshState(q, T0), q, 21, T0).refusal).toMatchObject({ reason: "cost", retryAfterMs: 0 });
    state = settle(state, s, T0 + 2_000);
    expect(evaluate(state, s, 3, T0 + 2_000).refusal).toBeNull();
  });

  it("never admits more than limit + refill over any run of requests, leases or not (the stated bound)", () => {
    const s = spec({ rate: { limit: 50, windowS: 10 } });
    let state = freshState(s, T0);
    let admitted = 0;
    for (let t = 0; t <= 20_000; t += 7) {
      state = settle(state, s, T0 + t);
      const take = evaluate(state, s, 1, T0 + t);
      if (!take.refusal) {
        state = consume(state, s, take.granted);
        admitted += take.granted; // every granted token counted as spent at once: the worst case
      }
    }
    expect(admitted).toBeLessThanOrEqual(50 + (50 * 20_000) / 10_000 + 1);
    expect(admitted).toBeGreaterThanOrEqual(140);
  });

  it("takes returned tokens back, capped at the capacity, and off the quota count", () => {
    const s = spec({ quota: { limit: 1000, period: "day" } });
    let state = consume(freshState(s, T0), s, 40);
    state = settle(state, s, T0, 25);
    expect(state.tokens).toBe(85);
    expect(state.quotaUsed).toBe(15);
    expect(settle(state, s, T0, 1_000).tokens).toBe(100);
  });

  it("counts a quota per UTC day and starts afresh when the day changes", () => {
    const s = spec({ quota: { limit: 5, period: "day" } });
    let state = consume(freshState(s, T0), s, 5);
    const refused = evaluate(settle(state, s, T0 + 1_000), s, 1, T0 + 1_000);
    expect(refused.refusal).toMatchObject({ reason: "quota", retryAfterMs: periodEnd("day", T0 + 1_000) - (T0 + 1_000) });
    state = settle(state, s, T0 + 61_000); // 00:00:01 the next day
    expect(state.quotaPeriod).toBe("2026-11-28");
    expect(state.quotaUsed).toBe(0);
    expect(evaluate(state, s, 1, T0 + 61_000).refusal).toBeNull();
    expect(periodKey("month", T0)).toBe("2026-11");
    expect(periodEnd("month", T0)).toBe(Date.UTC(2026, 11, 1));
  });

  it("adopts a changed limit: tokens cut to the new capacity", () => {
    const s = spec();
    const state = freshState(s, T0);
    const lowered = settle(state, { ...s, version: 2, rate: { limit: 10, windowS: 60 } }, T0);
    expect(lowered).toMatchObject({ version: 2, tokens: 10 });
  });
});

describe("cost", () => {
  const weights = parseConfig({ DATABASE_URL: "postgres://x", KEY_CACHE: { get() {} } });
  const w = weights.ok ? weights.config.rateLimits.prefectFieldCosts : new Map();

  it("counts each execution of a root field: aliases apart, same response key merged, fragments followed once", () => {
    expect(Object.fromEntries(rootFieldExecutions("{ a: flow { id } b: flow { id } flow { id } flow { name } }", null, 1000)!)).toEqual({
      flow: 3,
    });
    const viaFragments =
      "query Q { ...F ...F ... on query_root { c: flow { id } } } fragment F on query_root { a: flow { id } b: task { id } }";
    expect(Object.fromEntries(rootFieldExecutions(viaFragments, "Q", 1000)!)).toEqual({ flow: 2, task: 1 });
    expect(rootFieldExecutions("query A { flow { id } } query B { x: flow { id } y: flow { id } }", "B", 1000)!.get("flow")).toBe(2);
    expect(rootFieldExecutions("{ nope", null, 1000)).toBeNull();
  });

  it("weighs mutations above queries by default, __typename at nothing, every operation at least 1", () => {
    expect(fieldWeight(w, "query", "flow")).toBe(1);
    expect(fieldWeight(w, "mutation", "delete_flow")).toBe(5);
    expect(fieldWeight(w, "mutation", "create_flow_run")).toBe(10);
    expect(fieldWeight(w, "query", "__typename")).toBe(0);
    const ten = `mutation { ${Array.from({ length: 10 }, (_, i) => `r${i}: create_flow_run(input: {}) { id }`).join(" ")} }`;
    expect(
      prefectCost([{ query: ten, operationName: null, type: "mutation", rootFields: ["create_flow_run"] }], w, { maxTokens: 15_000 }),
    ).toBe(100);
    expect(
      prefectCost([{ query: "{ __typename }", operationName: null, type: "query", rootFields: ["__typename"] }, null], w, {
        maxTokens: 15_000,
      }),
    ).toBe(2);
  });

  it("uses the guard's own count of executions when its analysis gives one, and agrees with it", () => {
    const docs = [
      "{ a: flow { id } b: flow { id } flow { id } flow { name } }",
      "query Q { ...F ...F ... on query_root { c: flow { id } } } fragment F on query_root { a: flow { id } b: task { id } }",
      `mutation { ${Array.from({ length: 7 }, (_, i) => `m${i}: create_flow_run(input: {}) { id }`).join(" ")} x: set_schedule_active(input: {}) { success } }`,
    ];
    for (const query of docs) {
      const analysis = analyzeRequest(
        { query, operationName: query.startsWith("query Q") ? "Q" : null, persistedQueryHash: null },
        DEFAULT_GRAPHQL_LIMITS,
      );
      if (!analysis.ok) throw new Error(analysis.reason);
      const ours = rootFieldExecutions(query, analysis.value.name, 15_000)!;
      expect(Object.fromEntries(analysis.value.rootFieldUses.map((u) => [u.name, u.responseKeys]))).toEqual(Object.fromEntries(ours));
      const op = { query, operationName: analysis.value.name, type: analysis.value.type, rootFields: analysis.value.rootFields };
      expect(prefectCost([{ ...op, rootFieldUses: analysis.value.rootFieldUses }], w, { maxTokens: 15_000 })).toBe(
        prefectCost([op], w, { maxTokens: 15_000 }),
      );
    }
    const three = {
      query: "irrelevant",
      operationName: null,
      type: "mutation" as const,
      rootFields: ["create_flow_run"],
      rootFieldUses: [{ name: "create_flow_run", responseKeys: 3 }],
    };
    expect(prefectCost([three], w, { maxTokens: 15_000 })).toBe(30);
  });

  it("PREFECT_FIELD_COSTS overrides the defaults and is validated", () => {
    const r = parseConfig({
      DATABASE_URL: "postgres://x",
      KEY_CACHE: { get() {} },
      PREFECT_FIELD_COSTS: "mutation/create_flow_run=1,query/*=2",
    });
    expect(r.ok && r.config.rateLimits.prefectFieldCosts.get("mutation/create_flow_run")).toBe(1);
    expect(r.ok && r.config.rateLimits.prefectFieldCosts.get("query/*")).toBe(2);
    const bad = parseConfig({ DATABASE_URL: "postgres://x", KEY_CACHE: { get() {} }, PREFECT_FIELD_COSTS: "create_flow_run=x" });
    expect(bad.ok).toBe(false);
    const unavailable = parseConfig({ DATABASE_URL: "postgres://x", KEY_CACHE: { get() {} }, RATE_LIMIT_ON_UNAVAILABLE: "maybe" });
    expect(unavailable.ok).toBe(false);
  });

  it("Conductor: a write costs more than a read, a bulk request each id at its operation's cost; a worker's batch poll costs its count, within MAX_POLL_COUNT", () => {
    expect(conductorCost("GET")).toBe(1);
    expect(conductorCost("DELETE")).toBe(2);
    expect(conductorCost("POST")).toBe(2);
    expect(conductorBulkCost("restart", 40)).toBe(200);
    expect(conductorBulkCost("retry", 3)).toBe(15);
    expect(conductorBulkCost("pause", 40)).toBe(80);
    expect(conductorBulkCost("terminate", 0)).toBe(2);
    expect(conductorBulkCost("something-new", 2)).toBe(10);
    expect(workerCost("/workers/conductor/api/tasks/poll/batch/job", "25", 100)).toBe(25);
    expect(workerCost("/workers/conductor/api/tasks/poll/batch/job", "100000", 100)).toBe(100);
    expect(workerCost("/workers/conductor/api/tasks/poll/batch/job", "-3", 100)).toBe(1);
    expect(workerCost("/workers/conductor/api/tasks/poll/job", "50", 100)).toBe(1);
  });
});

describe("matching", () => {
  const rule = (over: Partial<RateLimitRule>): RateLimitRule => ({
    id: "rl_a",
    kind: "key",
    target: "*",
    routeGroup: "*",
    rate: { limit: 1, windowS: 1 },
    quota: null,
    mode: "enforce",
    version: 1,
    ...over,
  });

  it("applies a rule to its target on its route group; `*` gives each caller a pool of its own", () => {
    const table = compileTable([
      rule({ id: "rl_each_key", kind: "key", target: "*", routeGroup: "prefect" }),
      rule({ id: "rl_acme", kind: "tenant", target: "acme" }),
      rule({ id: "rl_alice", kind: "subject", target: "alice", routeGroup: "conductor" }),
    ]);
    const pools = (group: Parameters<typeof matchLimits>[1], p: Parameters<typeof matchLimits>[2]) =>
      matchLimits(table, group, p).map((m) => `${m.rule.id}@${m.pool}`);
    expect(pools("prefect", { keyId: "k1", subject: "alice", tenant: "acme" })).toEqual(["rl_each_key@key:k1", "rl_acme@tenant:acme"]);
    expect(pools("conductor", { keyId: "k1", subject: "alice", tenant: "acme" })).toEqual([
      "rl_acme@tenant:acme",
      "rl_alice@subject:acme:alice",
    ]); // a subject pool is per tenant
    expect(pools("prefect", { subject: "bob" })).toEqual([]); // a JWT without key id or tenant
    expect(compileTable([]).size).toBe(0);
  });
});

describe("usage roll-up", () => {
  it("adds minute cells into hour and day rows, each row once", () => {
    const base = { tenant: "t", subject: "s", keyId: "k", routeGroup: "prefect", requests: 1, cost: 2, refused: 0 };
    const rows = rollUp([
      { ...base, minute: Date.UTC(2026, 0, 1, 10, 1) },
      { ...base, minute: Date.UTC(2026, 0, 1, 10, 2), refused: 1 },
      { ...base, minute: Date.UTC(2026, 0, 1, 11, 0) },
    ]);
    const by = (r: string) =>
      rows.filter((x) => x.resolution === r).map((x) => [x.bucketStart.toISOString(), x.requests, x.cost, x.refused]);
    expect(by("minute")).toHaveLength(3);
    expect(by("hour")).toEqual([
      ["2026-01-01T10:00:00.000Z", 2, 4, 1],
      ["2026-01-01T11:00:00.000Z", 1, 2, 0],
    ]);
    expect(by("day")).toEqual([["2026-01-01T00:00:00.000Z", 3, 6, 1]]);
  });
});
