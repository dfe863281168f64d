/**
 * What the Conductor SDKs need from the gateway, through the real Worker: their login (`POST /api/token` ->
 * `X-Authorization`), Conductor's error shape on every Conductor answer, empty parameters as absent, synchronous
 * execution, update-v2, and a hint for workers that use the wrong route.
 */
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, type CallOptions } from "../../helpers";
import { conductorStack, type ConductorStack } from "./harness";

const SECRET = "test-gateway-token-secret-0123456789abcdef"; // vitest.config.mts

let s: ConductorStack;
let admin: { id: string; key: string };
let ann: { id: string; key: string }; // non-admin, group ops
let worker: { id: string; key: string };

interface ConductorError {
  status: number;
  message: string;
  code: string;
  requestId: string;
  retryable: boolean;
  error?: string;
}

const tokenFor = async (k: { id: string; key: string }, env = s.env, prefix = "/conductor") => {
  const res = await call(`${prefix}/api/token`, { method: "POST", env, json: { keyId: k.id, keySecret: k.key } });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as { token: string };
  expect(Object.keys(body)).toEqual(["token"]);
  return body.token;
};

const withToken = (token: string, path: string, opts: CallOptions = {}, env = s.env) =>
  call(path, { ...opts, env, headers: { "x-authorization": token, ...(opts.headers as Record<string, string>) } });

async function conductorError(res: Response): Promise<ConductorError> {
  const body = (await res.json()) as ConductorError;
  expect(body).toMatchObject({
    status: res.status,
    message: expect.any(String),
    code: expect.any(String),
    requestId: res.headers.get("x-request-id"),
  });
  expect(body).not.toHaveProperty("errors");
  expect(typeof body.retryable).toBe("boolean");
  return body;
}

beforeAll(async () => {
  s = await conductorStack("sdk");
  await s.seed({
    workflowDefs: [
      {
        name: "FACEBOOK___hello",
        version: 1,
        description: '{"description":"greets","labels":["ops"]}',
        tasks: [{ name: "FACEBOOK___say", taskReferenceName: "say_ref", type: "SIMPLE" }],
      },
      { name: "FACEBOOK___secret", version: 1, description: '{"description":"admins","labels":["finance"]}', tasks: [] },
      { name: "OTHER___hello", version: 1, tasks: [{ name: "OTHER___say", taskReferenceName: "say_ref", type: "SIMPLE" }] },
    ],
  });
  admin = await createTestKey({ tenant: "FACEBOOK", subject: "fb-admin", roles: ["OWNER"], scopes: ["conductor"] }, s.env);
  ann = await createTestKey({ tenant: "FACEBOOK", subject: "ann", groups: ["ops"], scopes: ["conductor"] }, s.env);
  worker = await createTestKey({ tenant: "ops", subject: "sdk-worker", scopes: ["worker"], servesTenants: ["FACEBOOK"] }, s.env);
});

