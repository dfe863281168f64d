/**
 * The floors of ./key.ts and ./graphql.ts as routes of one Hono app with no middleware (bench/ab.ts FLOORS=1,
 * `floor-*-hono` rows of `npm run bench`): what the stack's router and context add to the same essentials.
 * `/whoami` answers through `c.json`, as flowgate's does.
 * Never deployed.
 */
import { Hono } from "hono";
import { hashApiKey } from "../../src/formats/apiKey";
import { graphql } from "./graphql";
import { principalOf, type FloorPrincipal } from "./principal";

const principals = new Map<string, FloorPrincipal>();
const app = new Hono<{ Bindings: { PREFECT_GRAPHQL_URL: string } }>();

app.get("/whoami", (c) => {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  if (!m) return c.json({ error: "credential required" }, 401);
  const hash = hashApiKey(m[1]!);
  let p = principals.get(hash);
  if (!p) principals.set(hash, (p = principalOf(hash)));
  const { kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants } = p;
  return c.json({ kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants });
});
app.post("/prefect/graphql", (c) => graphql(c.req.raw, c.env.PREFECT_GRAPHQL_URL));

export default app;
