/**
 * The console's one way to the gateway: same-origin fetches carried by the session cookie, the session's CSRF
 * token on every change, and the gateway's error envelope turned into a message a person can read.
 */
export interface Session {
  subject: string;
  email?: string;
  tenant?: string;
  roles: string[];
  groups: string[];
  scopes: string[];
  source: "oidc" | "key";
  expiresAt: string;
  idleExpiresAt?: string;
  csrfToken: string;
}

/** One field the gateway refused, and what is wrong with it in words (the admin API's `error.fields`). */
export interface FieldProblem {
  /** The field's path in the request body or query: `rate.limit`, `request.headers`, `scopes.0`. */
  field: string;
  problem: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
  }
}

let csrfToken = "";
export const setCsrfToken = (t: string) => {
  csrfToken = t;
};

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; requestId?: string; fields?: unknown } } | null)?.error;
    const fields = Array.isArray(e?.fields)
      ? e.fields.filter((f): f is FieldProblem => typeof f?.field === "string" && typeof f?.problem === "string")
      : [];
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? `the gateway answered ${res.status}`,
      e?.requestId,
      fields,
    );
  }
  return json as T;
}

export const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};