describe("the SDK login: POST /api/token", () => {
  it("trades {keyId, keySecret} for a token that works as X-Authorization on the Conductor and worker routes", async () => {
    const token = await tokenFor(admin);
    const defs = await withToken(token, "/conductor/api/metadata/workflow");
    expect(defs.status).toBe(200);
    expect(((await defs.json()) as { name: string }[]).map((d) => d.name)).toContain("hello");
    const wToken = await tokenFor(worker, s.env, "/workers/conductor");
    expect((await withToken(wToken, "/workers/conductor/api/tasks/poll/batch/say?count=1&timeout=0")).status).toBe(200);
    // The token is the key's: the worker's token is no Conductor credential, and the other way round.
    expect((await withToken(wToken, "/conductor/api/metadata/workflow")).status).toBe(403);
    expect((await withToken(token, "/workers/conductor/api/tasks/poll/batch/say?count=1&timeout=0")).status).toBe(403);
  });

  it("is accepted on the Conductor and worker routes only", async () => {
    const token = await tokenFor(admin);
    for (const path of ["/whoami", "/admin/keys"]) {
      expect((await withToken(token, path)).status, path).toBe(401);
    }
  });

  it("a bad pair is 401 with the reason in Conductor's shape, and nothing is issued", async () => {
    const cases = [
      { keyId: admin.id, keySecret: `${admin.key.slice(0, -1)}${admin.key.endsWith("x") ? "y" : "x"}` }, // mistyped
      { keyId: ann.id, keySecret: admin.key }, // another key's id
      { keyId: "", keySecret: admin.key },
      { keyId: admin.id, keySecret: "fgk_nonsense" },
    ];
    for (const pair of cases) {
      const res = await call("/conductor/api/token", { method: "POST", env: s.env, json: pair });
      expect(res.status).toBe(401);
      const e = await conductorError(res);
      expect(e.code).toBe("UNAUTHENTICATED");
      expect(e.error).toBeUndefined(); // not a token error: the SDK must not loop on refreshing
      expect(JSON.stringify(e)).not.toContain(admin.key);
    }
    const malformed = await call("/conductor/api/token", {
      method: "POST",
      env: s.env,
      body: "keyId=x",
      headers: { "content-type": "text/plain" },
    });
    expect(malformed.status).toBe(400);
    expect((await conductorError(malformed)).message).toContain("keyId");
  });

  it("without GATEWAY_TOKEN_SECRET a deployment refuses to issue tokens, naming the variable", async () => {
    const env = envWith({ ...s.env, GATEWAY_TOKEN_SECRET: "" });
    const res = await call("/conductor/api/token", { method: "POST", env, json: { keyId: admin.id, keySecret: admin.key } });
    expect(res.status).toBe(500);
    const e = await conductorError(res);
    expect(e.code).toBe("BAD_CONFIGURATION");
    expect(e.message).toContain("GATEWAY_TOKEN_SECRET");
    // A short secret is a configuration error of the whole deployment, named, never shown.
    const short = await call("/healthz", { env: envWith({ GATEWAY_TOKEN_SECRET: "short" }) });
    expect(short.status).toBe(500);
    expect(await short.text()).not.toContain('short"');
    // A secret shared with JWT_HS256_SECRET would let a gateway token pass as a JWT: refused the same way.
    const shared = await call("/healthz", { env: envWith({ GATEWAY_TOKEN_SECRET: SECRET, JWT_HS256_SECRET: SECRET }) });
    expect(shared.status).toBe(500);
    expect(await shared.text()).toContain("must differ from JWT_HS256_SECRET");
  });

  it("revoking the key stops its tokens at once; the answer says why and is no token error", async () => {
    const k = await createTestKey({ tenant: "FACEBOOK", subject: "leaver", roles: ["OWNER"], scopes: ["conductor"] }, s.env);
    const token = await tokenFor(k);
    expect((await withToken(token, "/conductor/api/metadata/workflow")).status).toBe(200);
    expect((await asAdmin(`/admin/keys/${k.id}`, { method: "DELETE", env: s.env })).status).toBe(200);
    const res = await withToken(token, "/conductor/api/metadata/workflow");
    expect(res.status).toBe(401);
    const e = await conductorError(res);
    expect(e.message).toBe("API key revoked");
    expect(e.error).toBeUndefined();
    expect((await call("/conductor/api/token", { method: "POST", env: s.env, json: { keyId: k.id, keySecret: k.key } })).status).toBe(401);
  });

  it("an expired token is 401 EXPIRED_TOKEN and a foreign or damaged one 401 INVALID_TOKEN, the codes the SDKs refresh on", async () => {
    const sign = (secret: string, exp: number, sub = admin.id) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("flowgate")
        .setAudience("flowgate:conductor-sdk")
        .setSubject(sub)
        .setIssuedAt(exp - 7200)
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(secret));
    const now = Math.floor(Date.now() / 1000);
    const expired = await withToken(await sign(SECRET, now - 60), "/conductor/api/metadata/workflow");
    expect(expired.status).toBe(401);
    expect((await conductorError(expired)).error).toBe("EXPIRED_TOKEN");
    const valid = await tokenFor(admin);
    for (const bad of [
      await sign("another-secret-of-someone-else-0123456789", now + 600),
      `${valid.slice(0, -3)}AAA`,
      "not-a-token",
      await sign(SECRET, now + 600, "nosuchkeyid0"),
    ]) {
      const res = await withToken(bad, "/conductor/api/metadata/workflow");
      expect(res.status, bad).toBe(401);
      expect((await conductorError(res)).error).toBe("INVALID_TOKEN");
    }
    // A token beside a different credential is refused, not guessed between.
    const both = await withToken(valid, "/conductor/api/metadata/workflow", { headers: { authorization: `Bearer ${ann.key}` } });
    expect(both.status).toBe(401);
  });

  it("odd X-Authorization values and token requests are a 4xx in Conductor's shape, never a 5xx", async () => {
    const header = ["x".repeat(9_000), "Bearer abc", "e30.e30.", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "a.b.c", " ", "\u0001"];
    for (const v of header) {
      let res: Response;
      try {
        res = await withToken(v, "/workers/conductor/api/tasks/poll/batch/say?count=1&timeout=0");
      } catch {
        continue; // a value no HTTP client can send
      }
      expect(res.status, v.slice(0, 40)).toBeLessThan(500);
      if (res.status >= 400) await conductorError(res);
    }
    const bodies = [
      "",
      "null",
      "[]",
      '{"keyId":1,"keySecret":2}',
      `{"keyId":"${"k".repeat(5_000)}","keySecret":"x"}`,
      '{"keyId":"a","keySecret":"fgk_'.padEnd(200, "x") + '"}',
      "{".repeat(10_000),
    ];
    for (const body of bodies) {
      const res = await call("/conductor/api/token", { method: "POST", env: s.env, body, headers: { "content-type": "application/json" } });
      expect([400, 401, 413], body.slice(0, 40)).toContain(res.status);
      await conductorError(res);
    }
  });

  it("rotates: the first secret signs, every listed one verifies", async () => {
    const rotated = envWith({ ...s.env, GATEWAY_TOKEN_SECRET: `new-gateway-token-secret-0123456789abcdef, ${SECRET}` });
    const oldToken = await tokenFor(admin);
    expect((await withToken(oldToken, "/conductor/api/metadata/workflow", {}, rotated)).status).toBe(200);
    const newToken = await tokenFor(admin, rotated);
    expect((await withToken(newToken, "/conductor/api/metadata/workflow", {}, rotated)).status).toBe(200);
    const res = await withToken(newToken, "/conductor/api/metadata/workflow"); // the old secret alone
    expect(res.status).toBe(401);
    expect((await conductorError(res)).error).toBe("INVALID_TOKEN");
  });
});

