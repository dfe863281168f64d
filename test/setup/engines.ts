/**
 * Recording stand-ins for Argo Server and FlowAPI, one per tag, speaking the shapes the gateway relies on:
 *   /argo/<tag>/...      Argo Server: listings with items in several namespaces, archived workflows by uid, a
 *                        server-sent event stream that arrives in pieces, and an echo for everything else
 *   /flowapi/<tag>/...   FlowAPI: run -> 202 Location /api/0/poll/<id> -> 303 Location /api/0/get/<id> -> result
 *   /prefect/<tag>/graphql  Prefect 1.x Server's GraphQL API: answers `project`, `flow` and `create_flow_run` in
 *                        its shapes, and anything else with a GraphQL error (as a server that does not know it)
 *   /engine-records/<tag>  what each received (method, path, headers, body)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Kind, parse, type OperationDefinitionNode } from "graphql";

interface Rec {
  method: string;
  path: string;
  headers: Record<string, unknown>;
  body: string;
}
const records = new Map<string, Rec[]>();

const item = (ns: string, name: string) => ({
  metadata: { name, namespace: ns, uid: `uid-${ns}-${name}` },
  status: { phase: "Succeeded" },
});
/** An answer that never ends: 64 KiB chunks for as long as the reader keeps reading (respecting backpressure). */
function endless(res: ServerResponse, contentType: string): void {
  res.writeHead(200, { "content-type": contentType });
  const chunk = Buffer.alloc(65_536, "x");
  let open = true;
  res.on("close", () => (open = false));
  const pump = () => {
    while (open && res.write(chunk));
    if (open) res.once("drain", pump);
  };
  pump();
}

const ARCHIVED: Record<string, string> = { "uid-alpha": "alpha", "uid-beta": "beta", "uid-secret": "secret" };

function argo(rest: string, method: string, body: string, res: ServerResponse): void {
  const json = (status: number, v: unknown): void =>
    void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
  const path = rest.split("?")[0]!;
  if (path === "/" || path === "/index.html")
    return void res.writeHead(200, { "content-type": "text/html" }).end('<html><base href="/argo/"></html>');
  if (path.endsWith(".js")) return void res.writeHead(200, { "content-type": "text/javascript" }).end("console.log('ui')");
  if (/^\/api\/v1\/workflows\/[^/]+\/endless\/log$/.test(path)) return endless(res, "application/json");
  const everywhere = ["alpha", "beta", "secret"].map((ns) => item(ns, "wf-1"));
  if (
    method === "GET" &&
    (path === "/api/v1/workflows/" || path === "/api/v1/archived-workflows/" || path === "/api/v1/archived-workflows")
  ) {
    return json(200, { metadata: {}, items: everywhere });
  }
  // A listing in a shape Argo never answers (a bare array), to prove the gateway refuses what it cannot filter.
  if (method === "GET" && path === "/api/v1/workflow-templates/") return json(200, everywhere);
  const arch = /^\/api\/v1\/archived-workflows\/([^/]+)(\/.*)?$/.exec(path);
  if (arch) {
    const ns = ARCHIVED[arch[1]!];
    if (!ns) return json(404, { code: 5, message: "not found" });
    if (method === "GET" && !arch[2]) return json(200, item(ns, "archived"));
    return json(200, { done: `${method} ${path}` });
  }
  const events = /^\/api\/v1\/(workflow-events|stream\/events)\/([^/]+)/.exec(path);
  if (events) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(`data: ${JSON.stringify({ result: { type: "ADDED", object: item(events[2]!, "first") } })}\n\n`);
    setTimeout(() => {
      res.write(`data: ${JSON.stringify({ result: { type: "MODIFIED", object: item(events[2]!, "second") } })}\n\n`);
      res.end();
    }, 400);
    return;
  }
  // GetWorkflow with `uid`: Argo falls back to the archive, which it looks up by uid alone
  // (persist/sqldb/workflow_archive.go GetWorkflow), whatever the path's namespace.
  const byUid = /^\/api\/v1\/workflows\/[^/]+\/[^/]+$/.test(path) ? new URLSearchParams(rest.split("?")[1] ?? "").get("uid") : null;
  if (method === "GET" && byUid && ARCHIVED[byUid]) {
    // `fields` keeps only the paths it lists (Argo's fields.Cleaner): `metadata.name` keeps metadata's name alone.
    const fields = new URLSearchParams(rest.split("?")[1] ?? "").get("fields");
    const full = item(ARCHIVED[byUid]!, "archived");
    if (!fields) return json(200, full);
    const kept: Record<string, unknown> = {};
    for (const f of fields.split(",")) {
      if (f === "status") kept.status = full.status;
      if (f === "metadata.name") kept.metadata = { name: full.metadata.name };
    }
    return json(200, kept);
  }
  const list = /^\/api\/v1\/(workflows|workflow-templates|cron-workflows)\/([^/]+)$/.exec(path);
  if (list && method === "GET") return json(200, { items: [item(list[2]!, "wf-1")] });
  json(200, { echo: { method, path: rest, body: body === "" ? null : JSON.parse(body) } });
}

