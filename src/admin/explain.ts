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
import { EXPLAIN_MAX_HEADERS, EXPLAIN_MAX_HEADER_BYTES } from "../constants";
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

/** An RFC 9110 field name (section 5.1: a `token`, 1*tchar): what `Headers` and every HTTP parser accept as a name. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * An RFC 9110 field value (section 5.5): visible ASCII, space, tab and obs-text (0x80-0xFF, what a byte string
 * holds), never CR, LF, NUL or another control character (a header cannot carry them: `Headers` throws).
 */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Headers the question may not set, by why: a credential is named by `keyId` or `token`; framing (`content-length`,
 * `transfer-encoding`) and hop-by-hop headers, and `host`, belong to the connection the gateway itself receives,
 * not to a described request (the body's length is its own, the host is this gateway).
 */
const REFUSED_HEADERS = new Map<string, string>([
  ...CREDENTIAL_HEADERS.map((h): [string, string] => [h, "must not carry a credential: give it as keyId or token"]),
  ...["content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "host"].map(
    (h): [string, string] => [h, "is the connection's own, not the described request's"],
  ),
]);
/** A path as a client sends it on the request line: visible ASCII only (anything else is percent-encoded). */
const REQUEST_PATH = /^\/[\x21-\x7e]*$/;
/**
 * A bearer credential as the gateway reads one from `Authorization: Bearer <value>`: visible ASCII, no space (JWTs,
 * flowgate keys and imported Prefect keys all are). It becomes a header, so nothing else may be in it.
 */
const BEARER_VALUE = /^[\x21-\x7e]+$/;

/**
 * The described request's headers as a list of pairs, read from the parsed JSON object itself (a zod record would
 * assign each name to a new object, where `__proto__` vanishes): names checked one by one, each name once in any case (a client cannot send two `Content-Type` lines that
 * `Headers` would join), values within the field-value grammar, and the whole bounded.
 */
const DescribedHeaders = z
  .unknown()
  .describe("an object of header names (RFC 9110 tokens, each once in any case) and their values")
  .transform((record, ctx) => {
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      ctx.addIssue({ code: "custom", message: "must be an object of header names and values" });
      return z.NEVER;
    }
    const pairs: [string, string][] = [];
    const seen = new Set<string>();
    let bytes = 0;
    const entries = Object.entries(record);
    if (entries.length > EXPLAIN_MAX_HEADERS) {
      ctx.addIssue({ code: "custom", message: `at most ${EXPLAIN_MAX_HEADERS} headers` });
      return z.NEVER;
    }
    for (const [name, raw] of entries) {
      const lower = name.toLowerCase();
      const value = typeof raw === "string" ? raw : "";
      const problem =
        name.length > 256 || !FIELD_NAME.test(name)
          ? "is not a header name (an RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~, at most 256)"
          : typeof raw !== "string" || value.length > 8_192 || !FIELD_VALUE.test(value)
            ? "is not a header value (a string of at most 8192 visible characters, spaces and tabs: no CR, LF, NUL or control character)"
            : seen.has(lower)
              ? "is given twice (header names are compared without regard to case)"
              : (REFUSED_HEADERS.get(lower) ?? null); // a Map: `__proto__` is a name, not Object.prototype
      if (problem !== null) {
        // The name is echoed only when it is a token (a bad name is described, never repeated).
        ctx.addIssue({ code: "custom", message: FIELD_NAME.test(name) && name.length <= 256 ? `${name} ${problem}` : `a name ${problem}` });
        return z.NEVER;
      }
      seen.add(lower);
      bytes += name.length + value.length;
      pairs.push([name, value]);
    }
    if (bytes > EXPLAIN_MAX_HEADER_BYTES) {
      ctx.addIssue({ code: "custom", message: `at most ${EXPLAIN_MAX_HEADER_BYTES} bytes of headers in all` });
      return z.NEVER;
    }
    return pairs;
  });

export const ExplainBody = z
  .object({
    keyId: z
      .string()
      .refine((s) => parseKeyId(s) !== null, KEY_ID_RULE)
      .transform((s) => parseKeyId(s)!)
      .optional(),
    token: z
      .string()
      .min(1)
      .max(16_384)
      .regex(BEARER_VALUE, "must be a bearer credential (visible ASCII, no space or control character)")
      .optional(),
    request: z
      .object({
        method: z.enum(METHODS),
        path: z
          .string()
          .min(1)
          .max(8_192)
          .regex(REQUEST_PATH, "must start with / and hold visible ASCII only (percent-encode anything else, as a client does)"),
        headers: DescribedHeaders.optional(),
        body: z.string().max(EXPLAIN_MAX_BODY_BYTES).optional(),
      })
      .strict()
      // A body beside GET or HEAD would be dropped: the run would explain another request than the one described.
      .refine((r) => r.body === undefined || (r.method !== "GET" && r.method !== "HEAD"), {
        message: "GET and HEAD carry no body",
        path: ["body"],
      }),
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
  const headers = new Headers(body.request.headers ?? []);
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
