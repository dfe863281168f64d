/**
 * What headers cross the gateway. Pure functions: testable without a network.
 *
 * Identity never travels as the client sent it: every header that upstreams (or the replaced proxies) read as
 * identity is removed, and the gateway sets its own from the Principal.
 */
import type { Principal } from "../identity/principal";

/** Headers the replaced proxies and the engines read as identity; never forwarded as sent. */
export const CLIENT_IDENTITY_HEADERS = [
  "x-tenant-id",
  "from",
  "x-auth-user-roles",
  "x-auth-user-groups",
  "x-auth-user",
  "x-prefect-user-id",
  "x-prefect-tenant-id",
  "x-forwarded-user",
  "x-forwarded-email",
  "x-forwarded-groups",
  "x-forwarded-preferred-username",
  "x-remote-user",
  "x-remote-group",
  "x-user-id",
  "x-user-email",
  "x-email",
  "x-api-key",
  "authorization",
  "cookie",
  "proxy-authorization",
];

/** Hop-by-hop and platform headers that must not be forwarded. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "x-real-ip",
];

const STRIPPED_PREFIXES = ["x-flowgate-", "cf-", "x-auth-"];

const isStripped = (name: string) =>
  CLIENT_IDENTITY_HEADERS.includes(name) ||
  HOP_BY_HOP.includes(name) ||
  STRIPPED_PREFIXES.some((p) => name.startsWith(p));

/** Header values may not carry line breaks or other control characters. */
const clean = (v: string) => v.replace(/[\x00-\x1f\x7f]/g, " ").slice(0, 4096);

/** The identity headers flowgate sets for an upstream, from the principal alone. */
export function principalHeaders(p: Principal | null, requestId: string): Record<string, string> {
  const h: Record<string, string> = { "x-request-id": requestId };
  if (!p) return h;
  h["x-flowgate-subject"] = clean(p.subject);
  if (p.tenant) h["x-flowgate-tenant"] = clean(p.tenant);
  if (p.email) h["x-flowgate-email"] = clean(p.email);
  if (p.roles.length) h["x-flowgate-roles"] = clean(p.roles.join(","));
  if (p.groups.length) h["x-flowgate-groups"] = clean(p.groups.join(","));
  if (p.keyId) h["x-flowgate-key-id"] = clean(p.keyId);
  return h;
}

/**
 * Headers for the upstream request: the client's minus identity, credentials and hop-by-hop headers, plus the
 * gateway's own identity headers. `keep` lets a route forward one stripped header on purpose (FlowAPI verifies
 * its own token, so that route keeps `authorization`).
 */
export function upstreamRequestHeaders(
  incoming: Headers,
  identity: Record<string, string>,
  keep: readonly string[] = [],
): Headers {
  const out = new Headers();
  incoming.forEach((value, name) => {
    const n = name.toLowerCase();
    if (!isStripped(n) || keep.includes(n)) out.set(n, value);
  });
  for (const [k, v] of Object.entries(identity)) out.set(k, clean(v));
  return out;
}

/** Response headers worth passing back (hop-by-hop ones dropped; the runtime frames the body). */
export function downstreamResponseHeaders(incoming: Headers): Headers {
  const out = new Headers();
  incoming.forEach((value, name) => {
    const n = name.toLowerCase();
    if (!HOP_BY_HOP.includes(n) && n !== "set-cookie") out.append(n, value);
  });
  return out;
}

/**
 * Rewrites an upstream `Location` so the client stays behind the gateway: an absolute URL on the upstream's
 * origin, or an absolute path, moves under `routePrefix` (`/api/0/poll/1` -> `/flowapi/api/0/poll/1`).
 * Locations elsewhere are left alone.
 */
export function rewriteLocation(location: string, upstreamBase: string, routePrefix: string): string {
  const base = new URL(upstreamBase);
  const basePath = base.pathname.replace(/\/+$/, "");
  let target: URL;
  try {
    target = new URL(location, base);
  } catch {
    return location;
  }
  if (target.origin !== base.origin) return location;
  let path = target.pathname;
  if (basePath && (path === basePath || path.startsWith(`${basePath}/`))) path = path.slice(basePath.length) || "/";
  if (path.startsWith(`${routePrefix}/`) || path === routePrefix) return `${path}${target.search}${target.hash}`;
  return `${routePrefix}${path}${target.search}${target.hash}`;
}
