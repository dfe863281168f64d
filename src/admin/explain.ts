/**
 * `POST /admin/explain`: the decision the gateway would make on a request, and why, without making it.
 *
 * The described request runs through the very app that serves real ones (path checks, authentication, the
 * engine's policy and rewrites) inside a dry-run scope (src/dryRun.ts): the first upstream call is recorded
 * instead of sent, audit events and rate-limit counts are reported instead of written. So the answer can never
 * drift from the live path: there is no second implementation of any policy here. Where a decision needs an
 * upstream's answer (who owns an execution, what a listing holds), the run stops at that call and says so.
 */
import { z } from "zod";
import { recordAudit } from "../audit";
import { waitUntil, type AppContext, type AppEnv } from "../context";
import { withDatabase } from "../db/client";
import { runDryRun, type DryRun } from "../dryRun";
import { badRequest, notFound } from "../errors";
import { KEY_ID_RULE, parseKeyId } from "../formats/apiKey";
import { principalFromKey } from "../identity/authenticate";
import { isTenantName, type Principal } from "../identity/principal";
import { requirePrincipal } from "../pipeline";
import { getKeyRow, keyValidity, toKeyRecord } from "../store/keys";
import { AdminApi } from "./openapi";
import { Explanation as ExplanationSchema } from "./responses";
import { jsonBody, parseOr400 } from "./validation";

/** How the admin routes reach the app itself (passed in by src/app.ts: the app cannot be imported from here). */
export type Dispatch = (request: Request, env: AppEnv["Bindings"], ctx: ExecutionContext) => Promise<Response> | Response;

const EXPLAIN_MAX_BODY_BYTES = 1_048_576;
/** Headers that carry a credential: the question names the credential by `keyId` or `token`, never in headers. */
const CREDENTIAL_HEADERS = ["authorization", "x-api-key", "x-prefect-user-id", "x-authorization", "cookie"];
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/**
 * What can be explained: the engines' routes (below the `mounts` src/app.ts passes from the registry) and /whoami.
 * Never the admin API or sign-in: their handlers act on flowgate itself (the database, KV, cookies) rather than
 * through an upstream, so a dry run would not stop them. Checked on the path as the URL parser resolves it
 * (`/prefect/../admin` is /admin).
 */
function explainable(mounts: readonly string[]): (pathname: string) => boolean {
  return (pathname) => pathname === "/whoami" || mounts.some((m) => pathname === m || pathname.startsWith(`${m}/`));
}

export const ExplainBody = z
  .object({
    keyId: z
      .string()
      .refine((s) => parseKeyId(s) !== null, KEY_ID_RULE)
      .transform((s) => parseKeyId(s)!)
      .optional(),
    token: z.string().min(1).max(16_384).optional(),
    request: z
      .object({
        method: z.enum(METHODS),
        path: z.string().min(1).max(8_192).startsWith("/", "must start with /"),
        headers: z
          .record(z.string().min(1).max(256), z.string().max(8_192))
          .refine((h) => Object.keys(h).length <= 100, "at most 100 headers")
          .refine(
            (h) => Object.keys(h).every((n) => !CREDENTIAL_HEADERS.includes(n.toLowerCase())),
            "must not carry a credential: give it as keyId or token",
          )
          .optional(),
        body: z.string().max(EXPLAIN_MAX_BODY_BYTES).optional(),
      })
      .strict(),
  })
  .strict()
  .refine((b) => (b.keyId === undefined) !== (b.token === undefined), { message: "give exactly one of keyId and token", path: ["keyId"] });

export type ExplainBody = z.infer<typeof ExplainBody>;

/** What the operator reads: never the token, the key or a header value the client sent. */
export interface Explanation {
  /** In the audit trail's words (src/store/audit.ts). */
  decision: "allowed" | "refused";
  /** What the client would be answered when refused; null when the request would go upstream. */
  status: number | null;
  principal: Principal | null;
  reason: { code: string; message: string } & Record<string, unknown>;
  /** The request the upstream would receive: the tenant rewrite made visible. */
  upstream: DryRun["upstreamCall"];
  audits: DryRun["audits"];
  limits: DryRun["limits"];
}

/** The explanation of one dry run (pure: from what the run recorded). */
export function explainRun(run: DryRun, status: number): Explanation {
  const base = { principal: run.principal, upstream: run.upstreamCall, audits: run.audits, limits: run.limits };
  if (run.error) {
    return {
      ...base,
      decision: "refused",
      status: run.error.status,
      reason: { ...(run.error.details ?? {}), code: run.error.code, message: run.error.message },
    };
  }
  if (run.upstreamCall) {
    return {
      ...base,
      decision: "allowed",
      status: null,
      reason: {
        code: "FORWARDED",
        message:
          "every check the gateway makes before the upstream passed; the gateway would now make the call under upstream " +
          "(a decision that depends on the upstream's answer, such as who owns an object, is made on that answer)",
      },
    };
  }
  return {
    ...base,
    decision: status < 400 ? "allowed" : "refused",
    status,
    reason: {
      code: status < 400 ? "ANSWERED_BY_GATEWAY" : "REFUSED",
      message: status < 400 ? "answered by the gateway itself" : "refused",
    },
  };
}

