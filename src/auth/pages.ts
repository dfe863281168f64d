/**
 * The few pages sign-in shows a person (docs/browser-sign-in.md): plain HTML without scripts, styles or anything
 * a hostile return path or message could inject into, every text escaped. Pure.
 */
import type { GatewayError } from "../errors";

/** A page's security headers: nothing loads, nothing runs, forms post only to the gateway, never framed. */
export const PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A whole page; `body` is HTML the caller built from escaped parts. */
export function pageHtml(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** The sign-in start for `returnTo` (already a safe same-origin path). */
export const signInLink = (returnTo: string): string => `/auth/login?return_to=${encodeURIComponent(returnTo)}`;

function titleOf(e: GatewayError): string {
  if (e.code === "FORBIDDEN") return "You cannot sign in here";
  if (e.status === 401) return "Sign-in did not complete";
  if (e.status === 404) return "Sign-in is not available here";
  if (e.status === 502 || e.status === 503 || e.status === 504) return "The identity provider could not be reached";
  return "Sign-in failed";
}

/**
 * A failed sign-in, in words, with a way back: the refusal's own message (flowgate's words, never a code, token or
 * secret), a link to start again (to `returnTo`), and the request id to quote to an administrator.
 */
export function signInFailureHtml(e: GatewayError, requestId: string, returnTo: string): string {
  const sentence = `${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}.`;
  const parts = [`<p>${escapeHtml(sentence)}</p>`];
  if (e.code === "FORBIDDEN")
    parts.push("<p>If you have another account at the identity provider, sign out of it there first, then try again.</p>");
  if (e.status !== 404) parts.push(`<p><a href="${escapeHtml(signInLink(returnTo))}">Try again</a></p>`);
  parts.push(`<p>Reference: <code>${escapeHtml(requestId)}</code></p>`);
  return pageHtml(titleOf(e), parts.join(""));
}
