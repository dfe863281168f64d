/**
 * A stateful stand-in for Netflix Conductor (and Schellar), speaking the shapes of the real REST API as the
 * fixtures in test/fixtures/conductor show them, one independent instance per tag:
 *   /conductor/<tag>/api/...   the Conductor API (CONDUCTOR_URL = http://127.0.0.1:<port>/conductor/<tag>)
 *   /schellar/<tag>/schedule   Schellar (SCHELLAR_URL = http://127.0.0.1:<port>/schellar/<tag>)
 *   /conductor-admin/<tag>/seed|records|fault|state   test control: seed data, read what was received, break things
 * Like the real server it trusts whatever it is sent and keeps every tenant's data side by side: search and list
 * endpoints answer with everything, so the gateway's own filtering is what the tests observe.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

type Obj = Record<string, unknown>;

export interface ConductorRecord {
  method: string;
  path: string;
  headers: Record<string, unknown>;
  body: string;
}

interface Instance {
  workflowDefs: Obj[];
  taskDefs: Obj[];
  executions: Map<string, Obj>;
  tasks: Map<string, Obj>;
  logs: Map<string, unknown[]>;
  events: Obj[];
  schedules: Obj[];
  queues: Record<string, number>;
  /** Tasks waiting to be polled, by queue (`<domain>:<taskType>`). */
  pending: Map<string, Obj[]>;
  /** Task results, acks and logs workers sent. */
  updates: { kind: string; taskId: string; body: unknown }[];
  queuesVerbose: Obj;
  records: ConductorRecord[];
  /** Path prefix -> what to do instead of answering. */
  faults: { pathPrefix: string; kind: "malformed" | "error500" | "slow" | "wrongShape" | "deep" }[];
}

const instances = new Map<string, Instance>();

function instance(tag: string): Instance {
  let i = instances.get(tag);
  if (!i) {
    i = {
      workflowDefs: [],
      taskDefs: [],
      executions: new Map(),
      tasks: new Map(),
      logs: new Map(),
      events: [],
      schedules: [],
      queues: {},
      pending: new Map(),
      updates: [],
      queuesVerbose: {},
      records: [],
      faults: [],
    };
    instances.set(tag, i);
  }
  return i;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
};
const text = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "text/plain" }).end(body);
};
const empty = (res: ServerResponse): void => void res.writeHead(200).end();
const notFound = (res: ServerResponse, message: string) => json(res, 404, { status: 404, message, retryable: false });
const conflict = (res: ServerResponse, message: string) => json(res, 409, { status: 409, message, retryable: false });

const parse = (body: string): unknown => {
  try {
    return body === "" ? undefined : JSON.parse(body);
  } catch {
    return undefined;
  }
};

function latest(defs: Obj[], name: string, version: string | null): Obj | undefined {
  const matching = defs.filter((d) => d.name === name && (version === null || String(d.version ?? 1) === version));
  return matching.sort((a, b) => Number(b.version ?? 1) - Number(a.version ?? 1))[0];
}

function upsert(list: Obj[], item: Obj, key: (o: Obj) => string): void {
  const i = list.findIndex((o) => key(o) === key(item));
  if (i === -1) list.push(item);
  else list[i] = item;
}

const defKey = (d: Obj) => `${String(d.name)}:${String(d.version ?? 1)}`;

/**
 * Starts a workflow as Conductor does (the first SIMPLE task queued in its domain); null when no such definition.
 * Idempotency as Orkes Conductor documents it (orkes.io/content/idempotency; conductor-oss carries the fields in
 * StartWorkflowRequest and StartWorkflowInput): a key is looked up per workflow name, whoever started the
 * execution that holds it; RETURN_EXISTING answers with that execution's id, FAIL (the default) refuses with 409,
 * FAIL_ON_RUNNING refuses while it is RUNNING or PAUSED and starts a new one otherwise.
 */