describe("Conductor's error shape on every Conductor answer", () => {
  it("authentication, not found, bad input and upstream errors under /conductor/ and /workers/conductor/; the envelope elsewhere", async () => {
    const answers = [
      await call("/conductor/api/metadata/workflow", { env: s.env }), // no credential
      await call("/conductor/api/metadata/workflow", { env: s.env, headers: { authorization: "Basic abc" } }),
      await s.as(admin.key, "/conductor/api/no/such/route"),
      await s.as(admin.key, "/conductor/api/workflow/search?size=abc"),
      await s.as(admin.key, "/conductor/api/metadata/workflow/nosuch"),
      await call("/workers/conductor/api/tasks/poll/batch/say", { env: s.env }),
      await s.as(worker.key, "/workers/conductor/api/elsewhere"),
      await s.as(admin.key, "/conductor", { method: "DELETE" }),
    ];
    for (const res of answers) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      await conductorError(res);
    }
    expect(answers[0]!.headers.get("www-authenticate")).toContain("Bearer");
    const elsewhere = await call("/whoami", { env: s.env });
    expect(Object.keys((await elsewhere.json()) as object)).toEqual(["error"]);
  });

  it("a refusal's reason is in the top-level message", async () => {
    const res = await s.as(ann.key, "/conductor/api/metadata/workflow?overwrite=true", {
      method: "POST",
      json: { name: "bob_own", version: 1, tasks: [] },
    });
    expect(res.status).toBe(403);
    const e = await conductorError(res);
    expect(e.code).toBe("FORBIDDEN");
    expect(e.message).toContain("Conductor admins");
    expect(e.retryable).toBe(false);
  });

  it("a worker path on the Conductor route is 404 naming the worker route, before any upstream call", async () => {
    const before = (await s.records()).length;
    for (const [method, path] of [
      ["GET", "/conductor/api/tasks/poll/batch/say?count=1"],
      ["GET", "/conductor/api/tasks/poll/say"],
      ["POST", "/conductor/api/tasks"],
      ["POST", "/conductor/api/tasks/update-v2"],
      ["POST", "/conductor/api/tasks/abc/ack"],
    ] as const) {
      const res = await s.as(admin.key, path, { method, ...(method === "POST" ? { json: { taskId: "abc" } } : {}) });
      expect(res.status, path).toBe(404);
      expect((await conductorError(res)).message).toContain("/workers/conductor/");
    }
    expect((await s.records()).length).toBe(before);
  });
});

