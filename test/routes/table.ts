/**
 * Every route the app serves, in one table: the route-table suite (test/routes/routes.test.ts) checks it against
 * the routes Hono actually registered (a route without an entry fails), and runs every check of issue 17 on every
 * entry; the property tests (test/fuzz/routes.fuzz.test.ts) draw their requests from it.
 *
 * Adding a route = adding one entry: its method and pattern exactly as registered, the credential it takes, a
 * request it answers (`sample`), the key it needs (`grant`), what a valid credential without the grant answers
 * (`lacking`), another tenant's object (`foreign`) and, when it reads a JSON body, the request that does (`json`).
 * Placeholders in paths and bodies: `{mine}` / `{theirs}` are Argo workspaces of the suite's own (the grant enters
 * the first only), `{tag}` is unique per run. Conductor objects are those of `seedTwoTenants` (FACEBOOK = the
 * caller, OTHER = another tenant).
 */

/** Which credentials a route takes. `public`: none needed; `key`: a flowgate key or JWT; `flowauth`: a FlowAuth token. */
export type Credential = "public" | "key" | "flowauth";

/** The keys (and FlowAuth tokens) the suite makes; `plain` (a tenant, no scope, no role) is the lacking one. */
export type Grant = "any" | "admin" | "conductorAdmin" | "worker" | "prefect" | "argo" | "flowauthRun" | "flowauthAll";

export interface SampleRequest {
  method: string;
  path: string;
  body?: unknown;
  /** Sent as text with this content type instead of JSON. */
  text?: string;
  /** Headers the request carries (the test's own, credential included, are added over them). */
  headers?: Record<string, string>;
}

export interface RouteEntry {
  engine: "gateway" | "admin" | "prefect" | "conductor" | "workers" | "argo" | "flowapi";
  /** As Hono registered it (ALL for `all`/`on` with every method). */
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "ALL";
  pattern: string;
  credential: Credential;
  /** A request this route answers. */
  sample: SampleRequest;
  /** What a `public` route's sample answers without a credential, when not 200 (a redirect to a login, say). */
  publicStatus?: number;
  /** Requests of this route answered (200) without any credential (the Argo UI's own files). */
  publicSamples?: string[];
  /** The credential that holds what the route needs. */
  grant: Grant;
  /** What a valid credential without the grant answers; null when any valid credential will do. */
  lacking: { status: 403 | 404 } | null;
  /** Another tenant's object: the request naming it, its answer, and a text of it that must not appear. */
  foreign?: { request: SampleRequest; status: number; marker: string };
  /**
   * The request of this route that reads a JSON body: an otherwise acceptable body with `DEEP` where the test puts
   * a value nested deeper than MAX_JSON_DEPTH.
   */
  json?: SampleRequest;
}

/** Where a JSON body template takes the deeply nested value. */
export const DEEP = "__DEEP__";

const GRAPHQL_ACCEPT = { accept: "application/graphql-response+json" };
const get = (path: string): SampleRequest => ({ method: "GET", path });
const post = (path: string, body: unknown = {}): SampleRequest => ({ method: "POST", path, body });
const put = (path: string, body: unknown = {}): SampleRequest => ({ method: "PUT", path, body });
const del = (path: string, body?: unknown): SampleRequest => ({ method: "DELETE", path, body });

const admin = (method: RouteEntry["method"], pattern: string, sample: SampleRequest, json?: Record<string, unknown>): RouteEntry => ({
  engine: "admin",
  method,
  pattern,
  credential: "key",
  sample,
  grant: "admin",
  lacking: { status: 403 },
  ...(json ? { json: { ...sample, body: json } } : {}),
});

/** A Conductor route: the FACEBOOK admin's key, 403 without scope `conductor`. */
const conductor = (method: RouteEntry["method"], pattern: string, sample: SampleRequest, extra: Partial<RouteEntry> = {}): RouteEntry => ({
  engine: "conductor",
  method,
  pattern,
  credential: "key",
  sample,
  grant: "conductorAdmin",
  lacking: { status: 403 },
  ...extra,
});

