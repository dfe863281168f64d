/**
 * The audit trail of decisions, through the real Worker and the run's database (issue 27 item 1): refusals on every
 * engine and the admin API (401, 403, 429, policy 400s) recorded with their own time, request id, principal,
 * engine, route and reason; allowed writes that reached an engine; identical refusals kept as one counted entry per
 * window (a flood adds a bounded number of rows, and never the presented key); the filters and the NDJSON export.
 *
 * Entries are found by what is the test's own: a fresh subject, a request id, or a client address of its own
 * (`CF-Connecting-IP`, which Cloudflare sets): the database is shared with the other test files.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, baseEnv, call, createTestKey, envWith, stubUrl, uniqueTag } from "../helpers";
import type { Env } from "../../src/config";
import { withDatabase } from "../../src/db/client";
import { parseConfig } from "../../src/readConfig";
import { insertAuditEvents, pruneAuditEvents } from "../../src/store/audit";
import worker from "../../src/index";

interface Entry {
  id: number;
  at: string;
  lastAt: string;
  count: number;
  action: string;
  decision: string;
  actorSubject: string;
  actorKeyId: string | null;
  tenant: string | null;
  target: string | null;
  requestId: string | null;
  engine: string | null;
  route: string | null;
  details: Record<string, unknown>;
}

async function audit(query: Record<string, string>): Promise<Entry[]> {
  const res = await asAdmin(`/admin/audit?${new URLSearchParams({ limit: "500", ...query })}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { events: Entry[] }).events;
}

/** The one entry a request left, found by its request id. */
async function entryOf(requestId: string, query: Record<string, string> = {}): Promise<Entry> {
  const found = (await audit(query)).filter((e) => e.requestId === requestId);
  expect(found, `no audit entry for ${requestId}`).toHaveLength(1);
  return found[0]!;
}

/**
 * A request through the Worker, and when its answer came: before the work it left behind (the audit batch is
 * written AUDIT_FLUSH_MS later and after a database round trip), which is then waited for, so the entry is stored
 * when this returns.
 */
async function timedCall(path: string, headers: Record<string, string>): Promise<{ status: number; answeredAt: number }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://gateway.test${path}`, { headers }), baseEnv, ctx);
  const answeredAt = Date.now();
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return { status: res.status, answeredAt };
}

