/**
 * The GraphQL floor (bench/ab.ts FLOORS=1, `floor-graphql*` rows of `npm run bench`, docs/benchmarks.md): the
 * essentials of deciding one GraphQL operation against a key's scopes, as one plain function, and nothing more:
 * the key as in ./key.ts; the whole body read, decoded and parsed as JSON; the document's analysis (graphql-js
 * `parse`: one operation, its type and root fields; fragments at the root refused) cached by its text; each root
 * field checked against the scopes; the bytes read sent upstream with the caller's subject; the upstream's answer
 * returned as it is. A correct gateway does all of this and more (flowgate also bounds the body, scans its nesting,
 * checks the other request fields, keys its analysis cache by its limits too and bounds it, sets four identity
 * headers and a request id, times the upstream's head out, cleans and copies the answer, charges the rate limit,
 * audits mutations): so no correct gateway doing this work spends less, and a gateway row's CPU over this floor is
 * everything it does beyond these essentials, required checks included. Never deployed.
 */
import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { callerOf } from "./principal";

const analyses = new Map<string, { type: string; fields: string[] } | null>();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const refuse = (status: number, error: string) => Response.json({ errors: [{ message: error }] }, { status });

function analyze(query: string): { type: string; fields: string[] } | null {
  let found = analyses.get(query);
  if (found !== undefined) return found;
  try {
    const ops = parse(query).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const op = ops.length === 1 ? ops[0]! : null;
    // A fragment at the root would hide fields from the check below: refused, never forwarded unchecked.
    const fields = op?.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : null)) ?? [null];
    found = op && !fields.includes(null) ? { type: op.operation, fields: fields as string[] } : null;
  } catch {
    found = null;
  }
  analyses.set(query, found);
  return found;
}

export async function graphql(request: Request, upstreamUrl: string): Promise<Response> {
  const p = callerOf(request.headers.get("authorization"));
  if (!p) return refuse(401, "credential required");
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
  for (const field of op.fields)
    if (!p.scopes.includes(`prefect:${op.type}:${field}`) && !p.scopes.includes(`prefect:${op.type}:*`))
      return refuse(403, `${op.type}/${field} refused`);
  return fetch(upstreamUrl, {
    method: "POST",
    headers: { "content-type": "application/json", "x-flowgate-subject": p.subject },
    body: bytes,
  });
}

export default {
  fetch(request: Request, env: { PREFECT_GRAPHQL_URL: string }): Promise<Response> | Response {
    if (new URL(request.url).pathname !== "/prefect/graphql" || request.method !== "POST") return refuse(404, "no such route");
    return graphql(request, env.PREFECT_GRAPHQL_URL);
  },
};