/** An action on one execution: the sample names no execution, the foreign one OTHER's `ot-1` (404, never acted on). */
const action = (method: "PUT" | "POST" | "DELETE", suffix: string, body?: unknown): RouteEntry => {
  const path = (id: string) => `/conductor/api/workflow/${id}${suffix.replace(":taskReferenceName", "step1")}`;
  const req = (id: string): SampleRequest => ({ method, path: path(id), body });
  return conductor(method, `/conductor/api/workflow/:workflowId${suffix}`, req("rt-none"), {
    foreign: { request: req("ot-1"), status: 404, marker: "OTHER" },
    ...(body !== undefined
      ? {
          json: {
            method,
            path: path("fb-1"),
            body: suffix === "/rerun" ? { reRunFromWorkflowId: "fb-1", workflowInput: { x: DEEP } } : { taskInput: { x: DEEP } },
          },
        }
      : {}),
  });
};

const bulk = (method: "PUT" | "POST" | "DELETE", op: string): RouteEntry => {
  const path = `/conductor/api/workflow/bulk/${op}`;
  return conductor(
    method,
    path,
    { method, path, body: ["rt-none"] },
    {
      // Another tenant's id is reported as not found, and never acted on.
      foreign: { request: { method, path, body: ["ot-1"] }, status: 200, marker: "OTHER" },
      json: { method, path, body: ["fb-1", DEEP] },
    },
  );
};

const workers = (method: RouteEntry["method"], pattern: string, sample: SampleRequest, extra: Partial<RouteEntry> = {}): RouteEntry => ({
  engine: "workers",
  method,
  pattern,
  credential: "key",
  sample,
  grant: "worker",
  lacking: { status: 403 },
  ...extra,
});

/**
 * The Conductor SDKs' login: the credential is in the body (a key's id and the key), so the route takes no header
 * credential; a pair that is not a live key's is a 401 in Conductor's shape.
 */
const tokenLogin = (path: string): RouteEntry => ({
  engine: path.startsWith("/workers") ? "workers" : "conductor",
  method: "POST",
  pattern: path,
  credential: "public",
  sample: post(path, { keyId: "zzzzzzzzzzzz", keySecret: "fgk_not-a-key" }),
  publicStatus: 401,
  grant: "any",
  lacking: null,
  json: post(path, { keyId: DEEP, keySecret: "fgk_not-a-key" }),
});

const argoArtifacts = (kind: string): RouteEntry => ({
  engine: "argo",
  method: "GET",
  pattern: `/argo/${kind}/*`,
  credential: "key",
  sample: get(`/argo/${kind}/{mine}/wf-1/node-1/out`),
  grant: "argo",
  lacking: { status: 403 },
  foreign: { request: get(`/argo/${kind}/{theirs}/wf-1/node-1/out`), status: 403, marker: "uid-" },
});

const argoByUid = (kind: string): RouteEntry => ({
  engine: "argo",
  method: "GET",
  pattern: `/argo/${kind}/*`,
  credential: "key",
  sample: get(`/argo/${kind}/uid-alpha/node-1/out`),
  grant: "argo",
  // A uid reveals nothing: not entering its workspace answers as if it did not exist.
  lacking: { status: 404 },
  foreign: { request: get(`/argo/${kind}/uid-secret/node-1/out`), status: 404, marker: "uid-secret-" },
});

const flowapi = (
  method: RouteEntry["method"],
  pattern: string,
  sample: SampleRequest,
  grant: Grant,
  lacking: RouteEntry["lacking"],
  extra: Partial<RouteEntry> = {},
): RouteEntry => ({
  engine: "flowapi",
  method,
  pattern,
  credential: "flowauth",
  sample,
  grant,
  lacking,
  ...extra,
});

