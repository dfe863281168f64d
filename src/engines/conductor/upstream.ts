/**
 * The Conductor (and Schellar) edge of the route: every call goes through `forward` (timeout, identity headers,
 * errors in the envelope) with a path built from encoded segments and a query rebuilt from parsed values. Answers
 * are read as JSON here: a malformed answer is a 502, an upstream error becomes the envelope with the tenant's
 * prefix taken out of its message, and nothing of another tenant's is ever quoted.
 */
import { LruCache } from "../../cache/lru";
import {
  DEFAULT_MAX_UPSTREAM_ANSWER_BYTES,
  LISTING_CACHE_MAX_ENTRIES,
  LISTING_CACHE_MAX_WEIGHT,
  LISTING_CACHE_TTL_MS,
} from "../../constants";
import { GatewayError, badRequest, type ErrorCode } from "../../errors";
import type { TenantName } from "../../identity/principal";
import type { SubrequestBudget } from "../../proxy/budget";
import { readStreamLimited } from "../../proxy/body";
import { requireAnswerDepth } from "../../proxy/json";
import type { UpstreamClient } from "../../services";
import { secretInRequest } from "./expressions";
import { GLOBAL_PREFIX, TENANT_SEPARATOR, tenantPrefix } from "./tenantNames";

export interface SendOptions {
  /** Bound on the wait for the answer's head (default UPSTREAM_TIMEOUT_MS); long polls wait longer. */
  timeoutMs?: number;
  /** The body is sent as it is (already bytes or text), with this content type. */
  rawBody?: boolean;
  contentType?: string;
}

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  text: string;
}

/**
 * Rewritten listings, with the upstream bytes each was made from. The key names everything the rewrite depends on:
 * the upstream, the path and query, the tenant, and the caller's view (see `listRewritten`); a cached answer is
 * used only when the upstream has just answered with exactly the same bytes.
 */
const rewrittenListings = new LruCache<Rewritten>(
  LISTING_CACHE_MAX_ENTRIES,
  Date.now,
  LISTING_CACHE_MAX_WEIGHT,
  (_key, v) => v.upstream.byteLength + v.body.byteLength,
);
/** Rewrites under way, by the same key: concurrent misses with the same bytes wait for one instead of each parsing. */
const rewritesInFlight = new Map<string, Promise<Rewritten>>();

