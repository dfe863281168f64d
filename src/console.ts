/**
 * The operator console's files (console/, built into Workers static assets; docs/console.md), served by the Worker:
 * wrangler.toml's `run_worker_first` sends `/console` and `/console/*` here before the asset server would answer
 * them, so that a page load of the console is gated like every UI's, and the files come from the ASSETS binding.
 *
 * - With an identity provider, a page load needs the session: without one (or with one no longer valid) the
 *   browser goes to sign in and back (src/pipeline.ts, `signInRedirect`). The console's scripts and styles are
 *   public, as every UI's static files are: they carry no data.
 * - Without a provider, the console loads as it is and signs in with its own key form (`POST /auth/key`).
 * Its security headers are set here, on every file, whoever serves the file.
 */
import { Hono } from "hono";
import type { AppContext, AppEnv } from "./context";
import { GatewayError, unauthenticated } from "./errors";
import { isBrowserNavigation } from "./identity/browser";
import { authenticated } from "./pipeline";

/** The console runs no inline script and loads nothing from elsewhere; it is never framed. */
const CONSOLE_HEADERS: [string, string][] = [
  [
    "content-security-policy",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  ],
  ["x-content-type-options", "nosniff"],
  ["referrer-policy", "same-origin"],
  ["cache-control", "no-cache"],
];

/** A page load of the console where sign-in goes through a provider: the session decides. */
const needsSession = (c: AppContext): boolean => !!c.get("config").oidc && isBrowserNavigation(c.req.method, c.req.raw.headers);

export function consoleRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  const session = authenticated();
  r.get("/", (c) => c.redirect("/console/", 301));
  r.get(
    "/*",
    (c, next) => (needsSession(c) ? session(c, next) : next()),
    async (c) => {
      if (needsSession(c) && !c.get("principal")) throw unauthenticated("sign in to use the operator console");
      if (!c.env.ASSETS) throw new GatewayError("NOT_FOUND", "no such route");
      const file = await c.env.ASSETS.fetch(c.req.raw);
      if (file.status === 404) throw new GatewayError("NOT_FOUND", "no such file of the console");
      const res = new Response(file.body, file); // the asset's headers are immutable; the pipeline adds X-Request-Id
      for (const [name, value] of CONSOLE_HEADERS) res.headers.set(name, value);
      return res;
    },
  );
  return r;
}