const QUERY_ID = "0123456789abcdef0123456789abcdef";
export const FLOWAPI_QUERY = {
  query_kind: "spatial_aggregate",
  locations: { query_kind: "daily_location", date: "2016-01-01", method: "last", aggregation_unit: "admin3" },
};
export const FLOWAPI_SCOPES = [
  "admin3:spatial_aggregate:spatial_aggregate",
  "admin3:spatial_aggregate:daily_location",
  "admin3:geography:geography",
  "nonspatial:available_dates:available_dates",
];

const workflowDef = { name: "rtwf", version: 1, tasks: [{ name: "t1", taskReferenceName: "t1", type: "SIMPLE" }], schemaVersion: 2 };
const eventHandler = { name: "rth", event: "conductor:wfA:t", actions: [], active: true };
const schedule = { name: "wfA:1", workflowName: "wfA", workflowVersion: "1", cronString: "* * * * *" };

export const ROUTES: RouteEntry[] = [
  { engine: "gateway", method: "GET", pattern: "/healthz", credential: "public", sample: get("/healthz"), grant: "any", lacking: null },
  // The upstream assertions' public keys (docs/security.md, "Engines trust only the gateway"): public by design.
  {
    engine: "gateway",
    method: "GET",
    pattern: "/.well-known/jwks.json",
    credential: "public",
    sample: get("/.well-known/jwks.json"),
    grant: "any",
    lacking: null,
  },
  // Browser sign-in (docs/browser-sign-in.md). This world configures no provider and no SESSION_SECRETS, so the
  // sign-in steps answer 404 (test/node/browserSignIn.test.ts runs them against a real provider and Chromium).
  {
    engine: "gateway",
    method: "GET",
    pattern: "/auth/login",
    credential: "public",
    sample: get("/auth/login?return_to=/argo/"),
    publicStatus: 404,
    grant: "any",
    lacking: null,
  },
  {
    engine: "gateway",
    method: "GET",
    pattern: "/auth/callback",
    credential: "public",
    sample: get("/auth/callback?code=c&state=s"),
    publicStatus: 404,
    grant: "any",
    lacking: null,
  },
  {
    engine: "gateway",
    method: "POST",
    pattern: "/auth/key",
    credential: "public",
    sample: post("/auth/key", { key: "fgk_x" }),
    publicStatus: 404,
    grant: "any",
    lacking: null,
  },
  {
    engine: "gateway",
    method: "POST",
    pattern: "/auth/logout",
    credential: "public",
    sample: post("/auth/logout"),
    publicStatus: 404,
    grant: "any",
    lacking: null,
  },
  {
    engine: "gateway",
    method: "GET",
    pattern: "/auth/signed-out",
    credential: "public",
    sample: get("/auth/signed-out"),
    grant: "any",
    lacking: null,
  },
  // How a browser can sign in here: public, like the sign-in it describes.
  {
    engine: "gateway",
    method: "GET",
    pattern: "/auth/methods",
    credential: "public",
    sample: get("/auth/methods"),
    grant: "any",
    lacking: null,
  },
  // Only a browser session answers; any other credential is a 401 too.
  {
    engine: "gateway",
    method: "GET",
    pattern: "/auth/session",
    credential: "key",
    sample: get("/auth/session"),
    grant: "any",
    lacking: null,
  },
  { engine: "gateway", method: "GET", pattern: "/whoami", credential: "key", sample: get("/whoami"), grant: "any", lacking: null },
  // The operator console's static files: public (they hold no data; the admin API behind them needs a session).
  {
    engine: "gateway",
    method: "GET",
    pattern: "/console",
    credential: "public",
    sample: get("/console"),
    publicStatus: 301,
    grant: "any",
    lacking: null,
  },
  { engine: "gateway", method: "GET", pattern: "/console/*", credential: "public", sample: get("/console/"), grant: "any", lacking: null },

  // Admin API: flowgate admins; a workspace also by its own admins (`plain` administers none).
  admin("GET", "/admin/workspaces/:name", get("/admin/workspaces/{mine}")),
  admin("PUT", "/admin/workspaces/:name", put("/admin/workspaces/{tag}-new", { roles: ["rt"], hideForUnauthorized: true }), {
    roles: ["rt"],
    hideForUnauthorized: true,
    description: DEEP,
  }),
  admin("DELETE", "/admin/workspaces/:name", del("/admin/workspaces/{tag}-gone")),
  admin("POST", "/admin/cache/purge", post("/admin/cache/purge")),
  admin("DELETE", "/admin/cache/keys/:keyId", del("/admin/cache/keys/zzzzzzzzzzzz")),
  admin("POST", "/admin/logs/:level", post("/admin/logs/error")),
  admin("GET", "/admin/keys", get("/admin/keys?limit=1")),
  admin("POST", "/admin/keys", post("/admin/keys", { tenant: "acme", subject: "route-table" }), {
    tenant: "acme",
    subject: "route-table",
    name: DEEP,
  }),
  admin("GET", "/admin/keys/:id", get("/admin/keys/zzzzzzzzzzzz")),
  admin("DELETE", "/admin/keys/:id", del("/admin/keys/zzzzzzzzzzzz")),
  admin("POST", "/admin/keys/import-prefect", post("/admin/keys/import-prefect", { tenant: "acme", rows: [] }), {
    tenant: "acme",
    rows: [{ user_id: "rt", scopes: "query/*", api_key: DEEP, key_issu_dt: null, key_expr_dt: null }],
  }),
  admin("POST", "/admin/keys/:id/rotate", post("/admin/keys/zzzzzzzzzzzz/rotate", {}), { gracePeriodS: DEEP }),
  admin("GET", "/admin/tenants", get("/admin/tenants")),
  admin("POST", "/admin/tenants", post("/admin/tenants", { name: "route-table" }), { name: DEEP }),
  admin("GET", "/admin/workspaces", get("/admin/workspaces")),
  admin("POST", "/admin/tokens/revoke", post("/admin/tokens/revoke", { jti: "route-table" }), { jti: DEEP }),
  admin("GET", "/admin/audit", get("/admin/audit?limit=1")),
  admin("GET", "/admin/audit/counts", get("/admin/audit/counts")),
  admin("GET", "/admin/status", get("/admin/status")),
  admin("GET", "/admin/openapi.json", get("/admin/openapi.json")),
  admin("POST", "/admin/explain", post("/admin/explain", { token: "x.y.z", request: { method: "GET", path: "/whoami" } }), {
    token: "x.y.z",
    request: { method: "POST", path: "/prefect/graphql", body: DEEP },
  }),
  admin("GET", "/admin/limits", get("/admin/limits")),
  admin(
    "POST",
    "/admin/limits",
    post("/admin/limits", {
      kind: "tenant",
      target: "route-table",
      routeGroup: "argo",
      rate: { limit: 1_000_000, windowS: 60 },
      mode: "shadow",
    }),
    { kind: "tenant", target: "route-table", rate: { limit: 1, windowS: 60 }, description: DEEP },
  ),
  admin("GET", "/admin/limits/:id", get("/admin/limits/rl_zzzzzzzzzzzz")),
  admin("PATCH", "/admin/limits/:id", { method: "PATCH", path: "/admin/limits/rl_zzzzzzzzzzzz", body: { mode: "shadow" } }, { mode: DEEP }),
  admin("DELETE", "/admin/limits/:id", del("/admin/limits/rl_zzzzzzzzzzzz")),
  admin("GET", "/admin/usage", get("/admin/usage?limit=1")),
  admin("GET", "/admin/usage/series", get("/admin/usage/series?by=tenant")),

  // Prefect: every GraphQL field by its scope.
  {
    engine: "prefect",
    method: "ALL",
    pattern: "/prefect/graphql",
    credential: "key",
    // A client that accepts GraphQL's own media type gets refusals with their 4xx status (src/graphqlHttp.ts);
    // a legacy one gets 200 with the refusal in `errors`, as the GraphQL-over-HTTP specification sets.
    sample: { ...post("/prefect/graphql", { query: "{ flow { id name } }" }), headers: GRAPHQL_ACCEPT },
    grant: "prefect",
    lacking: { status: 403 },
    json: { ...post("/prefect/graphql", { query: "query ($x: JSON) { flow { id } }", variables: { x: DEEP } }), headers: GRAPHQL_ACCEPT },
  },
  // The Prefect UI's pages and files when PREFECT_UI_URL is set (not in this world: nothing there, 404).
  {
    engine: "prefect",
    method: "GET",
    pattern: "/prefect/*",
    credential: "public",
    sample: get("/prefect/flows"),
    publicStatus: 404,
    grant: "any",
    lacking: null,
  },

  // Conductor: the caller's tenant only; ids of another tenant's objects are 404, names are always the caller's own.
  conductor("GET", "/conductor/api/metadata/workflow", get("/conductor/api/metadata/workflow")),
  conductor("GET", "/conductor/api/metadata/workflow/:name", get("/conductor/api/metadata/workflow/wfA")),
  conductor("POST", "/conductor/api/metadata/workflow", post("/conductor/api/metadata/workflow", workflowDef), {
    json: post("/conductor/api/metadata/workflow", { ...workflowDef, inputTemplate: { x: DEEP } }),
  }),
  conductor("PUT", "/conductor/api/metadata/workflow", put("/conductor/api/metadata/workflow", [workflowDef]), {
    json: put("/conductor/api/metadata/workflow", [{ ...workflowDef, inputTemplate: { x: DEEP } }]),
  }),
  conductor("DELETE", "/conductor/api/metadata/workflow/:name/:version", del("/conductor/api/metadata/workflow/rtgone/1")),
  conductor("GET", "/conductor/api/metadata/taskdefs", get("/conductor/api/metadata/taskdefs")),
  conductor("GET", "/conductor/api/metadata/taskdefs/:taskType", get("/conductor/api/metadata/taskdefs/t1")),
  conductor("POST", "/conductor/api/metadata/taskdefs", post("/conductor/api/metadata/taskdefs", [{ name: "rtt" }]), {
    json: post("/conductor/api/metadata/taskdefs", [{ name: "rtt", inputTemplate: { x: DEEP } }]),
  }),
  conductor("PUT", "/conductor/api/metadata/taskdefs", put("/conductor/api/metadata/taskdefs", { name: "rtt" }), {
    json: put("/conductor/api/metadata/taskdefs", { name: "rtt", inputTemplate: { x: DEEP } }),
  }),
  conductor("DELETE", "/conductor/api/metadata/taskdefs/:taskType", del("/conductor/api/metadata/taskdefs/rtgone")),
  conductor("POST", "/conductor/api/workflow", post("/conductor/api/workflow", { name: "wfA", version: 1, input: {} }), {
    json: post("/conductor/api/workflow", { name: "wfA", version: 1, input: { x: DEEP } }),
  }),
  conductor("GET", "/conductor/api/workflow/search", get("/conductor/api/workflow/search?query=status%3DRUNNING")),
  conductor("GET", "/conductor/api/workflow/search-v2", get("/conductor/api/workflow/search-v2")),
  bulk("PUT", "pause"),
  bulk("PUT", "resume"),
  bulk("POST", "retry"),
  bulk("POST", "restart"),
  bulk("POST", "terminate"),
  bulk("DELETE", "terminate"),
  conductor("GET", "/conductor/api/workflow/running/:name", get("/conductor/api/workflow/running/wfA")),
  conductor(
    "GET",
    "/conductor/api/workflow/externalstoragelocation",
    get("/conductor/api/workflow/externalstoragelocation?operation=WRITE&payloadType=WORKFLOW_INPUT"),
    {
      foreign: {
        request: get(
          "/conductor/api/workflow/externalstoragelocation?operation=READ&payloadType=WORKFLOW_OUTPUT&path=workflow%2Fot-out.json",
        ),
        status: 404,
        marker: "ot-out",
      },
    },
  ),
  conductor(
    "GET",
    "/conductor/api/tasks/externalstoragelocation",
    get("/conductor/api/tasks/externalstoragelocation?operation=WRITE&payloadType=TASK_OUTPUT"),
    {
      foreign: {
        request: get("/conductor/api/tasks/externalstoragelocation?operation=READ&payloadType=WORKFLOW_OUTPUT&path=workflow%2Fot-out.json"),
        status: 404,
        marker: "ot-out",
      },
    },
  ),
  conductor("GET", "/conductor/api/workflow/:workflowId/hierarchy", get("/conductor/api/workflow/fb-1/hierarchy"), {
    foreign: { request: get("/conductor/api/workflow/ot-1/hierarchy"), status: 404, marker: "OTHER" },
  }),
  conductor("GET", "/conductor/api/workflow/:workflowId", get("/conductor/api/workflow/fb-1"), {
    foreign: { request: get("/conductor/api/workflow/ot-1"), status: 404, marker: "OTHER" },
  }),
  action("DELETE", "/remove"),
  action("DELETE", ""),
  action("PUT", "/pause"),
  action("PUT", "/resume"),
  action("POST", "/restart"),
  action("POST", "/retry"),
  action("POST", "/rerun", {}),
  action("PUT", "/skiptask/:taskReferenceName", {}),
  action("POST", "/resetcallbacks"),
  conductor("POST", "/conductor/api/workflow/:name", post("/conductor/api/workflow/wfA", {}), {
    json: post("/conductor/api/workflow/wfA", { x: DEEP }),
  }),
  conductor("GET", "/conductor/api/event", get("/conductor/api/event")),
  conductor("GET", "/conductor/api/event/:event", get("/conductor/api/event/conductor:wfA:t")),
  conductor("POST", "/conductor/api/event", post("/conductor/api/event", eventHandler), {
    json: post("/conductor/api/event", { ...eventHandler, condition: DEEP }),
  }),
  conductor("PUT", "/conductor/api/event", put("/conductor/api/event", eventHandler), {
    json: put("/conductor/api/event", { ...eventHandler, condition: DEEP }),
  }),
  conductor("DELETE", "/conductor/api/event/:name", del("/conductor/api/event/rtgone")),
  conductor("GET", "/conductor/api/tasks/queue/all", get("/conductor/api/tasks/queue/all")),
  conductor("GET", "/conductor/api/tasks/queue/all/verbose", get("/conductor/api/tasks/queue/all/verbose")),
  conductor("GET", "/conductor/api/tasks/queue/sizes", get("/conductor/api/tasks/queue/sizes?taskType=t1")),
  conductor("GET", "/conductor/api/tasks/:taskId", get("/conductor/api/tasks/task-fb1"), {
    foreign: { request: get("/conductor/api/tasks/task-ot1"), status: 404, marker: "OTHER" },
  }),
  conductor("GET", "/conductor/api/tasks/:taskId/log", get("/conductor/api/tasks/task-fb1/log"), {
    foreign: { request: get("/conductor/api/tasks/task-ot1/log"), status: 404, marker: "OTHER secret" },
  }),
  conductor("GET", "/conductor/schedule", get("/conductor/schedule")),
  conductor("GET", "/conductor/schedule/:name", get("/conductor/schedule/wfA:1")),
  conductor("POST", "/conductor/schedule", post("/conductor/schedule", schedule), {
    json: post("/conductor/schedule", { ...schedule, workflowContext: { x: DEEP } }),
  }),
  conductor("PUT", "/conductor/schedule/:name", put("/conductor/schedule/wfA:1", schedule), {
    json: put("/conductor/schedule/wfA:1", { ...schedule, workflowContext: { x: DEEP } }),
  }),
  conductor("DELETE", "/conductor/schedule/:name", del("/conductor/schedule/rtgone:1")),
  conductor("POST", "/conductor/api/workflow/execute/:name/:version", post("/conductor/api/workflow/execute/wfA/1?waitForSeconds=0", {}), {
    json: post("/conductor/api/workflow/execute/wfA/1?waitForSeconds=0", { x: DEEP }),
  }),
  // Worker paths on the Conductor route: 404 naming the worker route, to any credential.
  conductor("GET", "/conductor/api/tasks/poll/*", get("/conductor/api/tasks/poll/batch/t1?count=1"), { lacking: { status: 404 } }),
  conductor("POST", "/conductor/api/tasks", post("/conductor/api/tasks", { taskId: "task-fb1" }), { lacking: { status: 404 } }),
  conductor("POST", "/conductor/api/tasks/update-v2", post("/conductor/api/tasks/update-v2", { taskId: "task-fb1" }), {
    lacking: { status: 404 },
  }),
  conductor("POST", "/conductor/api/tasks/:taskId/ack", post("/conductor/api/tasks/task-fb1/ack"), { lacking: { status: 404 } }),
  conductor("POST", "/conductor/api/tasks/:taskId/log", post("/conductor/api/tasks/task-fb1/log"), { lacking: { status: 404 } }),
  tokenLogin("/conductor/api/token"),
  // The Conductor UI's pages and files when CONDUCTOR_UI_URL is set (not in this world): otherwise as any unknown path.
  conductor("GET", "/conductor/*", get("/conductor/nothing-here"), { lacking: { status: 404 } }),
  conductor("ALL", "/conductor/*", post("/conductor/api/nothing-here"), { lacking: { status: 404 } }),

  // Workers: tasks of the tenants the key serves.
  workers("GET", "/workers/conductor/api/tasks/poll/batch/:taskType", get("/workers/conductor/api/tasks/poll/batch/job?count=1&timeout=0")),
  workers("GET", "/workers/conductor/api/tasks/poll/:taskType", get("/workers/conductor/api/tasks/poll/job")),
  workers(
    "POST",
    "/workers/conductor/api/tasks",
    post("/workers/conductor/api/tasks", { taskId: "task-fb1", workflowInstanceId: "fb-1", status: "IN_PROGRESS" }),
    {
      foreign: {
        request: post("/workers/conductor/api/tasks", {
          taskId: "task-ot1",
          workflowInstanceId: "ot-1",
          status: "COMPLETED",
          outputData: {},
        }),
        status: 404,
        marker: "OTHER",
      },
      json: post("/workers/conductor/api/tasks", {
        taskId: "task-fb1",
        workflowInstanceId: "fb-1",
        status: "IN_PROGRESS",
        outputData: { x: DEEP },
      }),
    },
  ),
  workers(
    "POST",
    "/workers/conductor/api/tasks/update-v2",
    post("/workers/conductor/api/tasks/update-v2", { taskId: "task-fb1", workflowInstanceId: "fb-1", status: "IN_PROGRESS" }),
    {
      foreign: {
        request: post("/workers/conductor/api/tasks/update-v2", {
          taskId: "task-ot1",
          workflowInstanceId: "ot-1",
          status: "COMPLETED",
          outputData: {},
        }),
        status: 404,
        marker: "OTHER",
      },
      json: post("/workers/conductor/api/tasks/update-v2", {
        taskId: "task-fb1",
        workflowInstanceId: "fb-1",
        status: "IN_PROGRESS",
        outputData: { x: DEEP },
      }),
    },
  ),
  tokenLogin("/workers/conductor/api/token"),
  workers("POST", "/workers/conductor/api/tasks/:taskId/ack", post("/workers/conductor/api/tasks/task-fb1/ack"), {
    foreign: { request: post("/workers/conductor/api/tasks/task-ot1/ack"), status: 404, marker: "OTHER" },
  }),
  workers(
    "POST",
    "/workers/conductor/api/tasks/:taskId/log",
    { method: "POST", path: "/workers/conductor/api/tasks/task-fb1/log", text: "working" },
    {
      foreign: {
        request: { method: "POST", path: "/workers/conductor/api/tasks/task-ot1/log", text: "working" },
        status: 404,
        marker: "OTHER",
      },
    },
  ),
  workers("ALL", "/workers/*", get("/workers/conductor/api/nothing-here"), { lacking: { status: 404 } }),

  // Argo: workspaces by role; the UI's own files are the only thing without a credential.
  {
    engine: "argo",
    method: "GET",
    pattern: "/argo/api/v1/workspaces",
    credential: "key",
    sample: get("/argo/api/v1/workspaces"),
    grant: "any",
    lacking: null,
  },
  {
    engine: "argo",
    method: "ALL",
    pattern: "/argo/api/v1/*",
    credential: "key",
    sample: get("/argo/api/v1/workflows/{mine}"),
    grant: "argo",
    lacking: { status: 403 },
    foreign: { request: get("/argo/api/v1/workflows/{theirs}"), status: 403, marker: "uid-" },
    json: post("/argo/api/v1/workflows/{mine}", { workflow: { metadata: { name: "rt" }, spec: { arguments: { x: DEEP } } } }),
  },
  argoArtifacts("artifacts"),
  argoArtifacts("artifact-files"),
  argoArtifacts("input-artifacts"),
  argoByUid("artifacts-by-uid"),
  argoByUid("input-artifacts-by-uid"),
  {
    engine: "argo",
    method: "GET",
    pattern: "/argo/*",
    credential: "key",
    sample: get("/argo/workflows/{mine}"),
    publicSamples: [
      "/argo/",
      "/argo/index.html",
      "/argo/main.3f2a9c1b.js",
      "/argo/main.3f2a9c1b.js.map",
      "/argo/favicon.ico",
      "/argo/assets/favicon/favicon-32x32.png",
      "/argo/assets/fonts/fa-solid-900.woff2",
    ],
    grant: "argo",
    lacking: { status: 404 },
  },
  {
    engine: "argo",
    method: "ALL",
    pattern: "/argo/*",
    credential: "key",
    sample: post("/argo/nothing-here"),
    grant: "argo",
    lacking: { status: 404 },
  },

  // FlowAPI: FlowAuth tokens, permissions from one role.
  flowapi(
    "POST",
    "/flowapi/api/0/run",
    post("/flowapi/api/0/run", FLOWAPI_QUERY),
    "flowauthRun",
    { status: 403 },
    { json: post("/flowapi/api/0/run", { ...FLOWAPI_QUERY, extra: DEEP }) },
  ),
  flowapi("GET", "/flowapi/api/0/poll/:queryId", get(`/flowapi/api/0/poll/${QUERY_ID}`), "flowauthRun", { status: 403 }),
  flowapi("GET", "/flowapi/api/0/get/:queryId", get(`/flowapi/api/0/get/${QUERY_ID}`), "flowauthAll", { status: 403 }),
  flowapi("GET", "/flowapi/api/0/geography/:unit", get("/flowapi/api/0/geography/admin3"), "flowauthAll", { status: 403 }),
  flowapi("GET", "/flowapi/api/0/available_dates", get("/flowapi/api/0/available_dates"), "flowauthAll", { status: 403 }),
  flowapi("GET", "/flowapi/api/0/spec/:file", get("/flowapi/api/0/spec/openapi.json"), "flowauthAll", null),
  flowapi("ALL", "/flowapi/*", get("/flowapi/api/0/nothing-here"), "flowauthAll", { status: 404 }),
];

/** `METHOD pattern`, the key both sides of the registration check use. */
export const routeKey = (method: string, pattern: string) => `${method} ${pattern}`;