interface Rewritten {
  /** The upstream's answer the rewrite was made from. */
  upstream: Uint8Array;
  /** The rewritten listing, UTF-8 JSON (each Response copies it). */
  body: Uint8Array<ArrayBuffer>;
}
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Byte-for-byte equality; the runtime's own comparison (native, a few µs for 1 MB) where it has one. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBufferView, y: ArrayBufferView) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Conductor's (or Schellar's) API for one request, over the request's client of that upstream (src/services.ts:
 * identity headers, timeout and the request's one budget fixed when it is made). The client is asked for on the first
 * call, so an unset CONDUCTOR_URL / SCHELLAR_URL is refused where the request first needs the upstream.
 */
export class ConductorUpstream {
  constructor(
    private readonly client: () => UpstreamClient,
    /** The tenant whose prefix is taken out of error messages (null: a worker serving several). */
    readonly tenant: TenantName | null,
    /** The request's subrequest budget (the client's): fan-outs look at what is left. */
    readonly budget: SubrequestBudget,
    /** MAX_UPSTREAM_ANSWER_BYTES: the largest answer read whole; a larger one is refused before it is held. */
    private readonly maxAnswerBytes = DEFAULT_MAX_UPSTREAM_ANSWER_BYTES,
  ) {}

  /** The upstream's base URL: part of every cache key, so two Conductors never share an answer. */
  get id(): string {
    return this.client().base;
  }

  /** Sends a request; `segments` are encoded one by one, so no value can add a path segment or a query. */
  async send(
    method: string,
    segments: readonly string[],
    query?: URLSearchParams,
    body?: unknown,
    opts: SendOptions = {},
  ): Promise<Response> {
    const path = `/${segments.map(encodeURIComponent).join("/")}`;
    const qs = query && [...query.keys()].length > 0 ? `?${query.toString()}` : "";
    const headers = new Headers({ accept: "application/json, text/plain" });
    if (body !== undefined) headers.set("content-type", opts.contentType ?? "application/json");
    if (opts.rawBody && body !== undefined && typeof body !== "string") throw new TypeError("a raw body is sent as a string");
    const text = body === undefined ? undefined : opts.rawBody ? (body as string) : JSON.stringify(body);
    const secret = secretInRequest(segments, query, text);
    if (secret !== null) throw badRequest(secret);
    return this.client().send({ path: path + qs, method, headers, body: text, timeoutMs: opts.timeoutMs });
  }

  /** Sends a request and reads the whole answer; an error status becomes a GatewayError. */
  async call(
    method: string,
    segments: readonly string[],
    query?: URLSearchParams,
    body?: unknown,
    opts: SendOptions = {},
  ): Promise<UpstreamAnswer> {
    const res = await this.send(method, segments, query, body, opts);
    const text = decoder.decode(await readAnswer(res, this.maxAnswerBytes));
    const answer = { status: res.status, contentType: res.headers.get("content-type") ?? "", text };
    if (res.status >= 400) throw upstreamError(answer, this.tenant);
    return answer;
  }

  /** Like `call`, for answers that must be JSON (an empty answer is `null`). */
  async json(
    method: string,
    segments: readonly string[],
    query?: URLSearchParams,
    body?: unknown,
    opts: SendOptions = {},
  ): Promise<unknown> {
    return parseAnswer(await this.call(method, segments, query, body, opts));
  }

  /**
   * A listing (a JSON array), its depth checked on the text before it is parsed, each element passed
   * through `rewrite` (left out when it returns `undefined`). Not an array, or not JSON: 502.
   */
  async list(segments: readonly string[], rewrite: (element: unknown) => unknown, query?: URLSearchParams): Promise<unknown[]> {
    const res = await this.send("GET", segments, query);
    if (res.status >= 400) {
      const text = decoder.decode(await readAnswer(res, this.maxAnswerBytes).catch(() => new Uint8Array(0)));
      throw upstreamError({ status: res.status, contentType: res.headers.get("content-type") ?? "", text }, this.tenant);
    }
    const text = decoder.decode(await readAnswer(res, this.maxAnswerBytes));
    return rewriteListing(text, rewrite);
  }

  /**
   * `list`, serialized, for the listings a UI reloads whole (the 1 MB definition listing): while the upstream
   * answers with the same bytes, the rewrite made from them the last time is served again, so a listing costs a
   * read and a comparison instead of a parse, a rewrite and a serialization of every element (and holds ~2 MB while
   * in flight instead of ~10 MB of parsed objects). `view` must name everything `rewrite` depends on besides the
   * tenant (e.g. admin, or the labels a non-admin may see): two callers with equal views get equal answers.
   */
  async listRewritten(
    segments: readonly string[],
    view: string,
    rewrite: (element: unknown) => unknown,
    query?: URLSearchParams,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const res = await this.send("GET", segments, query);
    if (res.status >= 400) {
      const text = decoder.decode(await readAnswer(res, this.maxAnswerBytes).catch(() => new Uint8Array(0)));
      throw upstreamError({ status: res.status, contentType: res.headers.get("content-type") ?? "", text }, this.tenant);
    }
    const bytes = await readAnswer(res, this.maxAnswerBytes);
    const key = `${this.id}\u0000${segments.join("/")}?${query?.toString() ?? ""}\u0000${this.tenant ?? ""}\u0000${view}`;
    const cached = rewrittenListings.get(key);
    if (cached && sameBytes(cached.upstream, bytes)) return cached.body;
    const pending = rewritesInFlight.get(key);
    if (pending) {
      const other = await pending.catch(() => null);
      if (other && sameBytes(other.upstream, bytes)) return other.body;
    }
    const work = (async (): Promise<Rewritten> => {
      const out = rewriteListing(decoder.decode(bytes), rewrite);
      return { upstream: bytes, body: encoder.encode(JSON.stringify(out)) as Uint8Array<ArrayBuffer> };
    })();
    rewritesInFlight.set(key, work);
    try {
      const made = await work;
      rewrittenListings.set(key, made, LISTING_CACHE_TTL_MS);
      return made.body;
    } finally {
      if (rewritesInFlight.get(key) === work) rewritesInFlight.delete(key);
    }
  }

  /** Like `json`, with 404 (or an empty answer) as `null` instead of an error. */
  async jsonOrNull(method: string, segments: readonly string[], query?: URLSearchParams): Promise<unknown> {
    try {
      return await this.json(method, segments, query);
    } catch (e) {
      if (e instanceof GatewayError && e.code === "NOT_FOUND") return null;
      throw e;
    }
  }
}

/**
 * The whole body of an answer, at most `maxBytes` of it: a larger one (by its Content-Length, or counted as it
 * arrives) is refused with 502 and its stream cancelled, so it is never held whole, parsed or half relayed. What
 * the bound is chosen from: docs/benchmarks.md, "Hard edges: the largest listing".
 */
export async function readAnswer(res: Response, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new GatewayError(
      "BAD_GATEWAY",
      `the upstream's answer is larger than MAX_UPSTREAM_ANSWER_BYTES (${maxBytes} bytes), more than the gateway rewrites in its memory; ask for less (a narrower search or a smaller page)`,
      { limit: maxBytes },
    );
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  try {
    // A declared length within the bound, of an answer the runtime does not decompress, is read natively: the
    // runtime holds the body to its Content-Length, and one native read costs far less CPU than a read loop in JS
    // (the 1 MB listing: about 1.6 ms less, docs/benchmarks.md). Otherwise the bytes are counted as they arrive.
    const encoded = (res.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity";
    if (Number.isFinite(declared) && !encoded) {
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > maxBytes) throw tooLarge();
      return bytes;
    }
    return await readStreamLimited(res.body, maxBytes, tooLarge);
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    throw new GatewayError("BAD_GATEWAY", "upstream answer was cut off");
  }
}

export function parseAnswer(answer: UpstreamAnswer): unknown {
  if (answer.text.trim() === "") return null;
  requireAnswerDepth(answer.text);
  try {
    return JSON.parse(answer.text);
  } catch {
    throw malformed();
  }
}

export const malformed = () =>
  new GatewayError("BAD_GATEWAY", "the upstream answered with something that is not what this endpoint returns");

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  409: "CONFLICT",
  412: "BAD_REQUEST",
  422: "BAD_REQUEST",
};

/**
 * An upstream error as the gateway's own: client errors keep their status and a message with the tenant's
 * prefix removed (or a generic one if it names anything else of the upstream's); server errors are a 502.
 */
export function upstreamError(answer: UpstreamAnswer, tenant: TenantName | null): GatewayError {
  const code = CODE_BY_STATUS[answer.status];
  if (!code) return new GatewayError("BAD_GATEWAY", `upstream error (${answer.status})`);
  if (code === "NOT_FOUND") return new GatewayError("NOT_FOUND", "not found");
  let message = "";
  try {
    const parsed = JSON.parse(answer.text) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    message = answer.contentType.startsWith("text/plain") ? answer.text : "";
  }
  message = message.slice(0, 500);
  if (tenant !== null) message = message.split(tenantPrefix(tenant)).join("");
  const foreign = message.split(GLOBAL_PREFIX).join("").includes(TENANT_SEPARATOR) || /[\x00-\x1f]/.test(message);
  return new GatewayError(code, message && !foreign ? `upstream refused: ${message}` : `upstream refused the request (${answer.status})`);
}

/**
 * A listing's text, checked (nesting, JSON, an array) and rewritten element by element; elements the rewrite
 * answers `undefined` for (another tenant's) are left out. One place for `list` and `listRewritten`.
 */
function rewriteListing(text: string, rewrite: (element: unknown) => unknown): unknown[] {
  requireAnswerDepth(text);
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw malformed();
  }
  if (!Array.isArray(answer)) throw malformed();
  const out: unknown[] = [];
  for (const element of answer) {
    const r = rewrite(element);
    if (r !== undefined) out.push(r);
  }
  return out;
}