function startWorkflow(inst: Instance, req: Obj): string | null | { conflict: string } {
  const def = latest(inst.workflowDefs, String(req.name), req.version === undefined || req.version === null ? null : String(req.version));
  if (!def) return null;
  const key = typeof req.idempotencyKey === "string" && req.idempotencyKey !== "" ? req.idempotencyKey : null;
  if (key !== null) {
    const existing = [...inst.executions.values()].find((x) => x.workflowName === req.name && x.idempotencyKey === key);
    const strategy = req.idempotencyStrategy ?? "FAIL";
    if (existing && strategy === "RETURN_EXISTING") return String(existing.workflowId);
    if (existing && (strategy === "FAIL" || ["RUNNING", "PAUSED"].includes(String(existing.status)))) {
      return { conflict: `Workflow with idempotency key ${key} already exists: ${String(existing.workflowId)}` };
    }
  }
  const id = randomUUID();
  // Like Conductor, schedule the first task (a SIMPLE one lands in its domain's queue for workers).
  const first = Array.isArray(def.tasks) ? (def.tasks as Obj[])[0] : undefined;
  const domain = (req.taskToDomain as Record<string, string> | undefined)?.["*"];
  const tasks: Obj[] = [];
  if (first && (first.type ?? "SIMPLE") === "SIMPLE") {
    const task: Obj = {
      taskId: randomUUID(),
      taskType: first.name,
      taskDefName: first.name,
      referenceTaskName: first.taskReferenceName,
      status: "SCHEDULED",
      domain,
      workflowInstanceId: id,
      workflowType: req.name,
      correlationId: req.correlationId,
      inputData: req.input ?? {},
    };
    tasks.push(task);
    inst.tasks.set(String(task.taskId), task);
    const queue = `${domain ? `${domain}:` : ""}${String(first.name)}`;
    inst.pending.set(queue, [...(inst.pending.get(queue) ?? []), task]);
  }
  inst.executions.set(id, {
    workflowId: id,
    workflowName: req.name,
    workflowType: req.name,
    version: def.version ?? 1,
    workflowVersion: def.version ?? 1,
    correlationId: req.correlationId,
    taskToDomain: req.taskToDomain,
    priority: req.priority ?? 0,
    input: req.input ?? {},
    externalInputPayloadStoragePath: req.externalInputPayloadStoragePath,
    output: {},
    status: "RUNNING",
    tasks,
    startTime: Date.now(),
    workflowDefinition: def,
    ...(key !== null ? { idempotencyKey: key, idempotencyStrategy: req.idempotencyStrategy } : {}),
  });
  return id;
}

