/**
 * One error type, one envelope. Everything that refuses a request throws a `GatewayError`; the app's `onError`
 * renders it as `{"error":{code,message,requestId}}`, or in GraphQL's shape on GraphQL routes.
 */
export type ErrorCode =
  | "BAD_CONFIGURATION"
  | "BAD_REQUEST"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "AUTH_BACKEND_UNAVAILABLE"
  | "BAD_GATEWAY"
  | "UPSTREAM_UNAVAILABLE"
  | "UPSTREAM_TIMEOUT"
  | "NOT_IMPLEMENTED"
  | "LIMIT_EXCEEDED"
  | "PERSISTED_QUERY_NOT_SUPPORTED"
  | "BATCH_REFUSED"
  | "RATE_LIMITED"
  | "COST_EXCEEDS_LIMIT"
  | "INTERNAL";

const STATUS: Record<ErrorCode, number> = {
  BAD_CONFIGURATION: 500,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  AUTH_BACKEND_UNAVAILABLE: 503,
  BAD_GATEWAY: 502,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  NOT_IMPLEMENTED: 501,
  LIMIT_EXCEEDED: 400,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  BATCH_REFUSED: 400,
  /** A rate limit or quota (src/ratelimit): 429 for every client, GraphQL or not, with Retry-After. */
  RATE_LIMITED: 429,
  /**
   * A request costing more than a whole rate limit or quota (src/ratelimit): it can never pass, so not a 429 (which
   * says "too many requests in a given amount of time", and which clients retry) and no Retry-After; 413 because
   * the request is larger, in the limit's units, than the server will ever process (RFC 9110 15.5.14: without
   * Retry-After the condition is not temporary). Kept as is for GraphQL clients too (src/graphqlHttp.ts).
   */
  COST_EXCEEDS_LIMIT: 413,
  INTERNAL: 500,
};

/** The HTTP status of an error code (what a `GatewayError` of that code answers with). */
export const statusOf = (code: ErrorCode): number => STATUS[code];

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, non-secret fields for the body (e.g. the refused GraphQL fields). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = STATUS[code];
  }
}

export const unauthenticated = (message = "missing or invalid credential") => new GatewayError("UNAUTHENTICATED", message);
export const forbidden = (message = "not allowed") => new GatewayError("FORBIDDEN", message);
export const badRequest = (message: string, details?: Record<string, unknown>) => new GatewayError("BAD_REQUEST", message, details);
export const notFound = (message = "not found") => new GatewayError("NOT_FOUND", message);

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string } & Record<string, unknown>;
}

export function errorEnvelope(err: GatewayError, requestId: string): ErrorEnvelope {
  return { error: { ...(err.details ?? {}), code: err.code, message: err.message, requestId } };
}

export interface GraphQLErrorBody {
  errors: { message: string; extensions: { code: ErrorCode; requestId: string } & Record<string, unknown> }[];
}

export function graphqlErrorBody(err: GatewayError, requestId: string): GraphQLErrorBody {
  return { errors: [{ message: err.message, extensions: { ...(err.details ?? {}), code: err.code, requestId } }] };
}

/**
 * Conductor's own error shape (its `ErrorResponse`: `status`, `code`, `message`, `instance`, `retryable`), which
 * every Conductor client reads at the top level of the body, plus flowgate's `requestId`. Conductor's `code` is a
 * free string it leaves unset or fills with an upper-snake kind (`NOT_FOUND`, `INVALID_INPUT`): it carries
 * flowgate's code, the same kind of value, rather than a second field. A refused token adds the string `error`
 * (`EXPIRED_TOKEN`, `INVALID_TOKEN`) on which the Conductor SDKs fetch a new token and retry.
 */
export interface ConductorErrorBody {
  status: number;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  requestId: string;
  error?: TokenErrorCode;
  [detail: string]: unknown;
}

/** The token refusals the Conductor SDKs act on (a new token, then one retry); any other 401 is shown as it is. */
export type TokenErrorCode = "EXPIRED_TOKEN" | "INVALID_TOKEN";

export const tokenRefused = (error: TokenErrorCode, message: string) => new GatewayError("UNAUTHENTICATED", message, { error });

/** Statuses a client may retry as they are: a rate limit, or an upstream that failed or did not answer. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export function conductorErrorBody(err: GatewayError, requestId: string): ConductorErrorBody {
  return {
    ...(err.details ?? {}),
    status: err.status,
    code: err.code,
    message: err.message,
    retryable: RETRYABLE_STATUSES.has(err.status),
    requestId,
  };
}

/** Any thrown value as a GatewayError; unknown errors become a generic 500 that reveals nothing. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError("INTERNAL", "internal error");
}
