/**
 * The GraphQL floor (bench/ab.ts FLOORS=1, docs/benchmarks.md): the least a gateway that decides each GraphQL
 * operation against a key's scopes does, as one plain function: the key as in ./key.ts; the whole body read,
 * decoded and parsed as JSON; the document's analysis (graphql-js `parse`, operation type and root fields) cached
 * by its text, as flowgate caches it; every root field checked against the scopes; the bytes read sent upstream
 * with the caller's subject; the answer copied so a request id can be set on it. No router, no middleware, no
 * upstream timeout, no rate limit, no audit, no log. Never deployed.
 */
import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { hashApiKey } from "../../src/formats/apiKey";
import { principalOf, type FloorPrincipal } from "./principal";

const principals = new Map<string, FloorPrincipal>();
const analyses = new Map<string, { type: string; fields: string[] } | null>();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const refuse = (status: number, error: string) => Response.json({ errors: [{ message: error }] }, { status });

function analyze(query: string): { type: string; fields: string[] } | null {
  let found = analyses.get(query);
  if (found !== undefined) return found;
  try {
    const ops = parse(query).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const op = ops.length === 1 ? ops[0]! : null;
    found = op
      ? { type: op.operation, fields: op.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : [])) }
      : null;
  } catch {
    found = null;
  }
  analyses.set(query, found);
  return found;
}

export async function graphql(request: Request, upstreamUrl: string): Promise<Response> {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  if (!m) return refuse(401, "credential required");
  const hash = hashApiKey(m[1]!);
  let p = principals.get(hash);
  if (!p) principals.set(hash, (p = principalOf(hash)));
  const bytes = new Uint8Array(await request.arrayBuffer());
  let body: { query?: unknown };
  try {
    body = JSON.parse(utf8.decode(bytes));
  } catch {
    return refuse(400, "body is not JSON");
  }
  if (typeof body?.query !== "string") return refuse(400, "no query");
  const op = analyze(body.query);
  if (!op) return refuse(400, "not one GraphQL operation");
  for (const field of op.fields) if (!p.scopes.includes(`prefect:${op.type}:*`)) return refuse(403, `${op.type}/${field} refused`);
  const res = await fetch(upstreamUrl, {
    method: "POST",
    headers: { "content-type": "application/json", "x-flowgate-subject": p.subject },
    body: bytes,
  });
  const answer = new Response(res.body, res);
  answer.headers.set("x-request-id", crypto.randomUUID());
  return answer;
}

export default {
  fetch(request: Request, env: { PREFECT_GRAPHQL_URL: string }): Promise<Response> | Response {
    if (new URL(request.url).pathname !== "/prefect/graphql" || request.method !== "POST") return refuse(404, "no such route");
    return graphql(request, env.PREFECT_GRAPHQL_URL);
  },
};
