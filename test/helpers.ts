/**
 * Drives the real Worker (src/index.ts) inside workerd, with the run's real database and miniflare's KV.
 * `overrides` gives one call its own environment (a new env object gets its own validated configuration).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import worker from "../src/index";
import type { Env } from "../src/config";

export const baseEnv = env as unknown as Env;
export const adminKey = () => inject("adminKey");
export const stubUrl = (path: string) => `http://127.0.0.1:${inject("stubPort")}${path}`;
export const wsProxy = () => inject("wsProxy");

const envCache = new Map<string, Env>();

/** An env with some variables changed; the same overrides give the same object (so config is parsed once). */
export function envWith(overrides: Record<string, unknown> = {}): Env {
  const k = JSON.stringify(overrides);
  let e = envCache.get(k);
  if (!e) {
    e = { ...baseEnv, ...overrides } as Env;
    envCache.set(k, e);
  }
  return e;
}

export interface CallOptions extends RequestInit {
  env?: Env;
  json?: unknown;
}

export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  let body = opts.body;
  if (opts.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(opts.json);
  }
  const request = new Request(`http://gateway.test${path}`, { ...opts, headers, body });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, opts.env ?? baseEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function asAdmin(path: string, opts: CallOptions = {}): Promise<Response> {
  return call(path, { ...opts, headers: { ...bearer(adminKey()), ...(opts.headers as Record<string, string>) } });
}

/** Creates a key through the admin API and returns its id and plaintext. */
export async function createTestKey(body: Record<string, unknown>, env?: Env): Promise<{ id: string; key: string }> {
  const res = await asAdmin("/admin/keys", { method: "POST", json: { tenant: "acme", subject: "user-1", ...body }, env });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; key: string };
}

/** The error of an answer: the envelope's `error`, or the body itself on Conductor routes (Conductor's shape). */
export async function errorOf(res: Response): Promise<{ code: string; message: string; requestId: string }> {
  const body = (await res.json()) as { error?: unknown; code?: string };
  if (typeof body.error === "object" && body.error !== null) return body.error as { code: string; message: string; requestId: string };
  return body as { code: string; message: string; requestId: string };
}

/** How many database sessions the bridge saw for a tag (set `DB_WS_PROXY` to `<proxy>/<tag>`). */
export async function dbSessions(tag: string): Promise<number> {
  const res = await fetch(`http://${wsProxy()}/sessions/${tag}`);
  return ((await res.json()) as { sessions: number }).sessions;
}

export const uniqueTag = (label: string) => `${label}${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What the recording stub upstream received under a tag (see test/setup/stubs.ts). */
export async function recorded(tag: string): Promise<Recorded[]> {
  return (await (await fetch(stubUrl(`/records/${tag}`))).json()) as Recorded[];
}
