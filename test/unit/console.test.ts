import { describe, expect, it } from "vitest";
import {
  count,
  tickLabel,
  describeKey,
  describeScope,
  explainInWords,
  fieldMatches,
  jsonProblem,
  labelledBuckets,
  lastUseWords,
  niceTicks,
  stateOf,
  stepWords,
  timeLabel,
  type Explanation,
  type KeyView,
} from "../../console/src/model";

const key = (over: Partial<KeyView> = {}): KeyView => ({
  id: "abcdefabcdef",
  prefix: "fgk_abcdefabcdef",
  tenant: "acme",
  subject: "s",
  email: null,
  name: null,
  roles: [],
  groups: [],
  scopes: [],
  admin: false,
  servesTenants: null,
  expiresAt: null,
  revokedAt: null,
  replacedBy: null,
  createdAt: "2026-01-01T00:00:00Z",
  ...over,
});

describe("the console's words for what a key can do", () => {
  it("reads each scope aloud", () => {
    expect(describeScope("query/*")).toBe("run any Prefect query");
    expect(describeScope("mutation/create_flow_run")).toBe("run the Prefect mutation create_flow_run");
    expect(describeScope("mutation/create_*")).toBe("run any Prefect mutation whose name matches create_*");
    expect(describeScope("worker/say_hello")).toBe("work Conductor tasks of type say_hello");
    expect(describeScope("conductor")).toMatch(/^use Conductor as its tenant/);
    expect(describeScope("odd/thing")).toBe('hold the scope "odd/thing"');
  });

  it("says what a worker polls for, and that a revoked or expired key can do nothing", () => {
    expect(describeKey(key({ scopes: ["worker"], servesTenants: ["*"] }))).toContain("poll for every tenant");
    expect(describeKey(key({ scopes: ["worker"] }))).toContain("poll for acme");
    expect(describeKey(key({ scopes: ["query/*"], revokedAt: "2026-01-02T00:00:00Z" }))).toEqual(["nothing: it is revoked"]);
    expect(describeKey(key({ scopes: ["query/*"], expiresAt: "2020-01-01T00:00:00Z" }))).toEqual(["nothing: it has expired"]);
    expect(describeKey(key())).toEqual(["nothing yet: it holds no scope, role or group"]);
    expect(stateOf(key({ expiresAt: "2020-01-01T00:00:00Z" }))).toBe("expired");
  });
});

describe("the charts' axes", () => {
  it("counts: ticks from 0 at a 1, 2 or 5 step, the last at or above the largest bar", () => {
    expect(niceTicks(8)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(9)).toEqual([0, 5, 10]);
    expect(niceTicks(1)).toEqual([0, 1]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(1234)).toEqual([0, 500, 1000, 1500]);
    for (const max of [1, 7, 19, 99, 101, 5_000, 123_457]) {
      const t = niceTicks(max);
      expect(t[0]).toBe(0);
      expect(t.at(-1)).toBeGreaterThanOrEqual(max);
      expect(t.length).toBeLessThanOrEqual(7);
      expect(t.every((v) => Number.isInteger(v))).toBe(true);
    }
    expect(tickLabel(1234, "en")).toBe("1,234");
    expect(tickLabel(12_300, "en")).toBe("12.3K");
    expect(count(12_300, "en")).toBe("12,300");
  });

  it("times: at most 8 labels, the date under the first and wherever the day changes, in the zone asked", () => {
    expect(labelledBuckets(48)).toEqual([0, 6, 12, 18, 24, 30, 36, 42]);
    expect(labelledBuckets(5)).toEqual([0, 1, 2, 3, 4]);
    const t = Date.UTC(2026, 2, 1, 22, 0);
    expect(timeLabel(t, null, 3600, "UTC", "en-GB")).toEqual({ time: "22:00", date: "1 Mar" });
    expect(timeLabel(t + 3_600_000, t, 3600, "UTC", "en-GB")).toEqual({ time: "23:00", date: "" });
    expect(timeLabel(t + 2 * 3_600_000, t, 3600, "UTC", "en-GB")).toEqual({ time: "00:00", date: "2 Mar" });
    // The same instant in Tokyo is already the next day.
    expect(timeLabel(t, null, 3600, "Asia/Tokyo", "en-GB")).toEqual({ time: "07:00", date: "2 Mar" });
    expect(timeLabel(t, null, 86_400, "UTC", "en-GB")).toEqual({ time: "1 Mar", date: "" });
    expect(stepWords(1800)).toBe("30 minutes");
    expect(stepWords(3600)).toBe("1 hour");
    expect(stepWords(86_400)).toBe("1 day");
  });
});

describe("the console's words", () => {
  it("a field problem belongs to the form's field it names, or one inside it", () => {
    expect(fieldMatches("rate.limit", "rate.limit")).toBe(true);
    expect(fieldMatches("rate.limit", "rate")).toBe(true);
    expect(fieldMatches("scopes.2", "scopes")).toBe(true);
    expect(fieldMatches("ratelimit", "rate")).toBe(false);
  });

  it("a JSON body's problem, with its line and column", () => {
    expect(jsonProblem('{"a": 1}')).toBeNull();
    expect(jsonProblem('{\n  "a": 1,\n}')).toMatch(/at line 3, column 1$/);
    expect(jsonProblem("")).toBe("it is empty");
  });

  const base: Explanation = {
    decision: "refused",
    status: 403,
    principal: { kind: "key", subject: "ci-bot", tenant: "acme", scopes: ["query/*"], roles: [], groups: [], keyId: "abcdefabcdef" },
    reason: { code: "FORBIDDEN", message: "not allowed: mutation/delete_flow", refusedFields: ["mutation/delete_flow"] },
    upstream: null,
    audits: [{ action: "prefect.mutation", decision: "refused" }],
    limits: [],
  };

  it("an explanation: refused because, the field, who asked", () => {
    const w = explainInWords(base);
    expect(w.verdict).toBe("Refused with 403 because not allowed: mutation/delete_flow.");
    expect(w.why).toContain("The field refused is mutation/delete_flow.");
    expect(w.why[0]).toBe("Asked as ci-bot (key fgk_abcdefabcdef, tenant acme), holding the scopes query/*.");
  });

  it("an explanation: allowed, where it would go and what it counts against", () => {
    const w = explainInWords({
      ...base,
      decision: "allowed",
      status: null,
      reason: { code: "FORWARDED", message: "every check passed" },
      upstream: { method: "POST", url: "http://prefect/graphql", headerNames: [], body: null, bodyTruncated: false },
      limits: [
        {
          routeGroup: "prefect",
          cost: 1,
          limits: [{ id: "rl_aaaaaaaaaaaa", mode: "enforce", rate: { limit: 10, windowS: 60 }, quota: null }],
        },
      ],
    });
    expect(w.verdict).toBe("Allowed: every check the gateway makes passed; it would send POST http://prefect/graphql.");
    expect(w.why).toContain("It would cost 1 on the prefect limits: rl_aaaaaaaaaaaa (enforce, 10 per 60 s).");
  });

  it("a key's last use, to its cell's precision", () => {
    expect(lastUseWords(null)).toMatch(/^No use recorded/);
    expect(lastUseWords({ at: "2026-03-01T14:05:00Z", resolution: "minute" }, "UTC", "en-GB")).toBe(
      "Last used on 1 Mar 2026 at 14:05 (to the minute).",
    );
    expect(lastUseWords({ at: "2026-03-01T14:00:00Z", resolution: "hour" }, "UTC", "en-GB")).toBe(
      "Last used on 1 Mar 2026 between 14:00 and 15:00.",
    );
  });
});