describe("query parameters as Conductor reads them", () => {
  it("search with the SDK's defaults (sort= empty, skipCache=false) works; several sort keys go separated by |", async () => {
    const res = await s.as(admin.key, "/conductor/api/workflow/search?start=0&size=10&sort=&skipCache=false");
    expect(res.status, await res.clone().text()).toBe(200);
    const sorted = await s.as(
      admin.key,
      `/conductor/api/workflow/search?sort=${encodeURIComponent("startTime:DESC|workflowId")}&freeText=&query=`,
    );
    expect(sorted.status).toBe(200);
    const searches = (await s.records()).filter((r) => r.path.startsWith("/api/workflow/search"));
    const first = new URL(`http://x${searches.at(-2)!.path}`).searchParams;
    expect(first.has("sort")).toBe(false);
    expect(first.has("skipCache")).toBe(false);
    expect(first.get("freeText")).toBe("*");
    const second = new URL(`http://x${searches.at(-1)!.path}`).searchParams;
    expect(second.get("sort")).toBe("startTime:DESC|workflowId");
    expect(second.get("freeText")).toBe("*");
    expect(second.get("query")).toContain("FACEBOOK___");
    for (const bad of ["startTime;DESC", "a|b|c|d|e|f", "x:UP", "a||b"]) {
      expect((await s.as(admin.key, `/conductor/api/workflow/search?sort=${encodeURIComponent(bad)}`)).status, bad).toBe(400);
    }
  });
});