function conductorApi(inst: Instance, method: string, seg: string[], q: URLSearchParams, body: unknown, res: ServerResponse): void {
  const [a, b, c, d, e] = seg;
  const route = `${method} ${seg.map((s, i) => (i < 2 ? s : "_")).join("/")}`;
  // Workflow definitions
  if (a === "metadata" && b === "workflow") {
    if (method === "GET" && seg.length === 2) return json(res, 200, inst.workflowDefs);
    if (method === "GET" && seg.length === 3) {
      const def = latest(inst.workflowDefs, c!, q.get("version"));
      return def ? json(res, 200, def) : notFound(res, `No such workflow found by name: ${c}, version: ${q.get("version")}`);
    }
    if (method === "POST" && seg.length === 2) {
      const def = body as Obj;
      if (inst.workflowDefs.some((x) => defKey(x) === defKey(def))) return conflict(res, `Workflow with ${defKey(def)} already exists!`);
      inst.workflowDefs.push(def);
      return empty(res);
    }
    if (method === "PUT" && seg.length === 2) {
      for (const def of body as Obj[]) upsert(inst.workflowDefs, def, defKey);
      return json(res, 200, { bulkErrorResults: {}, bulkSuccessfulResults: (body as Obj[]).map((x) => x.name) });
    }
    if (method === "DELETE" && seg.length === 4) {
      const before = inst.workflowDefs.length;
      inst.workflowDefs = inst.workflowDefs.filter((x) => defKey(x) !== `${c}:${d}`);
      return before === inst.workflowDefs.length ? notFound(res, `No such workflow definition: ${c} version: ${d}`) : empty(res);
    }
  }
  // Task definitions
  if (a === "metadata" && b === "taskdefs") {
    if (method === "GET" && seg.length === 2) return json(res, 200, inst.taskDefs);
    if (method === "GET" && seg.length === 3) {
      const def = inst.taskDefs.find((x) => x.name === c);
      return def ? json(res, 200, def) : notFound(res, `No such taskType found by name: ${c}`);
    }
    if (method === "POST") {
      for (const def of body as Obj[]) upsert(inst.taskDefs, def, (x) => String(x.name));
      return empty(res);
    }
    if (method === "PUT") {
      upsert(inst.taskDefs, body as Obj, (x) => String(x.name));
      return empty(res);
    }
    if (method === "DELETE" && seg.length === 3) {
      inst.taskDefs = inst.taskDefs.filter((x) => x.name !== c);
      return empty(res);
    }
  }
  if (a === "workflow") {
    if (method === "POST" && seg.length === 1) {
      const req = body as Obj;
      const id = startWorkflow(inst, req);
      if (!id) return notFound(res, `No such workflow defined. name=${String(req.name)}, version=${String(req.version)}`);
      if (typeof id === "object") return conflict(res, id.conflict);
      return text(res, 200, id);
    }
    // Synchronous execution (Conductor's WorkflowResourceSync): the path names the workflow; the run is answered
    // once it is terminal or has reached `waitUntilTaskRef`, or after `waitForSeconds` (Orkes's parameter; 5 s, as
    // Conductor's own wait, when not given).
    if (method === "POST" && b === "execute" && seg.length === 4) {
      const req = { ...((body as Obj) ?? {}), name: c, version: Number(d) };
      if (!q.get("requestId"))
        return json(res, 400, { status: 400, message: "Required request parameter 'requestId' is not present", retryable: false });
      const started = startWorkflow(inst, req);
      if (!started) return notFound(res, `No such workflow defined. name=${String(c)}, version=${String(d)}`);
      if (typeof started === "object") return conflict(res, started.conflict);
      const id = started;
      const until = q.get("waitUntilTaskRef");
      const waitMs = Math.min(Number(q.get("waitForSeconds") ?? 5), 10) * 1000;
      const since = Date.now();
      const answer = () => {
        const x = inst.executions.get(id)!;
        const done =
          ["COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT"].includes(String(x.status)) ||
          (!!until && (x.tasks as Obj[]).some((t) => t.referenceTaskName === until));
        if (!done && Date.now() - since < waitMs) return void setTimeout(answer, 50);
        json(res, 200, {
          workflowId: x.workflowId,
          requestId: q.get("requestId"),
          correlationId: x.correlationId,
          input: x.input,
          output: x.output,
          tasks: x.tasks,
          priority: x.priority,
          createTime: x.startTime,
          status: x.status,
          variables: {},
        });
      };
      return answer();
    }

    if (method === "GET" && (b === "search" || b === "search-v2")) {
      const all = [...inst.executions.values()];
      const results =
        b === "search"
          ? all.map((x) => ({
              workflowId: x.workflowId,
              workflowType: x.workflowType,
              version: x.version,
              correlationId: x.correlationId,
              status: x.status,
              startTime: String(x.startTime ?? ""),
            }))
          : all;
      return json(res, 200, { totalHits: results.length, results });
    }
    if (b === "bulk") {
      const ids = (body as string[]) ?? [];
      const status = { pause: "PAUSED", resume: "RUNNING", retry: "RUNNING", restart: "RUNNING", terminate: "TERMINATED" }[c!] ?? "?";
      const out: Obj = { bulkErrorResults: {}, bulkSuccessfulResults: [] };
      for (const id of ids) {
        const x = inst.executions.get(id);
        if (x) {
          x.status = status;
          (out.bulkSuccessfulResults as string[]).push(id);
        } else (out.bulkErrorResults as Obj)[id] = `No such workflow found by id: ${id}`;
      }
      return json(res, 200, out);
    }
    if (method === "GET" && b === "running") {
      return json(
        res,
        200,
        [...inst.executions.values()].filter((x) => x.workflowType === c && x.status === "RUNNING").map((x) => x.workflowId),
      );
    }
    if (method === "GET" && b === "externalstoragelocation") {
      const path = q.get("path") || `workflow/${randomUUID()}.json`;
      return json(res, 200, { uri: `https://payloads.example/${path}?signed`, path });
    }
    const exec = b ? inst.executions.get(b) : undefined;
    if (!exec) return notFound(res, `No such workflow found by id: ${b}`);
    if (method === "GET" && seg.length === 2) return json(res, 200, q.get("includeTasks") === "false" ? { ...exec, tasks: [] } : exec);
    if (method === "DELETE" && c === "remove") {
      inst.executions.delete(b!);
      return empty(res);
    }
    if (method === "DELETE" && seg.length === 2) {
      exec.status = "TERMINATED";
      exec.reasonForIncompletion = q.get("reason");
      return empty(res);
    }
    const next = {
      pause: "PAUSED",
      resume: "RUNNING",
      restart: "RUNNING",
      retry: "RUNNING",
      rerun: "RUNNING",
      skiptask: exec.status,
      resetcallbacks: exec.status,
    }[c!];
    if (next !== undefined) {
      exec.status = next;
      return c === "rerun" ? text(res, 200, b!) : empty(res);
    }
  }
  if (a === "tasks") {
    if (method === "GET" && b === "poll") {
      const batch = c === "batch";
      const type = batch ? d! : c!;
      const queue = `${q.get("domain") ?? ""}${q.get("domain") ? ":" : ""}${type}`;
      const count = batch ? Number(q.get("count") ?? 1) : 1;
      const take = () => {
        const waiting = inst.pending.get(queue) ?? [];
        const got = waiting.splice(0, count);
        for (const t of got) {
          t.status = "IN_PROGRESS";
          t.workerId = q.get("workerid");
          inst.tasks.set(String(t.taskId), t);
        }
        return got;
      };
      const first = take();
      const answer = (got: Obj[]) => (batch ? json(res, 200, got) : got[0] ? json(res, 200, got[0]) : res.writeHead(204).end());
      const timeout = Number(q.get("timeout") ?? 0);
      if (first.length > 0 || timeout <= 0) return void answer(first);
      return void setTimeout(() => answer(take()), Math.min(timeout, 5_000));
    }
    if (method === "POST" && seg.length === 1) {
      const r = body as Obj;
      inst.updates.push({ kind: "result", taskId: String(r.taskId), body: r });
      const t = inst.tasks.get(String(r.taskId));
      if (t) {
        t.status = r.status;
        t.outputData = r.outputData;
        const x = inst.executions.get(String(t.workflowInstanceId));
        if (x && r.status === "COMPLETED" && (x.tasks as Obj[]).every((y) => y.status === "COMPLETED")) {
          x.status = "COMPLETED";
          x.output = r.outputData ?? {};
        }
      }
      return text(res, 200, String(r.taskId));
    }
    if (method === "POST" && c === "ack") {
      inst.updates.push({ kind: "ack", taskId: b!, body: null });
      return text(res, 200, "true");
    }
    if (method === "POST" && c === "log") {
      inst.updates.push({ kind: "log", taskId: b!, body });
      return empty(res);
    }
    if (method === "GET" && b === "queue" && c === "all" && d === "verbose") return json(res, 200, inst.queuesVerbose);
    if (method === "GET" && b === "queue" && c === "all") return json(res, 200, inst.queues);
    if (method === "GET" && b === "queue" && c === "sizes") {
      const out: Record<string, number> = {};
      for (const t of q.getAll("taskType")) out[t] = inst.pending.get(t)?.length ?? inst.queues[t] ?? 0;
      return json(res, 200, out);
    }
    if (method === "GET" && b === "externalstoragelocation") {
      const path = q.get("path") || `task/${randomUUID()}.json`;
      return json(res, 200, { uri: `https://payloads.example/${path}?signed`, path });
    }
    if (method === "GET" && b && c === "log") return json(res, 200, inst.logs.get(b) ?? []);
    if (method === "GET" && b && seg.length === 2) {
      const t = inst.tasks.get(b);
      return t ? json(res, 200, t) : notFound(res, `No such task found by id: ${b}`);
    }
  }
  if (a === "event") {
    if (method === "GET" && seg.length === 1) return json(res, 200, inst.events);
    if (method === "GET" && seg.length === 2)
      return json(
        res,
        200,
        inst.events.filter((h) => h.event === b),
      );
    if ((method === "POST" || method === "PUT") && seg.length === 1) {
      const h = body as Obj;
      if (method === "POST" && inst.events.some((x) => x.name === h.name))
        return conflict(res, `EventHandler with name ${String(h.name)} already exists!`);
      upsert(inst.events, h, (x) => String(x.name));
      return empty(res);
    }
    if (method === "DELETE" && seg.length === 2) {
      inst.events = inst.events.filter((x) => x.name !== b);
      return empty(res);
    }
  }
  void e;
  json(res, 404, { status: 404, message: `stub: no route ${route}` });
}

