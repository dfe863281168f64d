/**
 * Rate limits through the real Worker, counted on real Durable Objects (miniflare, SQLite storage): concurrency,
 * GraphQL cost (aliases, batches), subject pools across keys, quota reset, shadow mode, an unreachable counter,
 * the 429's headers and body, the audit trail and usage.
 *
 * Every limit here names a target of its own (a fresh key, subject or tenant): limits are stored in the run's
 * shared database, and one on `*` would reach other test files.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, recorded, stubUrl, uniqueTag } from "../helpers";
import type { RateLimitCounter } from "../../src/ratelimit/counter";
import { forgetLeasesInIsolate } from "../../src/ratelimit/enforce";
import { conductorStack, seedDynamicForkExecution, seedTwoTenants } from "../engines/conductor/harness";

interface LimitView {
  id: string;
  refused: number;
  wouldHaveRefused: number;
  mode: string;
}

async function setLimit(body: Record<string, unknown>): Promise<LimitView> {
  const res = await asAdmin("/admin/limits", { method: "POST", json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as LimitView;
}

function prefectEnv(extra: Record<string, unknown> = {}) {
  const tag = uniqueTag("rl");
  return { tag, env: envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), ...extra }) };
}

const gql = (key: string, env: ReturnType<typeof envWith>, json: unknown) =>
  call("/prefect/graphql", { method: "POST", env, headers: { "x-api-key": key }, json });

const FLOWS = { query: "query Flows { flow(limit: 1) { id } }" };

async function usageOf(filter: Record<string, string>) {
  const res = await asAdmin(`/admin/usage?resolution=minute&${new URLSearchParams(filter)}`);
  expect(res.status).toBe(200);
  const rows = ((await res.json()) as { usage: { cost: number; requests: number; refused: number }[] }).usage;
  return rows.reduce((a, r) => ({ cost: a.cost + r.cost, requests: a.requests + r.requests, refused: a.refused + r.refused }), {
    cost: 0,
    requests: 0,
    refused: 0,
  });
}

async function auditRows(action: string, target: string) {
  const res = await asAdmin(`/admin/audit?action=${action}&limit=1000`);
  const events = ((await res.json()) as { events: { target: string; decision: string }[] }).events;
  return events.filter((e) => e.target === target);
}

describe("rate limits on Durable Objects", () => {
  it("with no limit set, answers as before: no RateLimit headers", async () => {
    const { key } = await createTestKey({ subject: uniqueTag("free"), scopes: ["query/*"] });
    const { env: e } = prefectEnv();
    const res = await gql(key, e, FLOWS);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBeNull();
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  it("holds across 60 concurrent requests: exactly the limit passes (no more, and no token lost between leases), the rest get a GraphQL 429 with Retry-After and RateLimit headers, audited once", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("burst"), scopes: ["query/*"] });
    const limit = await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 40, windowS: 600 } });
    const { tag, env: e } = prefectEnv();
    const answers = await Promise.all(Array.from({ length: 60 }, () => gql(key, e, FLOWS)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(40);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect((await recorded(tag)).length).toBe(40);

    const refused = answers.find((r) => r.status === 429)!;
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 600).toBe(true);
    expect(refused.headers.get("ratelimit-policy")).toBe(`"${limit.id}";q=40;w=600`);
    expect(refused.headers.get("ratelimit")).toMatch(new RegExp(`^"${limit.id}";r=0;t=\\d+$`));
    const body = (await refused.json()) as {
      errors: { message: string; extensions: { code: string; retryAfterS: number; limit: string } }[];
    };
    expect(body.errors[0]!.extensions).toMatchObject({ code: "RATE_LIMITED", limit: limit.id, retryAfterS: retryAfter });

    const ok = answers.find((r) => r.status === 200)!;
    expect(ok.headers.get("ratelimit-policy")).toBe(`"${limit.id}";q=40;w=600`);
    expect(ok.headers.get("ratelimit")).toMatch(new RegExp(`^"${limit.id}";r=\\d+;t=\\d+$`));
    // t: seconds until the bucket is full again, after what was taken (never 0 once something was).
    expect(Number(/;t=(\d+)/.exec(ok.headers.get("ratelimit")!)![1])).toBeGreaterThan(0);

    // 20 refusals, one audit row: once per window, not per request.
    expect(await auditRows("ratelimit.refused", limit.id)).toHaveLength(1);
    const usage = await usageOf({ keyId });
    expect(usage).toEqual({ cost: 40, requests: 60, refused: 20 });
    const view = (await (await asAdmin(`/admin/limits/${limit.id}`)).json()) as LimitView;
    expect(view.refused).toBe(20);
  });

  it("costs each executed root field at its weight: ten aliased create_flow_run cost ten executions, batches their sum", async () => {
    const subject = uniqueTag("alias");
    const { id: keyId, key } = await createTestKey({ subject, scopes: ["query/*", "mutation/create_flow_run"] });
    const { env: e } = prefectEnv({ PREFECT_FIELD_COSTS: "mutation/create_flow_run=1" });
    const ten = Array.from({ length: 10 }, (_, i) => `r${i}: create_flow_run(input: {flow_id: "f"}) { id }`).join(" ");
    expect((await gql(key, e, { query: `mutation Ten { ${ten} }` })).status).toBe(200);
    expect(await usageOf({ keyId })).toMatchObject({ cost: 10, requests: 1 });

    // A batch: [2 aliased flows + the same key twice (merged: runs once)] and [3 aliased mutations through a fragment].
    const batch = [
      { query: "{ a: flow { id } b: flow { id } flow { id } flow { id } }" },
      {
        query:
          'mutation M { ...F x: create_flow_run(input: {flow_id: "g"}) { id } } fragment F on mutation_root { y: create_flow_run(input: {flow_id: "h"}) { id } z: create_flow_run(input: {flow_id: "i"}) { id } }',
      },
    ];
    expect((await gql(key, e, batch)).status).toBe(200);
    expect(await usageOf({ keyId })).toMatchObject({ cost: 10 + 3 + 3, requests: 2 });

    // With the default weights a mutation weighs more than a query, and a limit refuses what the document executes.
    const { id: otherId, key: other } = await createTestKey({
      subject: uniqueTag("alias2"),
      scopes: ["query/*", "mutation/create_flow_run"],
    });
    const limit = await setLimit({ kind: "key", target: otherId, routeGroup: "prefect", rate: { limit: 25, windowS: 3600 } });
    const { env: defaults } = prefectEnv();
    const three = (p: string) =>
      `mutation { ${[0, 1, 2].map((i) => `${p}${i}: create_flow_run(input: {flow_id: "f"}) { id }`).join(" ")} }`;
    expect((await gql(other, defaults, { query: "{ flow { id } }" })).status).toBe(200); // 1
    expect((await gql(other, defaults, { query: three("a") })).status).toBe(413); // 30 > the whole 25: never passes
    const res = await gql(other, defaults, {
      query: 'mutation { one: create_flow_run(input: {flow_id: "f"}) { id } two: create_flow_run(input: {flow_id: "f"}) { id } }',
    });
    expect(res.status).toBe(200); // 20 <= 24
    expect(await usageOf({ keyId: otherId })).toMatchObject({ cost: 21, requests: 3, refused: 1 });
    expect(limit.id).toMatch(/^rl_/);
  });

  it("pools every key of a subject: minting keys does not escape a subject's limit", async () => {
    const subject = uniqueTag("pool");
    const keys = await Promise.all([1, 2, 3].map(() => createTestKey({ subject, scopes: ["query/*"] })));
    await setLimit({ kind: "subject", target: subject, routeGroup: "*", rate: { limit: 6, windowS: 3600 } });
    const { env: e } = prefectEnv();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await gql(keys[i % 3]!.key, e, FLOWS)).status);
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses.slice(6)).toEqual([429, 429, 429, 429, 429, 429]);
    // Another subject is untouched.
    const { key: stranger } = await createTestKey({ subject: uniqueTag("stranger"), scopes: ["query/*"] });
    expect((await gql(stranger, e, FLOWS)).status).toBe(200);
  });

  it("keeps one tenant's subject apart from the same subject text in another tenant", async () => {
    const subject = uniqueTag("ci");
    const acme = await createTestKey({ tenant: "acme", subject, scopes: ["query/*"] });
    const globex = await createTestKey({ tenant: "globex", subject, scopes: ["query/*"] });
    await setLimit({ kind: "subject", target: subject, routeGroup: "*", rate: { limit: 2, windowS: 3600 } });
    const { env: e } = prefectEnv();
    expect([
      (await gql(acme.key, e, FLOWS)).status,
      (await gql(acme.key, e, FLOWS)).status,
      (await gql(acme.key, e, FLOWS)).status,
    ]).toEqual([200, 200, 429]);
    expect((await gql(globex.key, e, FLOWS)).status).toBe(200);
  });

  it("is reported, not counted, by /admin/explain: the key's own requests keep their allowance", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("explained"), scopes: ["query/*"] });
    const limit = await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 2, windowS: 3600 } });
    const { tag, env: e } = prefectEnv();
    const question = {
      keyId,
      request: { method: "POST", path: "/prefect/graphql", headers: { "content-type": "application/json" }, body: JSON.stringify(FLOWS) },
    };
    for (let i = 0; i < 4; i++) {
      const res = await asAdmin("/admin/explain", { method: "POST", json: question, env: e });
      const answer = (await res.json()) as { decision: string; limits: { routeGroup: string; cost: number; limits: { id: string }[] }[] };
      expect(answer.decision).toBe("allowed");
      expect(answer.limits).toEqual([
        { routeGroup: "prefect", cost: 1, limits: [expect.objectContaining({ id: limit.id, pool: `key:${keyId}` })] },
      ]);
    }
    expect(await recorded(tag)).toEqual([]);
    expect((await gql(key, e, FLOWS)).status).toBe(200);
    expect((await gql(key, e, FLOWS)).status).toBe(200);
    expect((await gql(key, e, FLOWS)).status).toBe(429);
    expect(await usageOf({ keyId })).toMatchObject({ requests: 3 });
  });

  it("refuses past a daily quota until the period changes, then starts afresh", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("quota"), scopes: ["query/*"] });
    const limit = await setLimit({
      kind: "key",
      target: keyId,
      routeGroup: "prefect",
      rate: { limit: 1000, windowS: 60 },
      quota: { limit: 3, period: "day" },
    });
    const { env: e } = prefectEnv();
    for (let i = 0; i < 3; i++) expect((await gql(key, e, FLOWS)).status).toBe(200);
    const refused = await gql(key, e, FLOWS);
    expect(refused.status).toBe(429);
    const untilMidnight = Math.ceil(
      (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000,
    );
    expect(Math.abs(Number(refused.headers.get("retry-after")) - untilMidnight)).toBeLessThanOrEqual(2);
    expect(refused.headers.get("ratelimit-policy")).toContain(`"${limit.id}-quota";q=3;w=86400`);
    expect(((await refused.json()) as { errors: { extensions: { reason: string } }[] }).errors[0]!.extensions.reason).toBe("quota");

    // The counter's count belongs to yesterday now (as it will at midnight): the next request opens a new day.
    const ns = (env as unknown as { RATE_LIMITER: DurableObjectNamespace<RateLimitCounter> }).RATE_LIMITER;
    await runInDurableObject(ns.get(ns.idFromName(`key:${keyId}`)), async (_o, state) => {
      state.storage.sql.exec("UPDATE buckets SET quota_period = '2000-01-01' WHERE limit_id = ?", limit.id);
    });
    forgetLeasesInIsolate(); // this isolate remembered the refusal until midnight
    for (let i = 0; i < 3; i++) expect((await gql(key, e, FLOWS)).status).toBe(200);
    expect((await gql(key, e, FLOWS)).status).toBe(429);
  });

  it("shadow mode refuses nothing and records everything: fire counts, one audit row per window, usage", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("shadow"), scopes: ["query/*"] });
    const limit = await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 2, windowS: 3600 }, mode: "shadow" });
    const { tag, env: e } = prefectEnv();
    const statuses = await Promise.all(Array.from({ length: 8 }, () => gql(key, e, FLOWS).then((r) => r.status)));
    expect(statuses).toEqual(Array(8).fill(200));
    expect((await recorded(tag)).length).toBe(8);
    expect(await usageOf({ keyId })).toEqual({ cost: 8, requests: 8, refused: 0 });
    const view = (await (await asAdmin(`/admin/limits/${limit.id}`)).json()) as LimitView;
    expect(view).toMatchObject({ mode: "shadow", refused: 0, wouldHaveRefused: 6 });
    const audits = await auditRows("ratelimit.shadow", limit.id);
    expect(audits).toHaveLength(1);
    expect(audits[0]!.decision).toBe("allowed");

    // Then enforce: the same limit now refuses (the bucket already holds nothing).
    const res = await asAdmin(`/admin/limits/${limit.id}`, { method: "PATCH", json: { mode: "enforce" } });
    expect(res.status).toBe(200);
    expect((await gql(key, e, FLOWS)).status).toBe(429);
  });

  it("an unreachable counter follows RATE_LIMIT_ON_UNAVAILABLE: allowed by default, 429 when set to refuse, never a 5xx", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("down"), scopes: ["query/*"] });
    await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 1, windowS: 3600 } });
    const broken = {
      idFromName: (name: string) => ({ name }),
      get: () => ({ acquire: () => Promise.reject(new Error("counter is down")) }),
    };
    const tag = uniqueTag("down");
    const allowEnv = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), RATE_LIMITER: broken });
    for (let i = 0; i < 3; i++) expect((await gql(key, allowEnv, FLOWS)).status).toBe(200);
    const hanging = { idFromName: (name: string) => ({ name }), get: () => ({ acquire: () => new Promise(() => {}) }) };
    const slowEnv = envWith({ PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`), RATE_LIMITER: hanging, LOG_LEVEL: "error" });
    expect((await gql(key, slowEnv, FLOWS)).status).toBe(200); // no answer within RATE_COUNTER_TIMEOUT_MS
    const refuseEnv = envWith({
      PREFECT_GRAPHQL_URL: stubUrl(`/rec/${tag}/graphql`),
      RATE_LIMITER: broken,
      RATE_LIMIT_ON_UNAVAILABLE: "refuse",
    });
    const res = await gql(key, refuseEnv, FLOWS);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { errors: { extensions: { code: string; reason: string } }[] }).errors[0]!.extensions).toMatchObject({
      code: "RATE_LIMITED",
      reason: "unavailable",
    });
    expect((await recorded(tag)).length).toBe(4);
  });

  it("limits a tenant on the Conductor route in the route's own error shape, a workflow start costing more than a read", async () => {
    const tenant = uniqueTag("T").slice(0, 20);
    const tag = uniqueTag("cond");
    const e = envWith({ CONDUCTOR_URL: stubUrl(`/conductor/${tag}`), SCHELLAR_URL: stubUrl(`/schellar/${tag}`) });
    const { key } = await createTestKey({ tenant, subject: uniqueTag("c"), scopes: ["conductor"] }, e);
    await setLimit({ kind: "tenant", target: tenant, routeGroup: "conductor", rate: { limit: 7, windowS: 3600 } });
    const as = (path: string, init: RequestInit = {}) =>
      call(path, { ...init, env: e, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
    expect((await as("/conductor/api/metadata/workflow")).status).toBe(200); // 1
    const start = await as("/conductor/api/workflow", { method: "POST", body: JSON.stringify({ name: "nope", input: {} }) }); // 5
    expect(start.status).not.toBe(429);
    const refused = await as("/conductor/api/workflow", { method: "POST", body: JSON.stringify({ name: "nope", input: {} }) }); // 5 > 1 left
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    // Conductor's own error shape, retryable.
    const body = (await refused.json()) as { status: number; code: string; retryable: boolean; retryAfterS: number };
    expect(body).toMatchObject({ status: 429, code: "RATE_LIMITED", retryable: true });
    expect(body.retryAfterS).toBe(Number(refused.headers.get("retry-after")));
    expect((await as("/conductor/api/metadata/workflow")).status).toBe(200); // 1 still fits
  });

  it("charges a Conductor bulk request each id at its operation's cost, from the ids the route parsed: three bulk restarts of 40 under a 20-unit limit reach nothing", async () => {
    const s = await conductorStack("rlbulk");
    const ids = Array.from({ length: 40 }, (_, i) => `fb-bulk-${i}`);
    await s.seed({
      workflowDefs: [{ name: "FACEBOOK___wfA", version: 1, tasks: [] }],
      executions: ids.map((id) => ({
        workflowId: id,
        workflowName: "FACEBOOK___wfA",
        workflowType: "FACEBOOK___wfA",
        correlationId: "x",
        status: "FAILED",
        tasks: [],
      })),
    });
    const { id: keyId, key } = await createTestKey(
      { tenant: "FACEBOOK", subject: uniqueTag("bulk"), scopes: ["conductor"], groups: ["network-admin"] },
      s.env,
    );
    await setLimit({ kind: "key", target: keyId, routeGroup: "conductor", rate: { limit: 20, windowS: 3600 } });
    const restart = (body: string[]) => s.as(key, "/conductor/api/workflow/bulk/restart", { method: "POST", json: body });

    for (let i = 0; i < 3; i++) {
      const refused = await restart(ids);
      // 40 restarts at a start's cost each: more than the limit ever holds, said so (waiting does not help).
      expect(refused.status).toBe(413);
      expect(refused.headers.get("retry-after")).toBeNull();
      const body = (await refused.json()) as { code: string; message: string; cost: number };
      expect(body).toMatchObject({ code: "COST_EXCEEDS_LIMIT", cost: 200 });
    }
    // Refused before any id was looked up or restarted.
    expect((await s.records()).filter((r) => r.path.startsWith("/api/workflow"))).toEqual([]);

    // A repeated id counts once; three restarts cost 15, then a single restart (a start's cost) is over what is left.
    expect((await restart(["fb-bulk-1", "fb-bulk-2", "fb-bulk-3", "fb-bulk-1"])).status).toBe(200);
    expect((await s.as(key, "/conductor/api/workflow/fb-bulk-4/restart", { method: "POST" })).status).toBe(200); // 20
    expect((await s.as(key, "/conductor/api/workflow/fb-bulk-5/retry", { method: "POST" })).status).toBe(429);
    expect((await restart(["fb-bulk-6"])).status).toBe(429);
    expect(await usageOf({ keyId })).toMatchObject({ cost: 20, requests: 7, refused: 5 });
  });

  it("charges a Conductor bulk request refused before its ids are known (not an admin, a body that is no list of ids) its method's cost", async () => {
    const s = await conductorStack("rlbulkrefused");
    const limited = async (groups: string[]) => {
      const { id, key } = await createTestKey({ tenant: "FACEBOOK", subject: uniqueTag("bulkr"), scopes: ["conductor"], groups }, s.env);
      await setLimit({ kind: "key", target: id, routeGroup: "conductor", rate: { limit: 4, windowS: 3600 } });
      return (json: unknown) => s.as(key, "/conductor/api/workflow/bulk/pause", { method: "PUT", json });
    };
    const nonAdmin = await limited([]);
    expect((await nonAdmin(["fb-1"])).status).toBe(403);
    expect((await nonAdmin(["fb-1"])).status).toBe(403); // 4: a write's cost each
    expect((await nonAdmin(["fb-1"])).status).toBe(429);
    const admin = await limited(["network-admin"]);
    expect((await admin({ ids: ["fb-1"] })).status).toBe(400);
    expect((await admin([7])).status).toBe(400);
    expect((await admin(["fb-1"])).status).toBe(429);
    expect((await s.records()).filter((r) => r.path.startsWith("/api/workflow"))).toEqual([]);
  });

  it("charges a synchronous execution and a rerun like the starts they are", async () => {
    const s = await conductorStack("rlexec");
    await s.seed({
      workflowDefs: [{ name: "FACEBOOK___wfA", version: 1, tasks: [] }],
      executions: [
        {
          workflowId: "fb-rr",
          workflowName: "FACEBOOK___wfA",
          workflowType: "FACEBOOK___wfA",
          correlationId: "x",
          status: "FAILED",
          tasks: [],
        },
      ],
    });
    const { id: keyId, key } = await createTestKey(
      { tenant: "FACEBOOK", subject: uniqueTag("exec"), scopes: ["conductor"], groups: ["network-admin"] },
      s.env,
    );
    await setLimit({ kind: "key", target: keyId, routeGroup: "conductor", rate: { limit: 12, windowS: 3600 } });
    const execute = () => s.as(key, "/conductor/api/workflow/execute/wfA/1?waitForSeconds=0", { method: "POST", json: {} });
    expect((await execute()).status).toBe(200); // 5
    expect((await s.as(key, "/conductor/api/workflow/fb-rr/rerun", { method: "POST", json: {} })).status).toBe(200); // 10
    expect((await execute()).status).toBe(429);
    expect(await usageOf({ keyId })).toMatchObject({ cost: 10, requests: 3, refused: 1 });
  });

  it("charges a worker's batch poll its count", async () => {
    const s = await conductorStack("rlpoll");
    await s.seed({ fill: [{ tenant: "A", taskType: "job", count: 100 }] });
    const { id: keyId, key } = await createTestKey(
      { tenant: "ops", subject: uniqueTag("worker"), scopes: ["worker"], servesTenants: ["A"] },
      s.env,
    );
    await setLimit({ kind: "key", target: keyId, routeGroup: "workers", rate: { limit: 15, windowS: 3600 } });
    const poll = (count: number) => s.as(key, `/workers/conductor/api/tasks/poll/batch/job?workerid=w1&count=${count}&timeout=0`);
    expect((await poll(10)).status).toBe(200);
    const refused = await poll(10);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { code: string; status: number }).code).toBe("RATE_LIMITED");
    expect((await poll(5)).status).toBe(200);
    expect(await usageOf({ keyId })).toMatchObject({ cost: 15, requests: 3, refused: 1 });
  });

  it("charges each SUB_WORKFLOW a worker's dynamic_tasks fork like a start, beside the update's own cost", async () => {
    const s = await conductorStack("rlfanout");
    await s.seed({ fill: [{ tenant: "FACEBOOK", taskType: "fork_gen", count: 2 }] });
    const { id: keyId, key } = await createTestKey(
      { tenant: "ops", subject: uniqueTag("worker"), scopes: ["worker"], servesTenants: ["FACEBOOK"] },
      s.env,
    );
    const polled = (await (await s.as(key, "/workers/conductor/api/tasks/poll/batch/fork_gen?count=2&timeout=0")).json()) as {
      taskId: string;
      workflowInstanceId: string;
    }[];
    expect(polled).toHaveLength(2);
    // The poll (cost 2) is charged before the limit exists; the limit then holds 15 for what follows.
    await setLimit({ kind: "key", target: keyId, routeGroup: "workers", rate: { limit: 15, windowS: 3600 } });
    const subs = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({
        name: "s",
        taskReferenceName: `${tag}${i}`,
        type: "SUB_WORKFLOW",
        subWorkflowParam: { name: "w" },
      }));
    const update = (i: number, tasks: unknown[]) =>
      s.as(key, "/workers/conductor/api/tasks", {
        method: "POST",
        json: {
          taskId: polled[i]!.taskId,
          workflowInstanceId: polled[i]!.workflowInstanceId,
          status: "COMPLETED",
          outputData: { dynamic_tasks: tasks },
        },
      });
    const updates = async () => (await s.records()).filter((r) => r.method === "POST" && r.path === "/api/tasks").length;

    // Four forked sub-workflows cost 4 starts (20) beside the update (1): more than the limit ever holds.
    const tooMany = await update(0, subs(4, "a"));
    expect(tooMany.status).toBe(413);
    expect((await tooMany.json()) as { code: string; cost: number }).toMatchObject({ code: "COST_EXCEEDS_LIMIT", cost: 20 });
    expect(await updates()).toBe(0);
    // Two sub-workflows and a SIMPLE task: 1 + 2 starts = 11 of 15; then two more sub-workflows (10) no longer fit.
    expect((await update(0, [...subs(2, "b"), { name: "t", taskReferenceName: "t", type: "SIMPLE" }])).status).toBe(200);
    const refused = await update(1, subs(2, "c"));
    expect(refused.status).toBe(429);
    expect(await updates()).toBe(1);
    // A list of plain tasks costs the update alone.
    expect((await update(1, [{ name: "t", taskReferenceName: "t2", type: "SIMPLE" }])).status).toBe(200);
    expect(await updates()).toBe(2);
  });

  it("charges each SUB_WORKFLOW a skipped task's output forks like a start, beside the skip's own cost", async () => {
    const s = await conductorStack("rlskipfanout");
    await seedTwoTenants(s);
    await seedDynamicForkExecution(s);
    const { id: keyId, key } = await createTestKey(
      { tenant: "FACEBOOK", subject: uniqueTag("owner"), roles: ["OWNER"], scopes: ["conductor"] },
      s.env,
    );
    await setLimit({ kind: "key", target: keyId, routeGroup: "conductor", rate: { limit: 15, windowS: 3600 } });
    const skip = (n: number, tag: string) =>
      s.as(key, "/conductor/api/workflow/fb-dyn/skiptask/inv", {
        method: "PUT",
        json: {
          taskOutput: {
            dynamic_tasks: Array.from({ length: n }, (_, i) => ({
              name: "s",
              taskReferenceName: `${tag}${i}`,
              type: "SUB_WORKFLOW",
              subWorkflowParam: { name: "wfA" },
            })),
          },
        },
      });
    const skips = async () => (await s.records()).filter((r) => r.method === "PUT" && r.path.includes("/skiptask/")).length;
    // Four sub-workflows cost 20: more than the limit ever holds, and nothing is skipped.
    const tooMany = await skip(4, "a");
    expect(tooMany.status).toBe(413);
    expect(await skips()).toBe(0);
    // Two cost 10 beside the skip's own write cost; then two more no longer fit.
    expect((await skip(2, "b")).status).toBe(200);
    expect((await skip(2, "c")).status).toBe(429);
    expect(await skips()).toBe(1);
  });
});

/** The refusal's fields, in the GraphQL shape's extensions. */
async function refusalOf(res: Response) {
  return ((await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] }).errors[0]!;
}