describe("synchronous execution: POST /api/workflow/execute/{name}/{version}", () => {
  it("starts in the tenant's space with the caller's identity and answers the run stripped of the prefix", async () => {
    const res = await s.as(ann.key, "/conductor/api/workflow/execute/hello/1?requestId=req-1&waitUntilTaskRef=&waitForSeconds=1", {
      method: "POST",
      json: { name: "hello", version: 1, input: { who: "sync" } },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const run = (await res.json()) as {
      workflowId: string;
      requestId: string;
      status: string;
      tasks: { taskType: string; workflowType: string }[];
    };
    expect(run.requestId).toBe("req-1");
    expect(JSON.stringify(run)).not.toContain("FACEBOOK___");
    expect(run.tasks[0]!.taskType).toBe("say");
    const sent = (await s.records()).filter((r) => r.path.startsWith("/api/workflow/execute/")).at(-1)!;
    expect(sent.path).toBe("/api/workflow/execute/FACEBOOK___hello/1?requestId=req-1&waitForSeconds=1");
    expect(JSON.parse(sent.body)).toMatchObject({
      name: "FACEBOOK___hello",
      version: 1,
      taskToDomain: { "*": "FACEBOOK" },
      correlationId: "ann",
      input: { who: "sync" },
    });
    // The run is Ann's: she reads it afterwards like any execution she started.
    expect((await s.as(ann.key, `/conductor/api/workflow/${run.workflowId}`)).status).toBe(200);
  });

  it("is checked like a start: the path's workflow decides, RBAC applies, and the start request's rules hold", async () => {
    const before = (await s.records()).filter((r) => r.path.startsWith("/api/workflow/execute/")).length;
    // The body's name is not what runs: the path's is, and Ann may not run that one.
    const other = await s.as(ann.key, "/conductor/api/workflow/execute/secret/1?requestId=r", {
      method: "POST",
      json: { name: "hello", version: 1 },
    });
    expect(other.status).toBe(403);
    expect((await s.as(ann.key, "/conductor/api/workflow/execute/nosuch/1?requestId=r", { method: "POST", json: {} })).status).toBe(404);
    for (const body of [{ workflowDef: { name: "x", tasks: [] } }, { taskToDomain: { "*": "OTHER" } }, [1, 2]]) {
      expect(
        (await s.as(admin.key, "/conductor/api/workflow/execute/hello/1?requestId=r", { method: "POST", json: body })).status,
        JSON.stringify(body),
      ).toBe(400);
    }
    for (const path of [
      "OTHER___hello/1",
      "hello/0",
      "hello/x",
      "hello/1?returnStrategy=BLOCKING_TASK",
      "hello/1?waitForSeconds=3600",
      "hello/1?requestId=a%0Ab",
    ]) {
      expect((await s.as(admin.key, `/conductor/api/workflow/execute/${path}`, { method: "POST", json: {} })).status, path).toBe(400);
    }
    expect((await s.records()).filter((r) => r.path.startsWith("/api/workflow/execute/")).length).toBe(before);
  });
});

describe("update-v2 on the worker route", () => {
  it("updates a served task, then hands out the next one of the same type from a tenant the worker serves", async () => {
    const w = await createTestKey({ tenant: "ops", subject: "v2-worker", scopes: ["worker"], servesTenants: ["FACEBOOK"] }, s.env);
    await s.seed({
      fill: [
        { tenant: "FACEBOOK", taskType: "job", count: 2 },
        { tenant: "OTHER", taskType: "job", count: 3 },
      ],
    });
    const polled = await s.as(w.key, "/workers/conductor/api/tasks/poll/batch/job?workerid=w1&count=1&timeout=0");
    const [task] = (await polled.json()) as { taskId: string; workflowInstanceId: string }[];
    const result = {
      taskId: task!.taskId,
      workflowInstanceId: task!.workflowInstanceId,
      status: "COMPLETED",
      outputData: { ok: 1 },
      workerId: "w1",
    };
    const res = await s.as(w.key, "/workers/conductor/api/tasks/update-v2", { method: "POST", json: result });
    expect(res.status, await res.clone().text()).toBe(200);
    const next = (await res.json()) as { taskId: string; workflowType: string; workerId: string };
    expect(next.taskId).not.toBe(task!.taskId);
    expect(next.workflowType.startsWith("FACEBOOK___")).toBe(true);
    const state = (await s.state()) as { updates: { kind: string; taskId: string }[] };
    expect(state.updates).toContainEqual(expect.objectContaining({ kind: "result", taskId: task!.taskId }));
    // The last FACEBOOK task: after it, nothing of FACEBOOK's waits, and OTHER's are never handed out.
    const last = await s.as(w.key, "/workers/conductor/api/tasks/update-v2", {
      method: "POST",
      json: { ...result, taskId: next.taskId, workflowInstanceId: (next as unknown as { workflowInstanceId: string }).workflowInstanceId },
    });
    expect(last.status).toBe(204);
  });

  it("refuses a task of a tenant the worker does not serve, before the upstream hears of it", async () => {
    const w = await createTestKey({ tenant: "ops", subject: "v2-other", scopes: ["worker"], servesTenants: ["FACEBOOK"] }, s.env);
    await s.seed({ fill: [{ tenant: "OTHER", taskType: "job2", count: 1 }] });
    const other = await createTestKey({ tenant: "ops", subject: "v2-other-real", scopes: ["worker"], servesTenants: ["OTHER"] }, s.env);
    const [task] = (await (await s.as(other.key, "/workers/conductor/api/tasks/poll/batch/job2?count=1&timeout=0")).json()) as {
      taskId: string;
      workflowInstanceId: string;
    }[];
    const before = ((await s.state()) as { updates: unknown[] }).updates.length;
    const res = await s.as(w.key, "/workers/conductor/api/tasks/update-v2", {
      method: "POST",
      json: { taskId: task!.taskId, workflowInstanceId: task!.workflowInstanceId, status: "COMPLETED" },
    });
    expect(res.status).toBe(404);
    await conductorError(res);
    expect(((await s.state()) as { updates: unknown[] }).updates.length).toBe(before);
  });

  it("empty poll parameters mean absent (count=, workerid=, domain=)", async () => {
    const res = await s.as(worker.key, "/workers/conductor/api/tasks/poll/batch/say?count=&timeout=0&workerid=&domain=");
    expect(res.status, await res.clone().text()).toBe(200);
  });
});
