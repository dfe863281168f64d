/**
 * `/prefect/graphql` -> PREFECT_GRAPHQL_URL: every GraphQL operation decided on its parsed document before the
 * upstream sees anything (./decide.ts, the one decision function); in multi-tenant mode every read limited to the
 * caller's Prefect tenant and every id a write names checked against it (one pre-read); only the gateway's own
 * serialization of what it decided is forwarded; mutations audited; the CLI's `auth_info` / `tenant` answered here.
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
import {
  ANALYSIS_CACHE_MAX_CHARS,
  ANALYSIS_CACHE_TTL_MS,
  PREFECT_OWNER_CACHE_MAX_ENTRIES,
  PREFECT_OWNER_CACHE_TTL_MS,
} from "../../constants";
import { graphqlResponse, graphqlStatus, negotiateGraphQLMedia, type GraphQLMedia } from "../../graphqlHttp";
import { localAnswer } from "./cli";
import { requestServices, type UpstreamClient } from "../../services";
import { allow, refuse, type Refused, type Verdict } from "../../verdict";
import { decidePrefectRequest } from "./decide";
import { checkOwners, ownerKey, ownersFromAnswer, ownersQuery } from "./owners";
import {
  analyzeDocument,
  decidedOperation,
  refusedFieldsOf,
  type Decision,
  type GraphQLLimits,
  type GraphQLRequest,
  type Parsed,
} from "./policy";
import { reshapeByPk, type ForwardPlan, type IdCheck } from "./rewrite";
import { namesAnotherTenant, prefectTenantOf } from "./tenant";
import { mediaType } from "./transport";

/**
 * Parsed documents already seen, by operation name and text (bounded in count and in characters held): their
 * analysis and executed operation. UIs send the same few documents over and over with new variables, so most
 * requests skip parsing; the decision itself (scopes, tenant) is made every time. Limits are part of the key so a
 * configuration change is never bypassed.
 */
const parseCaches = new Map<number, LruCache<Parsed>>();

