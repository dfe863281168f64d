/**
 * The floors of ./key.ts and ./graphql.ts as routes of one Hono app with no middleware (bench/ab.ts FLOORS=1,
 * `floor-*-hono` rows of `npm run bench`): what the stack's router and context add to the same essentials.
 * `/whoami` answers through `c.json`, as flowgate's does.
 * Never deployed.
 */
import { Hono } from "hono";
import { graphql } from "./graphql";
import { callerOf, whoamiBody } from "./principal";

const app = new Hono<{ Bindings: { PREFECT_GRAPHQL_URL: string } }>();

app.get("/whoami", (c) => {
  const p = callerOf(c.req.header("authorization"));
  if (!p) return c.json({ error: "credential required" }, 401);
  return c.json(whoamiBody(p));
});
app.post("/prefect/graphql", (c) => graphql(c.req.raw, c.env.PREFECT_GRAPHQL_URL));

export default app;