const rid = (label: string) => uniqueTag(`${label}-`);
/** A client address of the test's own (documentation range 198.51.100.0/24 plus a random part). */
const clientAddress = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}:${crypto.randomUUID().slice(0, 4)}`;

describe("every refusal is audited, with its own time", () => {
  it("a Conductor 403 names the engine, the route pattern, the principal and the reason", async () => {
    const subject = uniqueTag("aud-cond");
    const { id: keyId, key } = await createTestKey({ subject, tenant: "acme", scopes: [] });
    const requestId = rid("cond");
    const before = Date.now();
    const res = await timedCall("/conductor/api/metadata/workflow/wfA", { "x-api-key": key, "x-request-id": requestId });
    expect(res.status).toBe(403);
    const e = await entryOf(requestId, { engine: "conductor", decision: "refused", principal: subject });
    expect(e).toMatchObject({
      action: "request.refused",
      decision: "refused",
      actorSubject: subject,
      actorKeyId: keyId,
      tenant: "acme",
      engine: "conductor",
      route: "GET /conductor/api/metadata/workflow/:name",
      count: 1,
    });
    expect(e.details).toMatchObject({ code: "FORBIDDEN", status: 403 });
    expect(typeof e.details.message).toBe("string");
    // Its own time: within the request, not when the batch was written (later, after the answer).
    expect(Date.parse(e.at)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(e.at)).toBeLessThanOrEqual(res.answeredAt);
    expect(e.lastAt).toBe(e.at);

    // A path two patterns match (a fixed word beside a parameter) is named by the route that serves it.
    const bulkId = rid("bulk");
    const bulk = await call("/conductor/api/workflow/bulk/pause", {
      method: "PUT",
      json: ["wf-1"],
      headers: { "x-api-key": key, "x-request-id": bulkId },
    });
    expect(bulk.status).toBe(403);
    expect((await entryOf(bulkId, { principal: subject })).route).toBe("PUT /conductor/api/workflow/bulk/pause");
  });

  it("an Argo 403 and its target", async () => {
    const subject = uniqueTag("aud-argo");
    const { key } = await createTestKey({ subject, tenant: "acme", scopes: [] });
    const env = envWith({ ARGO_URL: stubUrl(`/argo/${uniqueTag("a")}`) });
    const requestId = rid("argo");
    const res = await call("/argo/api/v1/workflows/somewhere", { env, headers: { "x-api-key": key, "x-request-id": requestId } });
    expect(res.status).toBe(403);
    const e = await entryOf(requestId, { engine: "argo", principal: subject });
    expect(e).toMatchObject({ decision: "refused", engine: "argo", actorSubject: subject, count: 1 });
    expect(e.route).toMatch(/^GET \/argo\//);
    expect(e.details).toMatchObject({ code: "FORBIDDEN", status: 403 });
  });

  describe("FlowAPI", () => {
    let env: Env;
    let signer: CryptoKey;
    beforeAll(async () => {
      const pair = await generateKeyPair("RS256", { extractable: true });
      signer = pair.privateKey;
      env = envWith({
        FLOWAPI_URL: stubUrl(`/flowapi/${uniqueTag("audit")}`),
        FLOWAPI_IDENTIFIER: "flowapi-audit",
        FLOWAPI_PUBLIC_KEY: btoa(await exportSPKI(pair.publicKey)),
      });
    });
    const token = (sub: string, claims: string[]) =>
      new SignJWT({ aud: "flowapi-audit", sub, jti: crypto.randomUUID(), user_claims: { run: claims } })
        .setProtectedHeader({ alg: "RS256" })
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(signer);
    const query = {
      query_kind: "spatial_aggregate",
      locations: { query_kind: "daily_location", date: "2016-01-01", method: "last", aggregation_unit: "admin3" },
    };

    it("a refused run (403) and an allowed run (a write that reached FlowAPI) are both audited", async () => {
      const sub = uniqueTag("analyst");
      const refusedId = rid("fa-no");
      const refused = await call("/flowapi/api/0/run", {
        env,
        method: "POST",
        json: query,
        headers: {
          authorization: `Bearer ${await token(sub, ["run", "admin3:spatial_aggregate:spatial_aggregate"])}`,
          "x-request-id": refusedId,
        },
      });
      expect(refused.status).toBe(403);
      const r = await entryOf(refusedId, { engine: "flowapi", principal: sub });
      expect(r).toMatchObject({ decision: "refused", action: "request.refused", engine: "flowapi", route: "POST /flowapi/api/0/run" });
      expect(r.details).toMatchObject({ code: "FORBIDDEN" });

      const allowedId = rid("fa-ok");
      const allowed = await call("/flowapi/api/0/run", {
        env,
        method: "POST",
        json: query,
        headers: {
          authorization: `Bearer ${await token(sub, ["run", "admin3:spatial_aggregate:spatial_aggregate", "admin3:spatial_aggregate:daily_location"])}`,
          "x-request-id": allowedId,
        },
      });
      expect(allowed.status).toBeLessThan(400);
      const a = await entryOf(allowedId, { engine: "flowapi", decision: "allowed" });
      expect(a).toMatchObject({ action: "request.allowed", decision: "allowed", actorSubject: sub, route: "POST /flowapi/api/0/run" });
      expect(Date.parse(a.at)).toBeGreaterThan(Date.parse(r.at));
    });

    it("reads are audited only when AUDIT_READS is on", async () => {
      const sub = uniqueTag("reader");
      const t = await token(sub, ["get_result", "nonspatial:available_dates:available_dates"]);
      const quiet = rid("fa-read");
      expect(
        (await call("/flowapi/api/0/available_dates", { env, headers: { authorization: `Bearer ${t}`, "x-request-id": quiet } })).status,
      ).toBe(200);
      expect((await audit({ principal: sub })).filter((e) => e.requestId === quiet)).toHaveLength(0);

      const readsOn = envWith({ ...env, AUDIT_READS: "true" });
      const loud = rid("fa-read");
      expect(
        (await call("/flowapi/api/0/available_dates", { env: readsOn, headers: { authorization: `Bearer ${t}`, "x-request-id": loud } }))
          .status,
      ).toBe(200);
      expect(await entryOf(loud, { principal: sub })).toMatchObject({ decision: "allowed", route: "GET /flowapi/api/0/available_dates" });
    });
  });

  it("a 401 for a bad key: anonymous, the reason, never the key's text; two refusals ms apart have their own times", async () => {
    const badKey = `fgk_${uniqueTag("nokey")}_${crypto.randomUUID()}`;
    const first = rid("bad1");
    const second = rid("bad2");
    // Two kinds of refusal (admin and Argo), so they are two entries, each with its own time.
    const a = await timedCall("/admin/keys", { "x-api-key": badKey, "x-request-id": first, "cf-connecting-ip": clientAddress() });
    await new Promise((r) => setTimeout(r, 60));
    const b = await timedCall("/argo/api/v1/workflows/x", {
      "x-api-key": badKey,
      "x-request-id": second,
      "cf-connecting-ip": clientAddress(),
    });
    expect([a.status, b.status]).toEqual([401, 401]);
    const e1 = await entryOf(first, { engine: "admin", principal: "anonymous" });
    const e2 = await entryOf(second, { engine: "argo", principal: "anonymous" });
    expect(e1).toMatchObject({
      decision: "refused",
      actorSubject: "anonymous",
      actorKeyId: null,
      engine: "admin",
      route: "GET /admin/keys",
    });
    expect(e1.details).toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
    expect(Date.parse(e2.at) - Date.parse(e1.at)).toBeGreaterThanOrEqual(50);
    expect(Date.parse(e1.at)).toBeLessThanOrEqual(a.answeredAt);
    expect(Date.parse(e2.at)).toBeLessThanOrEqual(b.answeredAt);
    const stored = JSON.stringify([e1, e2]);
    expect(stored).not.toContain(badKey.slice(4, 20));
    expect(stored).not.toContain(badKey.slice(-20));
  });

  it("a 429 appears with its engine, principal and own time", async () => {
    const subject = uniqueTag("aud-429");
    const { id: keyId, key } = await createTestKey({ subject, scopes: ["query/*"] });
    const limit = await asAdmin("/admin/limits", {
      method: "POST",
      json: { kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 1, windowS: 600 } },
    });
    expect(limit.status).toBe(201);
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${uniqueTag("aud")}/graphql`) });
    const gql = (requestId: string) =>
      call("/prefect/graphql", {
        env,
        method: "POST",
        headers: { "x-api-key": key, "x-request-id": requestId },
        json: { query: "{ flow { id } }" },
      });
    expect((await gql(rid("ok"))).status).toBe(200);
    const refusedId = rid("429");
    const before = Date.now();
    const ctx = createExecutionContext();
    const refused = await worker.fetch(
      new Request("http://gateway.test/prefect/graphql", {
        method: "POST",
        headers: { "x-api-key": key, "x-request-id": refusedId, "content-type": "application/json" },
        body: JSON.stringify({ query: "{ flow { id } }" }),
      }),
      env,
      ctx,
    );
    const answeredAt = Date.now();
    expect(refused.status).toBe(429);
    await refused.arrayBuffer();
    await waitOnExecutionContext(ctx);
    const e = await entryOf(refusedId, { engine: "prefect", decision: "refused", principal: subject });
    expect(e).toMatchObject({
      decision: "refused",
      engine: "prefect",
      actorSubject: subject,
      actorKeyId: keyId,
      route: "POST /prefect/graphql",
    });
    expect(Date.parse(e.at)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(e.at)).toBeLessThanOrEqual(answeredAt);
  });

  it("a refusal after a shadow limit's (allowed) entry is still recorded", async () => {
    const subject = uniqueTag("aud-shadow");
    const { id: keyId, key } = await createTestKey({ subject, scopes: ["query/*"] });
    const limit = await asAdmin("/admin/limits", {
      method: "POST",
      json: { kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 1, windowS: 600 }, mode: "shadow" },
    });
    expect(limit.status).toBe(201);
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${uniqueTag("aud")}/graphql`), GRAPHQL_MAX_DEPTH: "2" });
    const gql = (requestId: string, query: string) =>
      call("/prefect/graphql", { env, method: "POST", headers: { "x-api-key": key, "x-request-id": requestId }, json: { query } });
    expect((await gql(rid("ok"), "{ flow { id } }")).status).toBe(200);
    const deepId = rid("deep");
    const deep = await gql(deepId, "{ flow { flow_runs { task_runs { id } } } }");
    expect(deep.status).toBe(400);
    const entries = (await audit({ principal: subject })).filter((e) => e.requestId === deepId);
    expect(entries.map((e) => `${e.action} ${e.decision}`).sort()).toEqual(["ratelimit.shadow allowed", "request.refused refused"]);
  });

  it("an allowed request over a shadow limit still has its own allowed entry beside the limit's", async () => {
    const subject = uniqueTag("aud-shadow-ok");
    const { id: keyId, key } = await createTestKey({ subject, scopes: ["query/*"] });
    const limit = await asAdmin("/admin/limits", {
      method: "POST",
      json: { kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 1, windowS: 600 }, mode: "shadow" },
    });
    expect(limit.status).toBe(201);
    const env = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${uniqueTag("aud")}/graphql`), AUDIT_READS: "true" });
    const gql = (requestId: string) =>
      call("/prefect/graphql", {
        env,
        method: "POST",
        headers: { "x-api-key": key, "x-request-id": requestId },
        json: { query: "{ flow { id } }" },
      });
    expect((await gql(rid("ok"))).status).toBe(200);
    const overId = rid("over");
    expect((await gql(overId)).status).toBe(200);
    const entries = (await audit({ principal: subject })).filter((e) => e.requestId === overId);
    expect(entries.map((e) => `${e.action} ${e.decision}`).sort()).toEqual(["ratelimit.shadow allowed", "request.allowed allowed"]);
  });

  it("a policy 400 on the admin API names the refused fields", async () => {
    const requestId = rid("a400");
    const res = await asAdmin("/admin/audit?decision=MAYBE", { headers: { "x-request-id": requestId } });
    expect(res.status).toBe(400);
    const e = await entryOf(requestId, { engine: "admin", decision: "refused", principal: "test-admin" });
    expect(e).toMatchObject({ engine: "admin", route: "GET /admin/audit", actorSubject: "test-admin" });
    expect(e.details).toMatchObject({ code: "BAD_REQUEST", status: 400 });
    expect(Array.isArray(e.details.fields)).toBe(true);

    // A refusal quoting a field name with a NUL (which PostgreSQL text refuses) is stored, with U+FFFD in its place.
    const nulId = rid("a400nul");
    const nul = await asAdmin("/admin/tenants", {
      method: "POST",
      json: { name: "ok", "ev\u0000il": 1 },
      headers: { "x-request-id": nulId },
    });
    expect(nul.status).toBe(400);
    const n = await entryOf(nulId, { engine: "admin", principal: "test-admin" });
    expect(n.details.message).toContain("ev\uFFFDil");
  });
});

