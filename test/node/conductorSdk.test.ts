/**
 * Conductor's maintained JavaScript SDK (@io-orkes/conductor-javascript, pinned), unchanged and configured only as
 * its documentation says (`serverUrl`, `keyId`, `keySecret`), against the real Worker: the deployable bundle on
 * workerd (Miniflare, as `npm start` runs it), the run's real PostgreSQL, and the stateful stand-in Conductor
 * (test/setup/conductor.ts). The SDK logs in at `/api/token` and sends `X-Authorization` from then on.
 */
import { mkdirSync, rmSync } from "node:fs";
import { ConductorWorkflow, OrkesClients, TaskManager, simpleTask } from "@io-orkes/conductor-javascript";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildWorker, startRuntime, wranglerFacts } from "../../scripts/worker-runtime";

type Obj = Record<string, unknown>;

let mf: Miniflare;
let gateway: string;
let buildDir: string;
const tag = `sdk${Date.now().toString(36)}`;
const stub = (path: string) => `http://127.0.0.1:${inject("stubPort")}${path}`;

interface Key {
  id: string;
  key: string;
}

async function createKey(body: Obj): Promise<Key> {
  const res = await fetch(`${gateway}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${inject("adminKey")}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`key creation: ${res.status} ${await res.text()}`);
  return (await res.json()) as Key;
}

/** The SDK's own clients, set up exactly as its README shows. */
const clientsFor = (k: Key, route = "/conductor") => OrkesClients.from({ serverUrl: `${gateway}${route}`, keyId: k.id, keySecret: k.key });

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: (...a: unknown[]) => console.error("[sdk]", ...a) };

beforeAll(async () => {
  // Inside the repository (workerd refuses modules outside its starting directory), in the ignored .data/.
  buildDir = new URL(`../../.data/sdk-test-build-${process.pid}`, import.meta.url).pathname;
  mkdirSync(buildDir, { recursive: true });
  const scriptPath = buildWorker(buildDir);
  ({ mf, url: gateway } = await startRuntime({
    scriptPath,
    // FLOWGATE_TEST_PORT pins the port (a shared machine hands out ranges); otherwise any free one.
    port: Number(process.env.FLOWGATE_TEST_PORT ?? 0),
    compatibilityDate: wranglerFacts().compatibilityDate,
    bindings: {
      DATABASE_URL: inject("databaseUrl"),
      DB_WS_PROXY: inject("wsProxy"),
      CONDUCTOR_URL: stub(`/conductor/${tag}`),
      GATEWAY_TOKEN_SECRET: "node-test-gateway-token-secret-0123456789",
      LOG_LEVEL: "error",
    },
    onStdout: () => {},
  }));
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  rmSync(buildDir, { recursive: true, force: true });
});

describe("@io-orkes/conductor-javascript against flowgate", () => {
  it("registers, starts, reads, searches with defaults, terminates, works a task on the worker route and executes synchronously", async () => {
    const admin = await createKey({
      tenant: "INITECH",
      subject: "ann-admin",
      email: "ann@acme.example",
      roles: ["OWNER"],
      scopes: ["conductor"],
    });
    const workerKey = await createKey({ tenant: "ops", subject: "sdk-worker", scopes: ["worker"], servesTenants: ["INITECH"] });
    const clients = await clientsFor(admin);
    const metadata = clients.getMetadataClient();
    const executor = clients.getWorkflowClient();

    await metadata.registerTask({
      name: "sdk_say",
      description: "says hello",
      retryCount: 0,
      timeoutSeconds: 60,
      responseTimeoutSeconds: 30,
      ownerEmail: "ann@acme.example",
    } as never);
    const wf = new ConductorWorkflow(executor, "sdk_hello")
      .description('{"description":"greets","labels":["ops"]}')
      .add(simpleTask("say_ref", "sdk_say", { who: "${workflow.input.who}" }))
      .outputParameters({ greeting: "${say_ref.output.greeting}" })
      .timeoutSeconds(60);
    await wf.register(true);

    const id = await executor.startWorkflow({ name: "sdk_hello", version: 1, input: { who: "sdk" } });
    const started = await executor.getWorkflow(id, true);
    expect(started.workflowName).toBe("sdk_hello");
    expect(started.status).toBe("RUNNING");
    expect(started.tasks?.[0]?.taskType).toBe("sdk_say");

    const found = await executor.search(0, 10, "", "");
    expect(found.results?.map((r) => r.workflowId)).toContain(id);

    const doomed = await executor.startWorkflow({ name: "sdk_hello", version: 1, input: { who: "nobody" } });
    await executor.terminate(doomed, "not needed");
    expect((await executor.getWorkflow(doomed, false)).status).toBe("TERMINATED");

    // The SDK's own worker loop, on the worker route, with a worker credential.
    const workerClients = await clientsFor(workerKey, "/workers/conductor");
    const manager = new TaskManager(
      workerClients.getClient(),
      [
        {
          taskDefName: "sdk_say",
          execute: async (task) => ({ status: "COMPLETED", outputData: { greeting: `hello ${String((task.inputData as Obj).who)}` } }),
        },
      ],
      { logger: quiet, options: { workerID: "sdk-worker-1", pollInterval: 200, concurrency: 1 } },
    );
    manager.startPolling();
    try {
      let done = await executor.getWorkflow(id, false);
      for (let i = 0; i < 300 && done.status !== "COMPLETED"; i++) {
        // up to 30 s on a loaded machine
        await new Promise((r) => setTimeout(r, 100));
        done = await executor.getWorkflow(id, false);
      }
      expect(done.status).toBe("COMPLETED");
      expect(done.output).toEqual({ greeting: "hello sdk" });

      const run = await wf.execute({ who: "sync" });
      expect(run.status).toBe("COMPLETED");
      expect(run.output).toEqual({ greeting: "hello sync" });
      expect(JSON.stringify(run)).not.toContain("INITECH___");
    } finally {
      await manager.stopPolling();
    }

    // What Conductor received: the tenant's names, the tenant's domain, and no credential of any kind.
    const records = (await (await fetch(stub(`/conductor-admin/${tag}/records`))).json()) as {
      method: string;
      path: string;
      headers: Obj;
      body: string;
    }[];
    expect(records.some((r) => r.path.startsWith("/api/workflow/execute/INITECH___sdk_hello/1?requestId="))).toBe(true);
    const updates = records.filter((r) => r.method === "POST" && r.path === "/api/tasks");
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (const r of records) {
      expect(r.headers["x-authorization"]).toBeUndefined();
      expect(r.headers.authorization).toBeUndefined();
    }
  }, 60_000);

  it("a refused call shows flowgate's reason in the SDK's error", async () => {
    const bob = await createKey({ tenant: "INITECH", subject: "bob", groups: ["ops"], scopes: ["conductor"] });
    const clients = await clientsFor(bob);
    const refused = clients
      .getMetadataClient()
      .registerWorkflowDef(
        { name: "bob_own", version: 1, description: "x", tasks: [{ name: "sdk_say", taskReferenceName: "x", type: "SIMPLE" }] } as never,
        true,
      );
    await expect(refused).rejects.toThrow(/Failed to register workflow definition: writing workflow definitions is for Conductor admins/);
  }, 30_000);
});
