/**
 * The gateway, in one picture:
 *
 *   request -> frontDoor, one step (src/pipeline.ts):
 *                request id -> configuration (validated env, KV control state, logger)
 *                -> path guard (400 for a path an upstream could route differently: encoded / \ . ; %, controls)
 *                -> CORS (preflights answered without credentials) -> route -> RateLimit headers, X-Request-Id, log
 *           -> route group: authenticated (credential -> Principal)   [one per engine: src/engines/index.ts]
 *                        -> engine policy (authorize, rewrite request)   [src/engines/<engine>]
 *                        -> forward (upstream, timeout, headers by allow-list) [src/proxy]
 *                        -> engine policy (rewrite response)
 *           -> renderError (one envelope) on any refusal
 */
import { Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { adminRoutes } from "./admin/routes";
import { authRoutes } from "./auth/routes";
import { consoleRoutes } from "./console";
import type { AppEnv } from "./context";
import { engines } from "./engines";
import { JWKS_PUBLISH_MAX_AGE_S } from "./constants";
import { GatewayError } from "./errors";
import { authenticated, frontDoor, renderError, requirePrincipal } from "./pipeline";
import { writeRateLimitHeaders } from "./ratelimit/enforce";
import { configFor } from "./readConfig";
import { upstreamTable } from "./services";

export function buildApp(): Hono<AppEnv> {
  // Hono's TrieRouter, named rather than left to SmartRouter: the route table puts fixed words beside parameters
  // at one place (`POST /admin/keys/import-prefect` beside `POST /admin/keys/:id/rotate`, Conductor's
  // `/api/workflow/search` beside `/api/workflow/:workflowId`), which RegExpRouter refuses, so SmartRouter would try
  // RegExpRouter on each isolate's first request (about 1 ms of CPU) and settle on TrieRouter anyway. A match costs
  // 0.4-1.4 µs of CPU (`npx tsx bench/router.ts`; docs/benchmarks.md, "Router").
  const app = new Hono<AppEnv>({ router: new TrieRouter() });
  // The path guard is the first decision: only the request id and the configuration (so its refusals are logged
  // like any other) come before it; CORS, authentication and routing all come after. The registry's upstreams
  // (their variables and header allow-lists) are put together once and handed to each request.
  app.use(
    "*",
    frontDoor({
      configFor,
      upstreams: upstreamTable(engines),
      groups: [...engines, { name: "admin", mount: "/admin" }, { name: "auth", mount: "/auth" }],
      finish: writeRateLimitHeaders,
    }),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  // The public keys of the upstream assertions (src/proxy/assertion.ts), for the engines' verifiers: every key of
  // UPSTREAM_ASSERTION_KEYS, the signing one first; an empty set when none is configured (then nothing verifies).
  app.get("/.well-known/jwks.json", (c) => {
    c.header("cache-control", `public, max-age=${JWKS_PUBLISH_MAX_AGE_S}`);
    return c.json(c.get("config").upstreamAssertion?.jwks ?? { keys: [] });
  });

  // Who the gateway takes the caller to be: lets a user check a key's or token's grants without trial and error.
  app.get("/whoami", authenticated(), (c) => {
    const { kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants } = requirePrincipal(c);
    return c.json({ kind, subject, email, tenant, roles, groups, scopes, keyId, tokenId, servesTenants });
  });

  // The operator console (src/console.ts): its files behind the same sign-in as every UI.
  app.route("/console", consoleRoutes());

  app.route("/auth", authRoutes(engines));
  app.route(
    "/admin",
    adminRoutes((request, env, ctx) => app.fetch(request, env, ctx), engines),
  );
  for (const engine of engines) app.route(engine.mount, engine.routes());

  app.notFound((c) => renderError(new GatewayError("NOT_FOUND", "no such route"), c));
  app.onError((err, c) => renderError(err, c));
  return app;
}
