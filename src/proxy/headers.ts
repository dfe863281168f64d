/**
 * What headers cross the gateway. Pure functions: testable without a network.
 *
 * Identity never travels as the client sent it: a client header reaches an upstream only when it is on that
 * engine's allow-list (what the engine's API reads to answer: CONTENT_NEGOTIATION below and what its entry adds), so
 * a header nobody thought of (`remote-user`, `impersonate-user`, `x-hasura-role`, `forwarded`, `grpc-metadata-*`,
 * ...) cannot pass; the gateway then sets its own identity headers from the Principal.
 */
import { IDENTITY_HEADER_MAX_CHARS } from "../constants";
import { forbidden } from "../errors";
import type { Principal } from "../identity/principal";

/**
 * What any HTTP API reads to choose the form of its answer: no identity, no routing, no framing. Each engine's
 * allow-list (its Engine entry's `upstreams`, in src/engines/<name>/index.ts) starts from it and names, with why,
 * each header it adds. Never forwarded anywhere, whatever a list says: `accept-encoding` and `content-encoding` (the
 * gateway reads the bodies it checks, and the runtime negotiates compression itself), `cookie`, `forwarded`,
 * `x-forwarded-*`, hop-by-hop headers; test/routes/edge.test.ts holds every list to that.
 */
export const CONTENT_NEGOTIATION = ["accept", "accept-language", "content-type", "user-agent"] as const;

/**
 * Headers the replaced proxies, the engines and common front proxies read as identity. None is on an allow-list
 * except `authorization` for FlowAPI (its entry says why); they are named here so tests can check that none passes.
 */
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
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-prefix",
  "forwarded",
  "x-remote-user",
  "x-remote-group",
  "remote-user",
  "x-webauth-user",
  "impersonate-user",
  "impersonate-group",
  "impersonate-uid",
  "x-hasura-role",
  "x-hasura-user-id",
  "x-hasura-admin-secret",
  "x-authenticated-userid",
  "x-authorization",
  "grpc-metadata-authorization",
  "x-user-id",
  "x-user-email",
  "x-email",
  "x-api-key",
  "authorization",
  "cookie",
  "proxy-authorization",
  // The gateway's signed assertion (src/proxy/assertion.ts): only the gateway sets it, and only when it signs one.
  "x-flowgate-assertion",
];

/** Hop-by-hop headers, never passed back to the client from an upstream answer. */
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

const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROLS = /[\x00-\x1f\x7f]/g;

/**
 * Header values may not carry line breaks or other control characters. Values are set twice on the way (from the
 * principal, then for the upstream) and are almost always clean: tested first, rebuilt only when needed.
 */
const clean = (v: string) =>
  v.length <= IDENTITY_HEADER_MAX_CHARS && !CONTROL.test(v) ? v : v.replace(CONTROLS, " ").slice(0, IDENTITY_HEADER_MAX_CHARS);

/**
 * The role or group names an engine can read back exactly from a comma-joined header, and the assertion states
 * (src/proxy/assertion.ts `assertionClaims`, so a verifier comparing the two finds them equal): a name holding a
 * comma would be read as two names the gateway never granted, and one holding a control character or a space at
 * either end would arrive changed (HTTP drops a value's outer spaces, and engines trim the names they split: ` admin`
 * would be read as `admin`), so none of these is sent; the list ends at the last whole name that fits
 * IDENTITY_HEADER_MAX_CHARS, never inside one (a cut name could read as a shorter one: `admin` from
 * `administrators`). Leaving a name out only ever gives an engine less.
 */
export function carriedNames(names: readonly string[]): string[] {
  const out: string[] = [];
  let length = -1;
  for (const name of names) {
    if (name === "" || name.includes(",") || CONTROL.test(name) || name.trim() !== name) continue;
    if (length + 1 + name.length > IDENTITY_HEADER_MAX_CHARS) break;
    length += 1 + name.length;
    out.push(name);
  }
  return out;
}

/**
 * Whether a header carries `v` exactly: no control character (cleaned to a space), no space at either end (HTTP
 * drops a value's outer spaces, engines trim), within IDENTITY_HEADER_MAX_CHARS (cut beyond).
 */
export const carriedExactly = (v: string): boolean => v.length <= IDENTITY_HEADER_MAX_CHARS && !CONTROL.test(v) && v.trim() === v;

/**
 * The identity headers flowgate sets for an upstream, from the principal alone. A subject no header carries exactly
 * (`admin\n` would arrive as `admin`) is refused: the engine would act for someone else. An email that would arrive
 * changed is left out (the engine then knows less).
 */
export function principalHeaders(p: Principal | null, requestId: string): Record<string, string> {
  const h: Record<string, string> = { "x-request-id": requestId };
  if (!p) return h;
  if (!carriedExactly(p.subject)) {
    throw forbidden(
      `this subject cannot be passed to an engine as it is (a control character, a space at either end, or more than ${IDENTITY_HEADER_MAX_CHARS} characters)`,
    );
  }
  h["x-flowgate-subject"] = p.subject;
  if (p.tenant) h["x-flowgate-tenant"] = clean(p.tenant);
  if (p.email && carriedExactly(p.email)) h["x-flowgate-email"] = p.email;
  const roles = carriedNames(p.roles);
  const groups = carriedNames(p.groups);
  if (roles.length) h["x-flowgate-roles"] = roles.join(",");
  if (groups.length) h["x-flowgate-groups"] = groups.join(",");
  if (p.keyId) h["x-flowgate-key-id"] = clean(p.keyId);
  return h;
}

/**
 * Headers for the upstream request: the client's headers named in `allowed` (the upstream's allow-list, from its
 * engine's entry; content negotiation alone when none is given), plus the gateway's own identity headers, which
 * replace a client header of the same name. A plain record, which `fetch` takes as it is: the runtime builds its
 * headers in one call rather than one call from here per name (fewer calls into the runtime; the saving is within
 * the benchmark's noise). Names are lower-cased here, so a list written in another case can never
 * put the client's value beside the gateway's.
 */
export function upstreamRequestHeaders(
  incoming: Headers,
  identity: Record<string, string>,
  allowed: readonly string[] = CONTENT_NEGOTIATION,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of allowed) {
    const value = incoming.get(name);
    if (value !== null) out[name.toLowerCase()] = value;
  }
  for (const k in identity) out[k.toLowerCase()] = clean(identity[k]!);
  return out;
}

/** Never passed back from an upstream: hop-by-hop headers, and cookies (the gateway's own session is the only one). */
const NOT_PASSED_BACK = [...HOP_BY_HOP, "set-cookie"];

/**
 * Takes out of an answer's (mutable) headers what is never passed back: hop-by-hop headers (the runtime frames the
 * body) and cookies. The caller copies the upstream's answer with `new Response(res.body, res)`, which the runtime
 * does without rebuilding the headers; building a second Headers and a Response from parts costs ~40 µs more per
 * request (measured with bench/ab.ts; docs/benchmarks.md says how).
 */
export function dropNotPassedBack(headers: Headers): void {
  for (const name of NOT_PASSED_BACK) headers.delete(name);
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