describe("a flood of bad keys adds a bounded number of rows", () => {
  it("2,000 requests with distinct bad keys from one client: at most a few rows, counting every request", async () => {
    const client = clientAddress();
    const tag = uniqueTag("flood");
    const total = 2_000;
    const started = Date.now();
    for (let sent = 0; sent < total; sent += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          call("/argo/api/v1/workflows/x", {
            headers: {
              "x-api-key": `fgk_${tag}${sent + i}_secret${crypto.randomUUID()}`,
              "x-request-id": `${tag}-${sent + i}`,
              "cf-connecting-ip": client,
            },
          }).then((r) => expect(r.status).toBe(401)),
        ),
      );
    }
    const since = new Date(started - 1000).toISOString();
    const rows = (await audit({ engine: "argo", principal: "anonymous", since })).filter((e) => e.requestId?.startsWith(`${tag}-`));
    // One window, or two when the run crosses a minute's edge.
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(2);
    expect(rows.reduce((n, e) => n + e.count, 0)).toBe(total);
    for (const e of rows) {
      expect(e.count).toBeGreaterThan(1);
      expect(Date.parse(e.lastAt)).toBeGreaterThan(Date.parse(e.at));
      expect(JSON.stringify(e)).not.toContain("secret");
    }
  }, 120_000);
});

