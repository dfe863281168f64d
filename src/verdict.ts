/**
 * The one shape in which a pure policy answers "yes" or "no". Pure.
 *
 * A policy function never throws and never touches the request: it returns a `Verdict`, and the handler at the
 * edge turns a refusal into the gateway's error (`orThrow`, one envelope). Every policy answers in this one shape,
 * so every refusal reaches the client the same way.
 */
import { GatewayError, type ErrorCode } from "./errors";

/** "Yes", with what the policy worked out (the rewritten body, the chosen namespace, ...). */
export interface Allowed<T> {
  readonly ok: true;
  readonly value: T;
}

/** "No": why, in words the caller may read (never a secret), and which error it is. */
export interface Refused {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly reason: string;
  /** Extra, non-secret fields for the error body (e.g. the refused GraphQL fields). */
  readonly details?: Record<string, unknown>;
}

export type Verdict<T = undefined> = Allowed<T> | Refused;

export function allow(): Allowed<undefined>;
export function allow<T>(value: T): Allowed<T>;
export function allow<T>(value?: T): Allowed<T | undefined> {
  return { ok: true, value };
}

export function refuse(reason: string, code: ErrorCode = "BAD_REQUEST", details?: Record<string, unknown>): Refused {
  return details === undefined ? { ok: false, code, reason } : { ok: false, code, reason, details };
}

/** The edge's half: the allowed value, or the refusal as the gateway's error. */
export function orThrow<T>(verdict: Verdict<T>): T {
  if (verdict.ok) return verdict.value;
  throw new GatewayError(verdict.code, verdict.reason, verdict.details);
}
