/**
 * An engine's web UI served from the gateway's own origin (docs/browser-sign-in.md "Serving the UIs"), so the UI
 * and its API calls share the session cookie: `/prefect/*` from PREFECT_UI_URL, `/conductor/*` from
 * CONDUCTOR_UI_URL (the Argo UI has its own handler, src/engines/argo/route.ts).
 *
 * Static files (scripts, styles, images, fonts, the UI's settings JSON) are public: they carry no engine data.
 * A page load (a browser navigation, or the UI's root) needs the session when browser sign-in is configured, and
 * is sent to sign in without one; the UI server answers it (its own single-page fallback included). Anything
 * else, and every method but GET and HEAD, is left to the route (404, or 401 first where the route says so): a UI
 * route never reaches an engine's API.
 */
import type { AppContext } from "../context";
import { GatewayError, unauthenticated } from "../errors";
import { isBrowserNavigation } from "../identity/browser";
import { signInConfigured } from "../pipeline";
import { forward } from "./forward";

/** Paths of a UI's static files. */
export const UI_STATIC_FILE = /\.(js|mjs|css|map|png|svg|ico|jpg|jpeg|gif|webp|woff2?|ttf|eot|txt|webmanifest|json)$/;

/** A UI path the UI server reads exactly as the gateway checked it: no escapes, no characters a server decodes. */
const UI_PLAIN_PATH = /^(\/[A-Za-z0-9_.~-]+)*\/?$/;

export interface UiRoute {
  /** The client headers the UI server receives: its engine's allow-list. */
  forwardedHeaders: readonly string[];
  /** The UI server's base URL, or undefined when this UI is not served here. */
  upstream: string | undefined;
  /** The gateway prefix it is served under: `/prefect`. */
  routePrefix: string;
  /** Human name for messages. */
  name: string;
}

/**
 * Serves one request of a UI, or answers null when it is not one (no UI configured, not GET or HEAD, neither a
 * static file nor a page): the route then answers as it would without a UI. `c.get("principal")` must already
 * be set (the route's `authenticated()`).
 */
export async function serveUi(c: AppContext, ui: UiRoute): Promise<Response | null> {
  const method = c.req.method;
  if (!ui.upstream || (method !== "GET" && method !== "HEAD")) return null;
  const url = new URL(c.req.url);
  const path = url.pathname.slice(ui.routePrefix.length) || "/";
  // Plain names only, for every UI: a UI server (nginx in the official images) decodes the path before matching
  // its locations, some of which proxy the engine's API with no identity; an escape (`%61pi`) or a dot segment
  // would let it read a path other than the one checked here. No UI's own page or file needs either.
  if (!UI_PLAIN_PATH.test(path) || path.split("/").some((s) => s === ".." || s === ".")) return null;
  const navigation = isBrowserNavigation(method, c.req.raw.headers);
  const isStatic = UI_STATIC_FILE.test(path);
  if (!isStatic && !navigation && path !== "/" && path !== "/index.html") return null;
  if (!isStatic && signInConfigured(c.get("config")) && !c.get("principal")) throw unauthenticated(`sign in to use the ${ui.name}`);
  const res = await forward({
    forwardedHeaders: ui.forwardedHeaders,
    upstream: ui.upstream,
    path: `${path}${url.search}`,
    routePrefix: ui.routePrefix,
    method,
    headers: c.req.raw.headers,
    // A UI server learns nothing about the caller: it serves the same files to everyone.
    identity: { "x-request-id": c.get("requestId") },
    timeoutMs: c.get("config").upstreamTimeoutMs,
  });
  if (res.status >= 500) throw new GatewayError("BAD_GATEWAY", `the ${ui.name} server answered ${res.status}`);
  return res;
}
