/**
 * `/prefect/graphql` -> PREFECT_GRAPHQL_URL: every GraphQL operation decided on its parsed document before the
 * upstream sees anything; allowed requests forwarded byte for byte; mutations audited; the CLI's `auth_info` /
 * `tenant` answered here.
 */
import { PREFECT_FORWARDED_HEADERS } from "./config";
import { Hono } from "hono";
import { recordAudit } from "../../audit";
import type { AppContext, AppEnv } from "../../context";
import { GatewayError, graphqlErrorBody, notFound, statusOf, unauthenticated } from "../../errors";
import { sha256Hex } from "../../formats/apiKey";
import type { Principal } from "../../identity/principal";
import { authenticated } from "../../pipeline";
import { prefectRequestCost } from "../../ratelimit/cost";
import { chargeRateLimit } from "../../ratelimit/enforce";
import { serveUi } from "../../proxy/ui";
import { readBodyLimited, utf8 } from "../../proxy/body";
import { LruCache } from "../../cache/lru";
import { ANALYSIS_CACHE_MAX_CHARS, ANALYSIS_CACHE_TTL_MS } from "../../constants";
import { graphqlResponse, graphqlStatus, negotiateGraphQLMedia } from "../../graphqlHttp";
import { answeredLocally, decideOperation, localAnswer, requestVariables } from "./cli";
import { requestServices } from "../../services";
import { refuse, type Refused } from "../../verdict";
import {
  analyzeRequest,
  decidedOperation,
  operationAst,
  refusedFieldsOf,
  type Analysis,
  type Decision,
  type GraphQLLimits,
  type GraphQLRequest,
} from "./policy";
import { namesAnotherTenant, prefectTenantOf } from "./tenant";
import { mediaType, readTransport } from "./transport";

/**
 * Analyses of documents already seen, by operation name and text (bounded in count and in characters held).
 * UIs send the same few documents over and over with new variables, so most requests skip parsing; the decision
 * itself (scopes) is made every time. Limits are part of the key so a configuration change is never bypassed.
 */
const analysisCaches = new Map<number, LruCache<Analysis>>();

function analyze(req: GraphQLRequest, limits: GraphQLLimits, cacheEntries: number): Analysis {
  if (cacheEntries === 0 || req.query === "" || req.query.length > limits.maxDocumentBytes) return analyzeRequest(req, limits);
  let analyses = analysisCaches.get(cacheEntries);
  if (!analyses) {
    analyses = new LruCache<Analysis>(cacheEntries, Date.now, ANALYSIS_CACHE_MAX_CHARS, (key) => key.length);
    analysisCaches.set(cacheEntries, analyses);
  }
  const key = `${limits.maxTokens},${limits.maxDepth},${limits.maxAliases},${limits.maxDirectives},${limits.maxCost}\u0000${req.operationName ?? ""}\u0000${req.query}`;
  const cached = analyses.get(key);
  if (cached) return cached;
  const analysis = analyzeRequest(req, limits);
  analyses.set(key, analysis, ANALYSIS_CACHE_TTL_MS);
  return analysis;
}

/** The parameters of a request whose URL is not read (a JSON POST): none. Never written to. */
const NO_PARAMS = new URLSearchParams();

/** The caller, or an anonymous holder of PUBLIC_SCOPES when public access is on. Unknown keys never get here. */
function callerOf(c: AppContext): Principal {
  const p = c.get("principal");
  if (p) return p;
  const config = c.get("config");
  if (!config.allowPublicAccess) throw unauthenticated("credential required");
  return { kind: "anonymous", subject: "anonymous", roles: [], groups: [], scopes: config.publicScopes };
}

/** A refusal as the gateway's error; the refused fields, when named, go in the body for the UI. */
const toError = (r: Refused) => new GatewayError(r.code, r.reason, r.details);

/** A persisted-query hash sent with its text must be the text's hash, or the server might run something else. */
async function checkPersistedHash(req: GraphQLRequest): Promise<Refused | null> {
  if (!req.persistedQueryHash || req.query === "") return null;
  const actual = await sha256Hex(req.query);
  return actual === req.persistedQueryHash ? null : refuse("persistedQuery hash does not match the query");
}

function audit(c: AppContext, caller: Principal, d: Decision): void {
  const op = decidedOperation(d);
  if (!op || op.type !== "mutation") {
    // A query or subscription reads, though sent by POST: audited only as a read (AUDIT_READS), by the pipeline.
    c.set("auditRead", true);
    return;
  }
  recordAudit(
    c,
    {
      action: "prefect.mutation",
      decision: d.ok ? "allowed" : "refused",
      actorSubject: caller.subject,
      actorKeyId: caller.keyId ?? null,
      tenant: caller.tenant ?? null,
      target: op.name,
      requestId: c.get("requestId"),
      details: { operationName: op.name, rootFields: op.rootFields, ...(d.ok ? {} : { refusedFields: refusedFieldsOf(d) }) },
    },
    "PREFECT_AUDIT_TRAIL",
  );
}

