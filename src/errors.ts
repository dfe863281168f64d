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
  INTERNAL: 500,
};

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

export const unauthenticated = (message = "missing or invalid credential") =>
  new GatewayError("UNAUTHENTICATED", message);
export const forbidden = (message = "not allowed") => new GatewayError("FORBIDDEN", message);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new GatewayError("BAD_REQUEST", message, details);
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

/** Any thrown value as a GatewayError; unknown errors become a generic 500 that reveals nothing. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError("INTERNAL", "internal error");
}
