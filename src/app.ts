/**
 * The gateway, in one picture:
 *
 *   request -> requestContext (X-Request-Id, access log)
 *           -> canonicalPath (400 for a path an upstream could route differently: encoded / \\ . ; %, controls)
 *           -> configuration (validated env, KV control state, logger)
 *           -> corsPolicy (preflights answered without credentials)
 *           -> route group: authenticated (credential -> Principal)
 *                        -> engine policy (authorize, rewrite request)   [src/engines/<engine>]
 *                        -> forward (upstream, timeout, identity headers) [src/proxy]
 *                        -> engine policy (rewrite response)
 *           -> renderError (one envelope) on any refusal
 */
import { Hono } from "hono";
import { adminRoutes } from "./admin/routes";
import type { AppEnv } from "./context";
import { argoRoutes } from "./engines/argo/route";
import { conductorRoutes } from "./engines/conductor/route";
import { flowapiRoutes } from "./engines/flowapi/route";
import { prefectRoutes } from "./engines/prefect/route";
import { workersRoutes } from "./engines/workers/route";
import { GatewayError } from "./errors";
import { authenticated, canonicalPath, configuration, corsPolicy, renderError, requestContext, requirePrincipal } from "./pipeline";

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requestContext, canonicalPath, configuration, corsPolicy);

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  // Who the gateway takes the caller to be: lets a user check a key's or token's grants without trial and error.
  app.get("/whoami", authenticated(), (c) => {
    const { kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants } = requirePrincipal(c);
    return c.json({ kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants });
  });

  app.route("/admin", adminRoutes());
  app.route("/prefect", prefectRoutes());
  app.route("/conductor", conductorRoutes());
  app.route("/workers", workersRoutes());
  app.route("/argo", argoRoutes());
  app.route("/flowapi", flowapiRoutes());

  app.notFound((c) => renderError(new GatewayError("NOT_FOUND", "no such route"), c));
  app.onError((err, c) => renderError(err, c));
  return app;
}
