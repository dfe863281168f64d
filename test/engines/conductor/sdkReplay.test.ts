/**
 * The Conductor JavaScript SDK's recorded conversation (test/fixtures/clients/conductor-javascript-4.0.0.jsonl,
 * from ../shared/reference/clients), replayed request for request through the real Worker against the stand-in
 * Conductor, with what the SDK needs from each answer asserted (read from its source, 4.0.0):
 * - `POST /api/token`: 200 and `{"token"}`; a 404 there makes it carry on with no credential at all;
 * - every later call, with `X-Authorization: <token>` as it sends it: a 2xx, in particular the calls that failed
 *   at recording time (`search` with `sort=` empty: 400; `update-v2`: 404, making the worker fall back for good;
 *   `execute`: 404);
 * - a refusal: Conductor's shape, the reason in the top-level `message` (the SDK's error message is
 *   "<what failed>: <message>"), and no token `error` code (which would make it fetch a new token and retry).
 */
import { describe, expect, it } from "vitest";
import recording from "../../fixtures/clients/conductor-javascript-4.0.0.jsonl?raw";
import { call, createTestKey } from "../../helpers";
import { conductorStack } from "./harness";

interface Recorded {
  step: string;
  seq: number;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  rawBody: string;
  answered: number | null;
}

const records = recording
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as Recorded);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
/** Hop-by-hop headers of the recording's connection, not the request's. */
const HOP_BY_HOP = new Set(["host", "connection", "transfer-encoding", "content-length"]);

describe("replay of @io-orkes/conductor-javascript 4.0.0", () => {
  it("answers every recorded request as the SDK needs", async () => {
    const s = await conductorStack("replay");
    const keys = {
      admin: await createTestKey(
        { tenant: "INITECH", subject: "ann", email: "ann@acme.example", roles: ["OWNER"], scopes: ["conductor"] },
        s.env,
      ),
      nonAdmin: await createTestKey({ tenant: "INITECH", subject: "bob", groups: ["ops"], scopes: ["conductor"] }, s.env),
      worker: await createTestKey({ tenant: "ops", subject: "sdk-worker", scopes: ["worker"], servesTenants: ["INITECH"] }, s.env),
    };
    const keyOf = (step: string) =>
      step.includes("(worker credential)") ? keys.worker : step.includes("(non-admin user)") ? keys.nonAdmin : keys.admin;

    let key = keys.admin;
    /** Each SDK client keeps its own token: one for the worker route, one for the Conductor route's latest client. */
    const tokens = { worker: "", conductor: "" };
    let token = "";
    /** Ids generated at recording time -> the ones the stand-in generated now. */
    const ids = new Map<string, string>();
    const substitute = (text: string) => {
      let out = text.replaceAll("<keyId>", key.id).replaceAll("<key>", key.key).replaceAll("<token>", token);
      for (const [recorded, now] of ids) out = out.replaceAll(recorded, now);
      return out;
    };
    const seen: string[] = [];

    for (const [i, r] of records.entries()) {
      if (r.path.endsWith("/api/token")) key = keyOf(r.step);
      token = r.path.startsWith("/workers/") ? tokens.worker : tokens.conductor;
      const headers = new Headers();
      for (const [name, value] of r.headers) if (!HOP_BY_HOP.has(name)) headers.append(name, substitute(value));
      const path = substitute(`${r.path}${r.query ? `?${r.query}` : ""}`);
      const res = await call(path, { method: r.method, env: s.env, headers, body: r.rawBody === "" ? undefined : substitute(r.rawBody) });
      const text = await res.text();
      const label = `#${r.seq} ${r.method} ${r.path}?${r.query} (recorded ${r.answered}) -> ${res.status} ${text.slice(0, 300)}`;
      seen.push(`#${r.seq} ${r.answered} -> ${res.status}`);

      if (r.path.endsWith("/api/token")) {
        expect(res.status, label).toBe(200);
        const body = JSON.parse(text) as { token: string };
        expect(typeof body.token, label).toBe("string");
        tokens[r.path.startsWith("/workers/") ? "worker" : "conductor"] = body.token;
        continue;
      }
      expect(
        r.headers.some(([n]) => n === "x-authorization"),
        label,
      ).toBe(true);

      if (r.step.includes("by a non-admin")) {
        // The refusal the SDK shows as "Failed to register workflow definition: <message>".
        expect(res.status, label).toBe(403);
        const body = JSON.parse(text) as Record<string, unknown>;
        expect(body, label).toMatchObject({ status: 403, code: "FORBIDDEN", retryable: false, requestId: res.headers.get("x-request-id") });
        expect(body.message, label).toMatch(/Conductor admins/);
        expect(body.error, label).toBeUndefined();
        continue;
      }
      expect(res.status, label).toBeGreaterThanOrEqual(200);
      expect(res.status, label).toBeLessThan(300);

      // Ids the SDK learnt from an answer and sent later: the stand-in's of now replace the recorded ones.
      const next = records[i + 1];
      if (r.method === "POST" && r.path === "/conductor/api/workflow" && next) {
        ids.set(UUID.exec(next.path)![0], text.trim());
      }
      if (r.path.includes("/tasks/poll/batch/") && next?.path.endsWith("/update-v2")) {
        const [task] = JSON.parse(text) as { taskId: string }[];
        expect(task, label).toBeDefined();
        ids.set((JSON.parse(next.rawBody) as { taskId: string }).taskId, task!.taskId);
      }
      if (r.path === "/conductor/api/workflow/search") {
        const body = JSON.parse(text) as { results: { workflowType: string }[] };
        expect(body.results.length, label).toBeGreaterThan(0);
        expect(JSON.stringify(body), label).not.toContain("INITECH___");
      }
      if (r.path.startsWith("/conductor/api/workflow/execute/")) {
        const run = JSON.parse(text) as { workflowId: string; requestId: string };
        expect(run.workflowId, label).toMatch(UUID);
        expect(run.requestId, label).toBe(new URLSearchParams(r.query).get("requestId"));
      }
    }
    console.log(`[replay] recorded -> now: ${seen.join(", ")}`);
    // The stand-in saw the worker's result once per update call, for the task it handed out.
    const state = (await s.state()) as { updates: { kind: string; taskId: string }[] };
    expect(state.updates.filter((u) => u.kind === "result").length).toBe(2);
  });
});
