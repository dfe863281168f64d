/**
 * A Prefect decision as the client sees it, for tests: allowed with its operation, or refused with the status its
 * code answers with (`statusOf`, what the gateway's error carries), the code, the message and the refused fields.
 * The policy speaks `Verdict` (src/verdict.ts); the tests' expectations are written in what the client reads.
 */
import { statusOf, type ErrorCode } from "../../../src/errors";
import { decidedOperation, refusedFieldsOf, type Decision, type Operation } from "../../../src/engines/prefect/policy";

export type Seen =
  | { ok: true; operation: Operation }
  | { ok: false; operation?: Operation; refusal: { status: number; code: ErrorCode; message: string; refusedFields?: string[] } };

export function seen(d: Decision): Seen {
  if (d.ok) return { ok: true, operation: d.value };
  const refusedFields = refusedFieldsOf(d);
  const operation = decidedOperation(d);
  return {
    ok: false,
    ...(operation ? { operation } : {}),
    refusal: { status: statusOf(d.code), code: d.code, message: d.reason, ...(refusedFields ? { refusedFields } : {}) },
  };
}