export function registerExplain(api: AdminApi, dispatch: Dispatch, mounts: readonly string[]): void {
  const isExplainable = explainable(mounts);
  api.route(
    {
      method: "post",
      path: "/explain",
      tag: "explain",
      summary: "The decision the gateway would make on a request, and why, without making it",
      description:
        "Runs the request through the live pipeline in a dry run: the first upstream call is shown, not sent; audit events and rate-limit counts are shown, not written. Name the credential by keyId or token, never in headers.",
      body: ExplainBody,
      examples: {
        refusedMutation: {
          keyId: "abcdefabcdef",
          request: {
            method: "POST",
            path: "/prefect/graphql",
            headers: { "content-type": "application/json" },
            body: '{"query":"mutation { delete_flow(input: {flow_id: \\"x\\"}) { success } }"}',
          },
        },
        conductorStart: {
          token: "eyJhbGciOi...",
          request: { method: "POST", path: "/conductor/api/workflow/hello?version=1", body: '{"who":"world"}' },
        },
      },
      responses: { 200: { description: "the decision and its reasons", schema: ExplanationSchema } },
    },
    async (c) => {
      const body = parseOr400(ExplainBody, await jsonBody(c.req.raw, EXPLAIN_MAX_BODY_BYTES));
      const explanation = await explain(c, body, dispatch, isExplainable);
      recordAudit(
        c,
        {
          action: "admin.explain",
          decision: "done",
          actorSubject: requirePrincipal(c).subject,
          actorKeyId: requirePrincipal(c).keyId ?? null,
          target: `${body.request.method} ${body.request.path}`.slice(0, 300),
          requestId: c.get("requestId"),
          details: { about: body.keyId ? `key:${body.keyId}` : "token", decision: explanation.decision, code: explanation.reason.code },
        },
        "admin.action",
      );
      return c.json(explanation);
    },
  );
}

async function explain(
  c: AppContext,
  body: ExplainBody,
  dispatch: Dispatch,
  isExplainable: (pathname: string) => boolean,
): Promise<Explanation> {
  const run: DryRun = { askedPrincipal: null, principal: null, upstreamCall: null, error: null, audits: [], limits: [] };
  const headers = new Headers(body.request.headers ?? {});
  if (body.keyId) {
    const row = await withDatabase(c.get("config"), (db) => getKeyRow(db, body.keyId!));
    if (!row) throw notFound("no such key");
    const record = toKeyRecord(row);
    const validity = keyValidity(record, Date.now());
    run.askedPrincipal = principalFromKey(record);
    if (validity === "valid" && !isTenantName(record.tenant)) {
      return {
        ...explainRun(run, 401),
        decision: "refused",
        status: 401,
        principal: run.askedPrincipal,
        reason: { code: "UNAUTHENTICATED", message: "API key names a tenant that is reserved or not a tenant name" },
      };
    }
    if (validity !== "valid") {
      return {
        ...explainRun(run, 401),
        decision: "refused",
        status: 401,
        principal: run.askedPrincipal,
        reason: { code: "UNAUTHENTICATED", message: `API key ${validity.replace(/_/g, " ")}` },
      };
    }
  } else {
    headers.set("authorization", `Bearer ${body.token}`);
  }
  // The path is appended as given, encodings and all: it must meet the same path checks a client's would.
  const origin = new URL(c.req.url).origin;
  if (!isExplainable(new URL(`${origin}${body.request.path}`).pathname)) {
    throw badRequest("only the engines' routes and /whoami can be explained (the admin API and sign-in act on flowgate itself)");
  }
  const hasBody = body.request.body !== undefined && body.request.method !== "GET" && body.request.method !== "HEAD";
  const request = new Request(`${origin}${body.request.path}`, {
    method: body.request.method,
    headers,
    body: hasBody ? body.request.body : undefined,
  });
  const ctx = {
    waitUntil: (p: Promise<unknown>) => waitUntil(c, p),
    passThroughOnException: () => {},
    props: {},
  } as unknown as ExecutionContext;
  const response = await runDryRun(run, async () => dispatch(request, c.env, ctx));
  await response.body?.cancel();
  return explainRun(run, response.status);
}