describe("GET /admin/audit", () => {
  it("filters by engine, decision, principal, tenant and time", async () => {
    const subject = uniqueTag("aud-filter");
    const { key } = await createTestKey({ subject, tenant: "acme", scopes: [] });
    const t0 = new Date().toISOString();
    const argoId = rid("f-argo");
    const condId = rid("f-cond");
    await call("/argo/api/v1/workflows/x", { headers: { "x-api-key": key, "x-request-id": argoId } });
    await new Promise((r) => setTimeout(r, 30));
    const t1 = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 30));
    await call("/conductor/api/metadata/workflow", { headers: { "x-api-key": key, "x-request-id": condId } });

    const mine = await audit({ principal: subject });
    expect(mine.map((e) => e.requestId).sort()).toEqual([argoId, condId].sort());
    expect((await audit({ principal: subject, engine: "argo" })).map((e) => e.requestId)).toEqual([argoId]);
    expect((await audit({ principal: subject, engine: "conductor" })).map((e) => e.requestId)).toEqual([condId]);
    expect(await audit({ principal: subject, decision: "allowed" })).toEqual([]);
    expect((await audit({ principal: subject, tenant: "acme", decision: "refused" })).length).toBe(2);
    expect(await audit({ principal: subject, tenant: "globex" })).toEqual([]);
    expect((await audit({ principal: subject, since: t1 })).map((e) => e.requestId)).toEqual([condId]);
    expect((await audit({ principal: subject, until: t1 })).map((e) => e.requestId)).toEqual([argoId]);
    expect((await audit({ principal: subject, since: t0, until: t1 })).map((e) => e.requestId)).toEqual([argoId]);
    expect((await asAdmin("/admin/audit?engine=ARGO%00")).status).toBe(400);
    expect((await asAdmin(`/admin/audit?subject=a&principal=b`)).status).toBe(400);
  });

  it("exports NDJSON, streamed, every matching event one JSON object a line", async () => {
    const subject = uniqueTag("aud-export");
    const { key } = await createTestKey({ subject, tenant: "acme", scopes: [] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const requestId = rid(`x${i}`);
      ids.push(requestId);
      // Three routes, so three entries (identical refusals would be one).
      const path = ["/argo/api/v1/workflows/x", "/conductor/api/metadata/workflow", "/admin/keys"][i]!;
      await call(path, { headers: { "x-api-key": key, "x-request-id": requestId } });
    }
    const res = await asAdmin(`/admin/audit?format=ndjson&principal=${subject}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Entry);
    expect(lines.map((e) => e.requestId).sort()).toEqual([...ids].sort());
    // Newest first, as the listing.
    expect(lines.map((e) => e.at)).toEqual([...lines.map((e) => e.at)].sort().reverse());
    expect(lines.every((e) => e.decision === "refused" && e.actorSubject === subject && !("dedupeKey" in e))).toBe(true);

    const none = await asAdmin(`/admin/audit?format=ndjson&principal=${uniqueTag("nobody")}`);
    expect(none.status).toBe(200);
    expect(await none.text()).toBe("");
  });

  it("the export is in the OpenAPI document", async () => {
    const doc = (await (await asAdmin("/admin/openapi.json")).json()) as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    const content = doc.paths["/admin/audit"]?.get?.responses["200"]?.content ?? {};
    expect(Object.keys(content).sort()).toEqual(["application/json", "application/x-ndjson"]);
  });
});

describe("storage of runs", () => {
  const db = <T>(work: (d: Parameters<Parameters<typeof withDatabase>[1]>[0]) => Promise<T>) => {
    const parsed = parseConfig(baseEnv);
    if (!parsed.ok) throw parsed.error;
    return withDatabase(parsed.config, work);
  };
  const run = (subject: string, at: string, lastAt: string, count: number, dedupeKey: string | null) => ({
    action: "request.refused",
    decision: "refused" as const,
    actorSubject: subject,
    engine: "argo",
    route: "GET /argo/api/v1/*",
    at,
    lastAt,
    count,
    dedupeKey,
  });

  it("adds a batch's run to the stored run of the same key (another batch or isolate): one row, counts summed, times widened", async () => {
    const subject = uniqueTag("aud-merge");
    const key = `${uniqueTag("k")}:0`;
    await db((d) => insertAuditEvents(d, [run(subject, "2026-12-06T10:00:10.000Z", "2026-12-06T10:00:20.000Z", 3, key)]));
    await db((d) => insertAuditEvents(d, [run(subject, "2026-12-06T10:00:05.000Z", "2026-12-06T10:00:40.000Z", 4, key)]));
    const rows = await audit({ principal: subject });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ count: 7, at: "2026-12-06T10:00:05.000Z", lastAt: "2026-12-06T10:00:40.000Z" });
  });

  it("the cron's pruning keeps a run whose last event is recent, however old its first", async () => {
    const subject = uniqueTag("aud-prune");
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const now = new Date().toISOString();
    await db((d) => insertAuditEvents(d, [run(subject, old, old, 1, null), run(subject, old, now, 5, `${uniqueTag("k")}:0`)]));
    await db((d) => pruneAuditEvents(d, new Date(Date.now() - 90 * 86_400_000)));
    const rows = await audit({ principal: subject });
    expect(rows.map((r) => r.count)).toEqual([5]);
  });
});