function flowapi(rest: string, method: string, res: ServerResponse): void {
  const path = rest.split("?")[0]!;
  if (method === "POST" && path === "/api/0/run") {
    return void res
      .writeHead(202, { location: "/api/0/poll/0123456789abcdef0123456789abcdef", "content-type": "application/json" })
      .end("{}");
  }
  const poll = /^\/api\/0\/poll\/([^/]+)$/.exec(path);
  if (poll) return void res.writeHead(303, { location: `/api/0/get/${poll[1]}` }).end();
  if (path === "/api/0/get/endless") return endless(res, "application/json");
  const get = /^\/api\/0\/get\/([^/]+)$/.exec(path);
  if (get)
    return void res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ query_id: get[1], query_result: [{ pcod: "NPL.1", value: 3 }] }));
  if (path.startsWith("/api/0/geography/") || path === "/api/0/available_dates" || path.startsWith("/api/0/spec/")) {
    return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: path }));
  }
  res.writeHead(404).end();
}

const PREFECT_FLOW_ID = "f1f1f1f1-0000-4000-8000-000000000001";

/** What a Prefect 1.x Server answers, by root field; only what the recorded clients ask for. */
function prefect(body: string, res: ServerResponse): void {
  const json = (v: unknown): void => void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(v));
  let fields: string[];
  try {
    const { query } = JSON.parse(body) as { query: string };
    const op = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    fields = op.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
  } catch {
    return void res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: "bad request" }] }));
  }
  const data: Record<string, unknown> = {};
  for (const f of fields) {
    if (f === "project")
      data[f] = [{ name: "etl", created: "2026-11-02T09:00:00+00:00", description: null, flows_aggregate: { aggregate: { count: 1 } } }];
    else if (f === "flow") data[f] = [{ id: PREFECT_FLOW_ID, name: "nightly" }];
    else if (f === "create_flow_run") data[f] = { id: "e2e2e2e2-0000-4000-8000-000000000002" };
    else
      return json({ data: null, errors: [{ message: `stand-in does not serve ${f}`, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }] });
  }
  json({ data });
}

export function handleEngines(req: IncomingMessage, url: URL, body: string, res: ServerResponse): boolean {
  const recs = /^\/engine-records\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
  if (recs) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(records.get(recs[1]!) ?? []));
    return true;
  }
  const m = /^\/(argo|flowapi|prefect)\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(url.pathname);
  if (!m) return false;
  const rest = `${m[3] ?? "/"}${url.search}`;
  const list = records.get(m[2]!) ?? [];
  list.push({ method: req.method ?? "", path: rest, headers: req.headers, body });
  records.set(m[2]!, list);
  if (m[1] === "argo") argo(rest, req.method ?? "GET", body, res);
  else if (m[1] === "prefect") prefect(body, res);
  else flowapi(rest, req.method ?? "GET", res);
  return true;
}