function parseCached(req: GraphQLRequest, limits: GraphQLLimits, cacheEntries: number): Parsed {
  if (cacheEntries === 0 || req.query === "" || req.query.length > limits.maxDocumentBytes) return analyzeDocument(req, limits);
  let parsed = parseCaches.get(cacheEntries);
  if (!parsed) {
    // Weighed by the key's characters: the document's text, of which the AST is a bounded multiple.
    parsed = new LruCache<Parsed>(cacheEntries, Date.now, ANALYSIS_CACHE_MAX_CHARS, (key) => key.length);
    parseCaches.set(cacheEntries, parsed);
  }
  const key = `${limits.maxTokens},${limits.maxDepth},${limits.maxAliases},${limits.maxDirectives},${limits.maxCost}\u0000${req.operationName ?? ""}\u0000${req.query}`;
  const cached = parsed.get(key);
  if (cached) return cached;
  const fresh = analyzeDocument(req, limits);
  parsed.set(key, fresh, ANALYSIS_CACHE_TTL_MS);
  return fresh;
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
    const tenant = prefectTenantOf(caller, config.prefectTenant);
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

    // Step 1, the decision: transport, parse, scopes, the tenant's rewrite (./decide.ts, pure).
    const isolatedTenantId = config.prefectTenant.id === undefined ? tenant.id : null;
    const decided = decidePrefectRequest(
      { method, contentType, body: method === "POST" ? utf8(bytes) : "", params },
      { scopes: caller.scopes, isolatedTenantId },
      config.graphqlLimits,
      (r) => parseCached(r, config.graphqlLimits, config.graphqlAnalysisCacheEntries),
    );
    if (!decided.ok) throw toError(decided);
    const { transport, requests, asts, local } = decided.value;
    const decisions = [...decided.value.decisions];
    // Step 2, persisted queries: a hash sent with its text must be the text's hash (awaited only when sent).
    for (let i = 0; i < requests.length; i++) {
      const hashRefusal = requests[i]!.persistedQueryHash ? await checkPersistedHash(requests[i]!) : null;
      if (hashRefusal) decisions[i] = hashRefusal;
    }
    // Step 3, the rate limit: every root field the operations execute, charged at its weight.
    await chargeRateLimit(c, "prefect", prefectRequestCost(requests, decisions.map(decidedOperation), config), caller);

    // Step 4, refusals (mutations audited): a batch is refused whole, one error per element, never shortened.
    const refused = decisions.filter((d): d is Extract<Decision, { ok: false }> => !d.ok);
    if (refused.length > 0) {
      for (const d of decisions) audit(c, caller, d);
      return refuseRequest(c, transport.kind === "single", decisions, refused, media);
    }

    // Step 5, the CLI's identity questions: answered here, never reaching the upstream.
    if (local) {
      const answers = requests.map((r, i) => ({ data: localAnswer(asts[i]!, tenant, caller.subject, r.variables ?? {}) }));
      return graphqlResponse(transport.kind === "single" ? answers[0] : answers, 200, media);
    }

    // Step 6, the writes' ids: every id the operations name is found in the caller's tenant (one pre-read).
    const plans = decided.value.forward;
    if (!plans) throw new GatewayError("BAD_REQUEST", "nothing to forward");
    const upstream = c.get("services").upstream("prefect");
    if (isolatedTenantId !== null) {
      const owners = await readOwners(
        upstream,
        plans.flatMap((p) => p.checks),
        config.upstreams.prefect ?? "",
      );
      if (!owners.ok) {
        for (const d of decisions) audit(c, caller, d.ok ? { ...owners, operation: d.value } : d);
        throw toError(owners);
      }
      // Each element of a batch on its own ids; one refused refuses the batch, one error per element.
      const owned: Decision[] = decisions.map((d, i) => {
        const v = checkOwners(plans[i]!.checks, owners.value, isolatedTenantId);
        return v.ok || !d.ok ? d : { ...v, operation: d.value };
      });
      const notOwned = owned.filter((d): d is Extract<Decision, { ok: false }> => !d.ok);
      if (notOwned.length > 0) {
        for (const d of owned) audit(c, caller, d.ok ? { ...notOwned[0]!, operation: d.value } : d);
        return refuseRequest(c, transport.kind === "single", owned, notOwned, media);
      }
    }
    for (const d of decisions) audit(c, caller, d);

    // Step 7, forward the gateway's own serialization of what it decided, and give `_by_pk` answers their shape.
    return forwardPlans(upstream, method, transport.kind === "single", plans, c.req.raw.headers);
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

/** A refusal as GraphQL's answer: the single request's error, or one error per element of a batch. */
function refuseRequest(c: AppContext, single: boolean, decisions: Decision[], refused: Refused[], media: GraphQLMedia): Response {
  c.get("log").info("prefect.refused", { refusals: refused.map((d) => d.code) });
  c.set("refused", true);
  if (single) throw toError(refused[0]!);
  const requestId = c.get("requestId");
  const body = decisions.map((d) =>
    d.ok
      ? graphqlErrorBody(new GatewayError("BATCH_REFUSED", "not executed: another operation in this batch was refused"), requestId)
      : graphqlErrorBody(toError(d), requestId),
  );
  return graphqlResponse(body, graphqlStatus(statusOf(refused[0]!.code), media), media);
}

/**
 * Ids' tenants read back from the upstream, by upstream and id (never version groups, which new flows can join):
 * a row's tenant never changes, so an entry is only ever stale for a deleted row.
 */
const owners = new LruCache<string>(PREFECT_OWNER_CACHE_MAX_ENTRIES);

/**
 * The tenants of the ids the requests name: what the cache does not know is asked in ONE query (through the same
 * upstream); ids are remembered briefly, version groups never (new flows can join one).
 */
async function readOwners(upstream: UpstreamClient, checks: IdCheck[], base: string): Promise<Verdict<Map<string, Set<string>>>> {
  const known = new Map<string, Set<string>>();
  const unknown: IdCheck[] = [];
  for (const check of checks) {
    const t = check.column === "id" ? owners.get(`${base}\u0000${ownerKey(check)}`) : undefined;
    if (t !== undefined) known.set(ownerKey(check), new Set([t]));
    else unknown.push(check);
  }
  if (unknown.length === 0) return allow(known);
  const res = await upstream.send({
    path: "",
    method: "POST",
    headers: new Headers({ "content-type": "application/json", accept: "application/json" }),
    body: JSON.stringify({ query: ownersQuery(unknown) }),
  });
  // An error status is not Prefect's answer to the question, whatever its body holds: refused below.
  let answer: unknown = null;
  try {
    if (res.ok) answer = await res.json();
    else await res.body?.cancel();
  } catch {
    // not JSON: refused below
  }
  const read = ownersFromAnswer(unknown, answer);
  if (!read.ok) return read;
  for (const [key, tenants] of read.value) {
    known.set(key, tenants);
    const [only] = tenants;
    if (tenants.size === 1 && !key.includes(".version_group_id=")) owners.set(`${base}\u0000${key}`, only!, PREFECT_OWNER_CACHE_TTL_MS);
  }
  return allow(known);
}

/** The upstream's request, built from the plans only: POST JSON (a batch as an array), or GET with its parameters. */
async function forwardPlans(
  upstream: UpstreamClient,
  method: string,
  single: boolean,
  plans: ForwardPlan[],
  clientHeaders: Headers,
): Promise<Response> {
  // The client's content negotiation passes (forward() copies only the engine's allow-list); the body's type is
  // the gateway's, since the body is.
  const headers = new Headers(clientHeaders);
  if (method === "GET") headers.delete("content-type");
  else headers.set("content-type", "application/json");
  // The same JSON as JSON.stringify({query, operationName, variables}), the query's encoding made once per document.
  const bodyOf = (p: ForwardPlan) =>
    `{"query":${p.queryJson}${p.operationName ? `,"operationName":${JSON.stringify(p.operationName)}` : ""},"variables":${JSON.stringify(p.variables)}}`;
  let res: Response;
  if (method === "GET") {
    const p = plans[0]!;
    const q = new URLSearchParams({ query: p.query });
    if (p.operationName) q.set("operationName", p.operationName);
    if (Object.keys(p.variables).length > 0) q.set("variables", JSON.stringify(p.variables));
    res = await upstream.send({ path: `?${q}`, method: "GET", headers });
  } else {
    res = await upstream.send({ path: "", method: "POST", headers, body: single ? bodyOf(plans[0]!) : `[${plans.map(bodyOf).join(",")}]` });
  }
  if (plans.every((p) => p.byPkKeys.length === 0)) return res;
  // `_by_pk` fields were asked in their list form: each becomes its one row (or null), as the client asked.
  let answer: unknown;
  try {
    answer = await res.clone().json();
  } catch {
    return res;
  }
  const answers = single ? [answer] : Array.isArray(answer) ? answer : [];
  answers.forEach((a, i) => {
    if (a && typeof a === "object" && "data" in a) reshapeByPk((a as { data: unknown }).data, plans[i]?.byPkKeys ?? []);
  });
  const answerHeaders = new Headers(res.headers);
  answerHeaders.delete("content-length");
  return new Response(JSON.stringify(answer), { status: res.status, headers: answerHeaders });
}
