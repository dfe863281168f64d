/**
 * The one way a request reaches an upstream engine: bounded in time, client headers by the engine's allow-list,
 * identity headers set by the gateway with their signed assertion (src/proxy/assertion.ts) when keys are configured,
 * errors mapped to the envelope (502 unreachable, 504 too slow), `Location` kept under the route's prefix.
 * Bodies stream both ways unless a route reads them to rewrite.
 */
import { DRY_RUN_BODY_CHARS, DryRunHalt, currentDryRun, type DryRun } from "../dryRun";
import { GatewayError } from "../errors";
import { ASSERTION_HEADER, type Asserter } from "./assertion";
import { dropNotPassedBack, rewriteLocation, upstreamRequestHeaders } from "./headers";

export interface ForwardOptions {
  /** The client headers that may pass: the allow-list of the engine behind `upstream` (its entry's `upstreams`). */
  forwardedHeaders: readonly string[];
  /** Base URL of the engine, e.g. `http://conductor:8080`. */
  upstream: string;
  /** Path (and query) below the base, already rebuilt by the route: `/api/workflow/abc?includeTasks=true`. */
  path: string;
  /** The gateway prefix of this route, for `Location` rewriting: `/conductor`. */
  routePrefix: string;
  method: string;
  headers: Headers;
  identity: Record<string, string>;
  /** Signs the call's assertion of `identity`; absent for calls without a principal or without configured keys. */
  assertion?: Asserter;
  body?: BodyInit | null;
  timeoutMs: number;
  /**
   * The Workers `mtls_certificates` binding to call the upstream through (it presents the gateway's client
   * certificate); the runtime's own `fetch` when absent.
   */
  via?: Fetcher;
}

export async function forward(opts: ForwardOptions): Promise<Response> {
  const url = opts.upstream.replace(/\/+$/, "") + opts.path;
  const dryRun = currentDryRun();
  if (dryRun) return haltDryRun(dryRun, url, opts);
  const signed = opts.assertion?.(url, opts.method);
  const assertion = typeof signed === "string" || signed === undefined ? signed : await signed;
  // The timeout bounds the wait for the answer's head only: a long stream (logs, events) may then run on.
  // (AbortSignal.timeout would be cheaper but would also cut those streams: workerd aborts a body read in JS.)
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  let res: Response;
  try {
    const headers = upstreamRequestHeaders(opts.headers, opts.identity, opts.forwardedHeaders);
    // Set after the identity headers are cleaned and cut at 4,096 characters: a cut assertion would not verify. It
    // is the gateway's own base64url text, with nothing to clean.
    if (assertion !== undefined) headers[ASSERTION_HEADER] = assertion;
    const init: RequestInit = {
      method: opts.method,
      headers,
      body: opts.method === "GET" || opts.method === "HEAD" ? undefined : opts.body,
      redirect: "manual",
      signal: controller.signal,
    };
    res = await (opts.via ? opts.via.fetch(url, init) : fetch(url, init));
  } catch {
    clearTimeout(timer);
    if (controller.signal.aborted) throw new GatewayError("UPSTREAM_TIMEOUT", "upstream did not answer in time");
    throw new GatewayError("UPSTREAM_UNAVAILABLE", "upstream unreachable");
  }
  clearTimeout(timer);
  // No route asks for a protocol switch (no allow-list passes `upgrade`); should an upstream answer with one anyway,
  // it is refused rather than handed on (a WebSocket would carry messages no policy of the gateway reads).
  if (res.status === 101 || res.webSocket) throw new GatewayError("UPSTREAM_UNAVAILABLE", "upstream answered with a protocol switch");
  // A copy with mutable headers, made by the runtime from the answer itself (status, status text, headers, body).
  const answer = new Response(res.body, res);
  dropNotPassedBack(answer.headers);
  const location = answer.headers.get("location");
  if (location) answer.headers.set("location", rewriteLocation(location, opts.upstream, opts.routePrefix));
  return answer;
}

/**
 * `url` without a `user:password@` part. Configuration refuses credentials in upstream URLs (src/configFields.ts
 * `url`); this keeps an answer free of one even so, should a URL be built some other way.
 */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === "" && u.password === "") return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}

/** In a dry run (`/admin/explain`): records the first upstream call the pipeline would make, and stops there. */
async function haltDryRun(dryRun: DryRun, url: string, opts: ForwardOptions): Promise<never> {
  if (!dryRun.upstreamCall) {
    const sendsBody = opts.method !== "GET" && opts.method !== "HEAD" && opts.body != null;
    const text = sendsBody ? await new Response(opts.body).text() : null;
    // The assertion is not signed for a call that is never made; its header is named as a real call would carry it.
    const identity = opts.assertion ? { ...opts.identity, [ASSERTION_HEADER]: "-" } : opts.identity;
    dryRun.upstreamCall = {
      method: opts.method,
      url: withoutCredentials(url),
      // Built as `fetch` would build them, so a value it would refuse is refused here too.
      headerNames: [...new Headers(upstreamRequestHeaders(opts.headers, identity, opts.forwardedHeaders)).keys()].sort(),
      body: text === null ? null : text.slice(0, DRY_RUN_BODY_CHARS),
      bodyTruncated: text !== null && text.length > DRY_RUN_BODY_CHARS,
    };
  }
  throw new DryRunHalt();
}