/** A `RateLimit` header's items by name: `{"rl_x": {r, t}, "rl_x-quota": {r, t}}`. */
function items(header: string | null): Record<string, { r: number; t: number }> {
  const out: Record<string, { r: number; t: number }> = {};
  for (const item of (header ?? "").split(/,\s*/).filter(Boolean)) {
    const m = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(item);
    expect(m, item).not.toBeNull();
    out[m![1]!] = { r: Number(m![2]), t: Number(m![3]) };
  }
  return out;
}

const secondsToMidnight = () =>
  Math.ceil((Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000);

describe("refusals that say the truth (issue 27)", () => {
  it("every refusal of a run carries the same fields: reason, limit, policy, cost and retryAfterS (with Retry-After), not only the first", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("run"), scopes: ["query/*"] });
    const limit = await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 2, windowS: 3600 } });
    const { env: e } = prefectEnv();
    const answers: Response[] = [];
    for (let i = 0; i < 6; i++) answers.push(await gql(key, e, FLOWS));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 429, 429, 429, 429]);
    for (const res of answers.slice(2)) {
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      const error = await refusalOf(res);
      expect(error.message).toBe(`rate limit ${limit.id} exceeded`);
      expect(error.extensions).toMatchObject({
        code: "RATE_LIMITED",
        reason: "rate",
        limit: limit.id,
        policy: limit.id,
        cost: 1,
        retryAfterS: retryAfter,
      });
      expect(items(res.headers.get("ratelimit"))[limit.id]).toMatchObject({ r: 0, t: retryAfter });
    }
  });

  it("a request costing more than the whole limit is refused as such: 413 COST_EXCEEDS_LIMIT, no Retry-After, every time; smaller ones still pass", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("big"), scopes: ["query/*", "mutation/create_flow_run"] });
    const limit = await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 5, windowS: 3600 } });
    const { tag, env: e } = prefectEnv();
    const big = { query: 'mutation { create_flow_run(input: {flow_id: "f"}) { id } }' }; // 10 by default
    for (let i = 0; i < 3; i++) {
      const res = await gql(key, e, big);
      expect(res.status).toBe(413);
      expect(res.headers.get("retry-after")).toBeNull();
      const error = await refusalOf(res);
      expect(error.message).toContain("can never pass");
      expect(error.extensions).toMatchObject({
        code: "COST_EXCEEDS_LIMIT",
        reason: "cost",
        limit: limit.id,
        policy: limit.id,
        cost: 10,
        retryAfterS: null,
      });
      // The policy is not exhausted: its item says what it holds.
      expect(items(res.headers.get("ratelimit"))[limit.id]!.r).toBeGreaterThan(0);
    }
    expect(await recorded(tag)).toEqual([]);
    expect((await gql(key, e, FLOWS)).status).toBe(200);
    // Once the rate refuses (remembered in the isolate), a request too big for the whole limit is still told so.
    for (let i = 0; i < 4; i++) expect((await gql(key, e, FLOWS)).status).toBe(200);
    expect((await gql(key, e, FLOWS)).status).toBe(429);
    const after = await gql(key, e, big);
    expect(after.status).toBe(413);
    expect(after.headers.get("retry-after")).toBeNull();
    expect((await refusalOf(after)).extensions).toMatchObject({ code: "COST_EXCEEDS_LIMIT", reason: "cost", retryAfterS: null });

    // Over a whole quota, in the envelope (Conductor's shape: not retryable).
    const tenant = uniqueTag("Q").slice(0, 20);
    const ctag = uniqueTag("condbig");
    const ce = envWith({ CONDUCTOR_URL: stubUrl(`/conductor/${ctag}`), SCHELLAR_URL: stubUrl(`/schellar/${ctag}`) });
    const conductorKey = await createTestKey({ tenant, subject: uniqueTag("c"), scopes: ["conductor"] }, ce);
    const quota = await setLimit({
      kind: "tenant",
      target: tenant,
      routeGroup: "conductor",
      rate: { limit: 100, windowS: 60 },
      quota: { limit: 4, period: "day" },
    });
    const start = await call("/conductor/api/workflow", {
      method: "POST",
      env: ce,
      headers: { authorization: `Bearer ${conductorKey.key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "w", input: {} }),
    }); // 5 > the whole quota of 4
    expect(start.status).toBe(413);
    expect(start.headers.get("retry-after")).toBeNull();
    expect(await start.json()).toMatchObject({
      status: 413,
      code: "COST_EXCEEDS_LIMIT",
      retryable: false,
      reason: "cost",
      limit: quota.id,
      policy: `${quota.id}-quota`,
      cost: 5,
      retryAfterS: null,
    });
  });

  it("each RateLimit item describes its own policy: the rate's r is the bucket's, the quota's the quota's; a refusal puts r=0 and its reset on the policy that refused, and says the same every time", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("items"), scopes: ["query/*"] });
    const limit = await setLimit({
      kind: "key",
      target: keyId,
      routeGroup: "prefect",
      rate: { limit: 1000, windowS: 86_400 }, // a slow refill: the bucket's figures stay exact during the test
      quota: { limit: 3, period: "day" },
    });
    const { env: e } = prefectEnv();
    const first = await gql(key, e, FLOWS);
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe(`"${limit.id}";q=1000;w=86400, "${limit.id}-quota";q=3;w=86400`);
    const now = items(first.headers.get("ratelimit"));
    expect(now[limit.id]!.r).toBe(999);
    expect(now[`${limit.id}-quota`]!.r).toBe(2);
    expect((await gql(key, e, FLOWS)).status).toBe(200);
    expect((await gql(key, e, FLOWS)).status).toBe(200);
    // The quota refuses, the first time (the counter) and again (remembered in the isolate): in the same words.
    for (let i = 0; i < 3; i++) {
      const refused = await gql(key, e, FLOWS);
      expect(refused.status).toBe(429);
      const state = items(refused.headers.get("ratelimit"));
      expect(state[`${limit.id}-quota`]!.r).toBe(0);
      expect(Math.abs(state[`${limit.id}-quota`]!.t - secondsToMidnight())).toBeLessThanOrEqual(2);
      expect(state[limit.id]!.r).toBe(997); // the rate is not what refused
      expect(Number(refused.headers.get("retry-after"))).toBe(state[`${limit.id}-quota`]!.t);
      const error = await refusalOf(refused);
      expect(error.message).toBe(`quota ${limit.id} exhausted`);
      expect(error.extensions).toMatchObject({ reason: "quota", limit: limit.id, policy: `${limit.id}-quota`, cost: 1 });
    }

    // The rate refuses while the quota holds plenty: r=0 on the rate's item only.
    const other = await createTestKey({ subject: uniqueTag("items2"), scopes: ["query/*"] });
    const tight = await setLimit({
      kind: "key",
      target: other.id,
      routeGroup: "prefect",
      rate: { limit: 2, windowS: 3600 },
      quota: { limit: 100, period: "day" },
    });
    expect((await gql(other.key, e, FLOWS)).status).toBe(200);
    expect((await gql(other.key, e, FLOWS)).status).toBe(200);
    const refused = await gql(other.key, e, FLOWS);
    expect(refused.status).toBe(429);
    const state = items(refused.headers.get("ratelimit"));
    expect(state[tight.id]!.r).toBe(0);
    expect(state[tight.id]!.t).toBe(Number(refused.headers.get("retry-after")));
    expect(state[`${tight.id}-quota`]!.r).toBe(98);
  });

  it("changing one limit keeps every other owner's leases: an unrelated change costs a limited key none of its allowance", async () => {
    const { id: keyId, key } = await createTestKey({ subject: uniqueTag("keep"), scopes: ["query/*"] });
    const limit = await setLimit({ kind: "key", target: keyId, routeGroup: "prefect", rate: { limit: 20, windowS: 86_400 } });
    const { env: e } = prefectEnv();
    const first = await gql(key, e, FLOWS);
    // The counter leased this isolate 2 tokens (a tenth of 20): one spent, one held here.
    expect(items(first.headers.get("ratelimit"))[limit.id]!.r).toBe(19);
    // Another owner's limit is set, and changed.
    const stranger = await createTestKey({ subject: uniqueTag("stranger"), scopes: ["query/*"] });
    const unrelated = await setLimit({ kind: "key", target: stranger.id, routeGroup: "*", rate: { limit: 5, windowS: 60 } });
    expect((await asAdmin(`/admin/limits/${unrelated.id}`, { method: "PATCH", json: { mode: "shadow" } })).status).toBe(200);
    const second = await gql(key, e, FLOWS);
    expect(items(second.headers.get("ratelimit"))[limit.id]!.r).toBe(18); // the held token was spent, not dropped
    // The whole limit is still there to spend: 18 more pass, then it refuses.
    const statuses: number[] = [];
    for (let i = 0; i < 19; i++) statuses.push((await gql(key, e, FLOWS)).status);
    expect(statuses).toEqual([...Array(18).fill(200), 429]);
  });
});

describe("the counter object", () => {
  const ns = () => (env as unknown as { RATE_LIMITER: DurableObjectNamespace<RateLimitCounter> }).RATE_LIMITER;
  const spec = (version: number, limit: number, shadow = false) => ({
    id: "rl_direct00000",
    version,
    rate: { limit, windowS: 3600 },
    quota: null,
    shadow,
  });

  it("never grants the same token twice, however many isolates ask at once", async () => {
    const stub = ns().get(ns().idFromName(`key:${uniqueTag("direct")}`));
    const answers = await Promise.all(Array.from({ length: 100 }, () => stub.acquire({ limits: [spec(1, 37)], cost: 1, returns: {} })));
    const granted = answers.reduce((a, x) => a + x.answers[0]!.granted, 0);
    expect(granted).toBe(37); // leases included: every token went out once, and no more
    expect(answers.filter((x) => x.ok).length).toBeLessThanOrEqual(37);
    expect(answers.filter((x) => !x.ok).length).toBeGreaterThan(0);
  });

  it("holds an isolate that still has an older setting to the newest one it has seen", async () => {
    const stub = ns().get(ns().idFromName(`key:${uniqueTag("versions")}`));
    expect((await stub.acquire({ limits: [spec(2, 3)], cost: 1, returns: {} })).ok).toBe(true);
    // An isolate that has not reread the limits offers version 1 (a limit of 1000, shadow): version 2 decides.
    const stale = await Promise.all(Array.from({ length: 5 }, () => stub.acquire({ limits: [spec(1, 1000, true)], cost: 1, returns: {} })));
    expect(stale.filter((a) => a.ok)).toHaveLength(2);
    expect(stale.find((a) => !a.ok)!.answers[0]!.shadow).toBe(false);
  });
});
