/**
 * A Prefect decision as the client sees it, for tests: allowed with its operation, or refused with the status its
 * code answers with (`statusOf`, what the gateway's error carries), the code, the message and the refused fields.
 * The policy speaks `Verdict` (src/verdict.ts); the tests' expectations are written in what the client reads.
 */
import { statusOf, type ErrorCode } from "../../../src/errors";
import type { GraphQLLimits } from "../../../src/constants";
import { decidePrefectRequest } from "../../../src/engines/prefect/decide";
import { decidedOperation, refusedFieldsOf, type Decision, type GraphQLRequest, type Operation } from "../../../src/engines/prefect/policy";

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

/**
 * One request's decision as the route makes it (src/engines/prefect/decide.ts, the one decision function), sent as
 * a JSON POST or a GET; `tenantId` null is single-tenant mode.
 */
export function decideAsRoute(
  req: GraphQLRequest,
  scopes: readonly string[],
  limits: GraphQLLimits,
  method: "GET" | "POST" = "POST",
  tenantId: string | null = null,
): Decision {
  const body = { query: req.query, operationName: req.operationName, variables: req.variables ?? null };
  const params = new URLSearchParams();
  if (method === "GET") {
    params.set("query", req.query);
    if (req.operationName) params.set("operationName", req.operationName);
  }
  const d = decidePrefectRequest(
    { method, contentType: "application/json", body: method === "POST" ? JSON.stringify(body) : "", params },
    { scopes, isolatedTenantId: tenantId },
    limits,
  );
  return d.ok ? d.value.decisions[0]! : d;
}
