/**
 * Browser-facing policy of the session, pure: where a sign-in may send the browser back to, which requests are
 * navigations (redirected to sign-in) rather than API calls (401), and which cookie-carried changes prove they
 * come from the gateway's own pages.
 */
import { MAX_RETURN_PATH_LENGTH } from "../constants";
import { allow, refuse, type Verdict } from "../verdict";
import { constantTimeEqual } from "../formats/apiKey";

const PLAIN = /^[\x21-\x7e]+$/;
const PROBE_ORIGIN = "https://flowgate.invalid";

/**
 * A same-origin relative path, or "/" for anything else. Refused: absolute and scheme-relative URLs (`https:`,
 * `javascript:`, `//evil`, `/\evil`), anything a URL parser would strip or fold (tabs, newlines, spaces,
 * backslashes), and encoded slashes that decode to one of those.
 */
export function safeReturnPath(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_RETURN_PATH_LENGTH) return "/";
  if (!PLAIN.test(raw) || raw.includes("\\") || !raw.startsWith("/") || raw.startsWith("//")) return "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return "/";
  }
  if (decoded.startsWith("//") || decoded.startsWith("/\\") || decoded.includes("\\")) return "/";
  let u: URL;
  try {
    u = new URL(raw, PROBE_ORIGIN);
  } catch {
    return "/";
  }
  if (u.origin !== PROBE_ORIGIN) return "/";
  const path = `${u.pathname}${u.search}${u.hash}`;
  return path.startsWith("/") && !path.startsWith("//") ? path : "/";
}

/** A top-level page load by a person (not a script's API call): the only request sign-in redirects. */
export function isBrowserNavigation(method: string, headers: Headers): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  if (headers.get("sec-fetch-mode") !== "navigate") return false;
  const dest = headers.get("sec-fetch-dest");
  if (dest !== null && dest !== "document") return false;
  return (headers.get("accept") ?? "").toLowerCase().includes("text/html");
}

/**
 * Whether an answer is for a person to read (a page) rather than for a script (JSON): a navigation, whatever its
 * method (a form post is one), or, from a client that sends no fetch metadata, one that asks for HTML.
 */
export function wantsPage(headers: Headers): boolean {
  const mode = headers.get("sec-fetch-mode");
  if (mode !== null) return mode === "navigate";
  return (headers.get("accept") ?? "").toLowerCase().includes("text/html");
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** The content types an HTML form (or a no-preflight fetch) can send cross-origin. */
const FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]);

/** A change made with the cookie that is not proven to come from the gateway's own pages: 403. */
const crossSite = (reason: string): Verdict => refuse(reason, "FORBIDDEN");

/** Proof 1 below alone: the browser says the request comes from the gateway's own origin. */
export function sameOriginCheck(headers: Headers, gatewayOrigin: string): Verdict {
  const site = headers.get("sec-fetch-site");
  const origin = headers.get("origin");
  if (site !== null && site !== "same-origin") return crossSite("cross-site request refused");
  if (origin !== null && origin !== gatewayOrigin) return crossSite("cross-origin request refused");
  if (site === null && origin === null) return crossSite("a change made with the session cookie needs an Origin header");
  return allow();
}

/**
 * Whether a cookie-carried request must be refused as cross-site (403, and why), or may pass because it proves it
 * comes from the gateway's own origin. Two proofs, both required for a change:
 * 1. the browser says where it comes from: `Sec-Fetch-Site: same-origin` when sent, and `Origin` equal to the
 *    gateway's origin when sent (one of the two must be there; every current browser sends both on a POST);
 * 2. the request is one no other origin can make without a CORS preflight (which the gateway grants only to
 *    CORS_ORIGINS): a method other than POST, or a POST whose body is not a form type (the Prefect UI's Apollo
 *    client, the Conductor UI and the Argo UI all send `application/json`), or an `X-CSRF-Token` header equal to
 *    the session's token (forms use the `csrf_token` field, read by the route that takes forms). The token stands
 *    where Origin cannot: the gateway's origin serves the engines' UIs, pages it does not write, and a form
 *    injected into one of them (no script needed) would post from the gateway's own origin.
 *
 * Not Hono's `hono/csrf`, which fits neither proof: it looks only at requests with a form content type, and passes
 * one when either Sec-Fetch-Site or Origin names the gateway. A change carried by the cookie is checked here
 * whatever its content type (an origin listed in CORS_ORIGINS passes the preflight of a JSON request with
 * credentials, and still must not act with the session), both headers must agree when sent, and a form needs the
 * session's token besides. `POST /auth/key` uses proof 1 alone for the same reason.
 */
export function crossSiteCheck(method: string, headers: Headers, gatewayOrigin: string, csrfToken: string | null): Verdict {
  if (SAFE_METHODS.has(method)) return allow();
  const sameOrigin = sameOriginCheck(headers, gatewayOrigin);
  if (!sameOrigin.ok) return sameOrigin;
  const token = headers.get("x-csrf-token");
  if (token !== null && csrfToken !== null)
    return constantTimeEqual(token, csrfToken) ? allow() : crossSite("CSRF token does not match the session");
  if (method !== "POST") return allow();
  const type = (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "" || FORM_TYPES.has(type)) return crossSite("a form post with the session cookie needs its CSRF token");
  return allow();
}
