import { describe, expect, it } from "vitest";
import { buckets, describeKey, describeScope, stateOf, type AuditEvent, type KeyView } from "../../console/src/model";

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

describe("the audit chart's buckets", () => {
  const ev = (at: string, decision: AuditEvent["decision"]): AuditEvent => ({
    at,
    decision,
    action: "a",
    actorSubject: "s",
    actorKeyId: null,
    tenant: null,
    target: null,
    requestId: null,
  });
  it("counts refused and allowed (allowed, done) per time slice, every event once", () => {
    const events = [
      ev("2026-01-01T00:00:00Z", "allowed"),
      ev("2026-01-01T00:00:01Z", "refused"),
      ev("2026-01-01T01:00:00Z", "done"),
      ev("2026-01-01T02:00:00Z", "refused"),
    ];
    const b = buckets(events, 4);
    expect(b).toHaveLength(4);
    expect(b.reduce((n, x) => n + x.allowed + x.refused, 0)).toBe(4);
    expect(b[0]).toMatchObject({ allowed: 1, refused: 1 });
    expect(b[3]).toMatchObject({ refused: 1 });
    expect(buckets([])).toEqual([]);
  });
});