function schellarApi(inst: Instance, method: string, seg: string[], body: unknown, res: ServerResponse): void {
  const [, name] = seg;
  if (method === "GET" && !name) return json(res, 200, inst.schedules);
  if (method === "POST" && !name) {
    inst.schedules.push(body as Obj);
    return json(res, 201, { message: "created" });
  }
  const s = inst.schedules.find((x) => x.name === name);
  if (!s) return json(res, 404, { message: "schedule not found" });
  if (method === "GET") return json(res, 200, s);
  if (method === "PUT") {
    upsert(inst.schedules, body as Obj, (x) => String(x.name));
    return empty(res);
  }
  if (method === "DELETE") {
    inst.schedules = inst.schedules.filter((x) => x.name !== name);
    return empty(res);
  }
  json(res, 404, { message: "no route" });
}

/** Handles the request when it is one of this stub's; false otherwise. */
export function handleConductor(req: IncomingMessage, url: URL, rawBody: string, res: ServerResponse): boolean {
  const m = /^\/(conductor|schellar|conductor-admin)\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(url.pathname);
  if (!m) return false;
  const [, kind, tag, rest = "/"] = m;
  const inst = instance(tag!);
  const method = req.method ?? "GET";
  const body = parse(rawBody);
  if (kind === "conductor-admin") {
    if (rest === "/records") return (json(res, 200, inst.records), true);
    if (rest === "/state") {
      const pending = Object.fromEntries([...inst.pending].map(([k, v]) => [k, v.length]));
      return (json(res, 200, { ...inst, executions: [...inst.executions.values()], tasks: [...inst.tasks.values()], pending }), true);
    }
    if (rest === "/fault") {
      const f = body as Instance["faults"][number] | { clear: true };
      if ("clear" in f) inst.faults = [];
      else inst.faults.push(f);
      return (res.writeHead(204).end(), true);
    }
    if (rest === "/seed") {
      const s = body as Obj;
      if (Array.isArray(s.workflowDefs)) {
        // Indexed once: tests seed tens of thousands of definitions (the largest listing, test/engines/conductor).
        const at = new Map(inst.workflowDefs.map((d, i) => [defKey(d), i]));
        for (const d of s.workflowDefs as Obj[]) {
          const i = at.get(defKey(d));
          if (i === undefined) at.set(defKey(d), inst.workflowDefs.push(d) - 1);
          else inst.workflowDefs[i] = d;
        }
      }
      if (Array.isArray(s.taskDefs)) for (const d of s.taskDefs as Obj[]) upsert(inst.taskDefs, d, (x) => String(x.name));
      if (Array.isArray(s.executions)) for (const x of s.executions as Obj[]) inst.executions.set(String(x.workflowId), x);
      if (Array.isArray(s.tasks)) for (const t of s.tasks as Obj[]) inst.tasks.set(String(t.taskId), t);
      if (s.logs && typeof s.logs === "object") for (const [k, v] of Object.entries(s.logs as Obj)) inst.logs.set(k, v as unknown[]);
      if (Array.isArray(s.events)) for (const h of s.events as Obj[]) upsert(inst.events, h, (x) => String(x.name));
      if (Array.isArray(s.schedules)) for (const x of s.schedules as Obj[]) upsert(inst.schedules, x, (y) => String(y.name));
      if (s.queues) inst.queues = s.queues as Record<string, number>;
      if (s.queuesVerbose) inst.queuesVerbose = s.queuesVerbose as Obj;
      // fill: [{tenant, taskType, count}] queues `count` tasks of tenant's task type in its domain.
      if (Array.isArray(s.fill)) {
        for (const f of s.fill as { tenant: string; taskType: string; count: number; workflowType?: string }[]) {
          const queue = `${f.tenant}:${f.taskType.startsWith("GLOBAL___") ? f.taskType : `${f.tenant}___${f.taskType}`}`;
          const list = inst.pending.get(queue) ?? [];
          for (let i = 0; i < f.count; i++) {
            const taskId = randomUUID();
            const workflowId = randomUUID();
            const type = queue.slice(queue.indexOf(":") + 1);
            list.push({
              taskId,
              taskType: type,
              taskDefName: type,
              referenceTaskName: `ref_${i}`,
              status: "SCHEDULED",
              domain: f.tenant,
              workflowInstanceId: workflowId,
              workflowType: f.workflowType ?? `${f.tenant}___wf`,
              correlationId: "someone",
              inputData: { n: i },
            });
            // Its workflow, as GET /api/workflow/{id} shows it (with the definition, as Conductor's Workflow does).
            const wfType = f.workflowType ?? `${f.tenant}___wf`;
            inst.executions.set(workflowId, {
              workflowId,
              workflowName: wfType,
              workflowType: wfType,
              correlationId: "someone",
              status: "RUNNING",
              tasks: [],
              workflowDefinition: { name: wfType, version: 1, tasks: [{ name: type, taskReferenceName: `ref_${i}`, type: "SIMPLE" }] },
            });
          }
          inst.pending.set(queue, list);
        }
      }
      return (res.writeHead(204).end(), true);
    }
    return (json(res, 404, {}), true);
  }
  inst.records.push({ method, path: `${rest}${url.search}`, headers: req.headers, body: rawBody });
  const fault = inst.faults.find((f) => rest.startsWith(f.pathPrefix));
  if (fault?.kind === "malformed")
    return (res.writeHead(200, { "content-type": "application/json" }).end('{"workflowId": "x", "tasks": ['), true);
  if (fault?.kind === "wrongShape") return (json(res, 200, "just a string"), true);
  if (fault?.kind === "deep") {
    const nested = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    return (
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(
          `{"workflowId":"fb-1","workflowType":"FACEBOOK___wfA","workflowName":"FACEBOOK___wfA","correlationId":"alice","input":${nested}}`,
        ),
      true
    );
  }
  if (fault?.kind === "error500")
    return (json(res, 500, { status: 500, message: "java.lang.NullPointerException at com.netflix.conductor" }), true);
  if (fault?.kind === "slow") return (void setTimeout(() => json(res, 200, {}), 3_000), true);
  const seg = rest
    .split("/")
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  if (kind === "schellar") schellarApi(inst, method, seg, body, res);
  else if (seg[0] === "api") conductorApi(inst, method, seg.slice(1), url.searchParams, body, res);
  else json(res, 404, { message: "not an api path" });
  return true;
}
