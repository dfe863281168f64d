/**
 * The key floor (bench/ab.ts FLOORS=1, docs/benchmarks.md): the least a gateway that checks an API key held in
 * memory does for `/whoami`, as one plain function. It reads the Bearer credential, hashes it with flowgate's own
 * `hashApiKey`, finds the principal in a Map (any key: the first sight of a hash plays the database) and answers
 * its ten fields as JSON. No router, no middleware, no request id, no validity, no log: what is left when every
 * frame of flowgate's pipeline is gone. Never deployed.
 */
import { hashApiKey } from "../../src/formats/apiKey";
import { principalOf, type FloorPrincipal } from "./principal";

const principals = new Map<string, FloorPrincipal>();

export function whoami(request: Request): Response {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  if (!m) return Response.json({ error: "credential required" }, { status: 401 });
  const hash = hashApiKey(m[1]!);
  let p = principals.get(hash);
  if (!p) principals.set(hash, (p = principalOf(hash)));
  const { kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants } = p;
  return Response.json({ kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants });
}

export default {
  fetch(request: Request): Response {
    if (new URL(request.url).pathname !== "/whoami") return Response.json({ error: "no such route" }, { status: 404 });
    return whoami(request);
  },
};