export function prefectRoutes(): Hono<AppEnv> {
  const prefect = new Hono<AppEnv>();
  prefect.use("*", async (c, next) => {
    c.set("errorStyle", "graphql");
    await next();
  });

  prefect.all("/graphql", authenticated(), requestServices, async (c) => {
    const config = c.get("config");
    const caller = callerOf(c);
    const tenant = await prefectTenantOf(caller, config.prefectTenant);
    // The 1.x client sends the tenant `auth_info` gave it; naming another one is a credential not valid there
    // (the client then says "Your API key is not valid for that tenant", src/prefect/cli/auth.py switch_tenants).
    if (namesAnotherTenant(c.req.header("x-prefect-tenant-id"), tenant.id)) {
      throw unauthenticated(
        `this credential is not valid for the tenant in X-Prefect-Tenant-Id (its tenant is ${tenant.id}): log in again`,
      );
    }
    const media = negotiateGraphQLMedia(c.req.header("accept"));
    const method = c.req.method;
    const contentType = c.req.header("content-type") ?? null;
    // Only GET and application/graphql read the URL's parameters: a JSON POST, what clients send, never does, so
    // its URL is not parsed.
    const params = method === "POST" && mediaType(contentType) === "application/json" ? NO_PARAMS : new URL(c.req.url).searchParams;
    const bytes = method === "POST" ? await readBodyLimited(c.req.raw, config.maxBodyBytes) : new Uint8Array();
    const read = readTransport(method, contentType, method === "POST" ? utf8(bytes) : "", params, config.graphqlLimits);
    if (!read.ok) throw toError(read);
    const transport = read.value;
    const requests = transport.kind === "single" ? [transport.request] : transport.requests;
    const httpMethod = method === "GET" ? "GET" : "POST";

    const analyses: Analysis[] = [];
    for (const r of requests) {
      // Awaited only when there is a hash to check: most requests carry none.
      const hashRefusal = r.persistedQueryHash ? await checkPersistedHash(r) : null;
      analyses.push(hashRefusal ?? analyze(r, config.graphqlLimits, config.graphqlAnalysisCacheEntries));
    }
    // Answered here only if the WHOLE request is the CLI's identity questions; mixed with forwarded fields, they
    // are refused (cli.ts decideOperation), so they never reach the upstream nor vouch for what does.
    const local = answeredLocally(analyses.flatMap((a) => (a.ok ? [a.value] : [])));
    const decisions: Decision[] = analyses.map((a) => (a.ok ? decideOperation(a.value, caller.scopes, httpMethod, local) : a));
    for (const d of decisions) audit(c, caller, d);
    // Every root field the operations execute, aliases apart, at its weight (src/ratelimit/cost.ts).
    await chargeRateLimit(c, "prefect", prefectRequestCost(requests, decisions.map(decidedOperation), config), caller);

    const refused = decisions.filter((d): d is Extract<Decision, { ok: false }> => !d.ok);
    if (refused.length > 0) {
      c.get("log").info("prefect.refused", { refusals: refused.map((d) => d.code) });
      c.set("refused", true);
      if (transport.kind === "single") throw toError(refused[0]!);
      // A batch is refused whole, with one error per element: never silently shortened.
      const requestId = c.get("requestId");
      const body = decisions.map((d) =>
        d.ok
          ? graphqlErrorBody(new GatewayError("BATCH_REFUSED", "not executed: another operation in this batch was refused"), requestId)
          : graphqlErrorBody(toError(d), requestId),
      );
      return graphqlResponse(body, graphqlStatus(statusOf(refused[0]!.code), media), media);
    }

    // The CLI's identity questions are answered here and never reach the upstream.
    if (local) {
      const variables = requestVariables(method, utf8(bytes), params);
      const answers = requests.map((r, i) => {
        const ast = operationAst(r, config.graphqlLimits);
        if (!ast) throw new GatewayError("BAD_REQUEST", "invalid GraphQL");
        return { data: localAnswer(ast, tenant, caller.subject, variables[i]) };
      });
      return graphqlResponse(transport.kind === "single" ? answers[0] : answers, 200, media);
    }

    // The client carries the principal's headers (none for anonymous public access: there is no principal).
    const upstream = c.get("services").upstream("prefect");
    const path = method === "GET" ? `?${rebuildGetQuery(params)}` : "";
    // The client's headers as they are (forward() copies only the engine's allow-list); a copy only in the case
    // a POST names no content type, which readTransport refuses today (415) before this point.
    let headers = c.req.raw.headers;
    if (method === "POST" && contentType === null) {
      headers = new Headers(headers);
      headers.set("content-type", "application/json");
    }
    return upstream.send({ path, method, headers, body: method === "POST" ? bytes : undefined });
  });
  // The Prefect UI's pages and files (PREFECT_UI_URL), on the gateway's origin.
  // Its refusals are not GraphQL answers: the envelope, like any other page.
  prefect.get(
    "*",
    async (c, next) => {
      c.set("errorStyle", "envelope");
      await next();
    },
    authenticated(),
    async (c) => {
      const ui = await serveUi(c, {
        forwardedHeaders: PREFECT_FORWARDED_HEADERS,
        upstream: c.get("config").uiUpstreams.prefect,
        routePrefix: "/prefect",
        name: "Prefect UI",
      });
      if (!ui) throw notFound("no such Prefect route on this gateway");
      return ui;
    },
  );
  return prefect;
}

/** GET parameters rebuilt from parsed values: only what a GraphQL server reads. */
function rebuildGetQuery(params: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const name of ["query", "operationName", "variables", "extensions"]) {
    const v = params.get(name);
    if (v !== null) out.set(name, v);
  }
  return out.toString();
}
