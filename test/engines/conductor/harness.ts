/**
 * A Conductor (and Schellar) of the test's own behind the real Worker: `conductorStack()` gives an env pointing at a
 * fresh stub instance (test/setup/conductor.ts), helpers to seed it and to read what it received, and keys.
 */
import { call, createTestKey, envWith, stubUrl, uniqueTag, type CallOptions } from "../../helpers";
import type { Env } from "../../../src/config";

export interface StubRecord {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface ConductorStack {
  tag: string;
  env: Env;
  seed(data: Record<string, unknown>): Promise<void>;
  records(): Promise<StubRecord[]>;
  fault(f: { pathPrefix: string; kind: "malformed" | "error500" | "slow" | "wrongShape" } | { clear: true }): Promise<void>;
  state(): Promise<Record<string, unknown>>;
  /** A key with scope `conductor` for tenant (default FACEBOOK). */
  key(opts: { subject: string; tenant?: string; email?: string; roles?: string[]; groups?: string[]; scopes?: string[] }): Promise<string>;
  /** Calls the Worker with this stack's env and the given key. */
  as(key: string, path: string, opts?: CallOptions): Promise<Response>;
}

export async function conductorStack(label: string, extraEnv: Record<string, unknown> = {}): Promise<ConductorStack> {
  const tag = uniqueTag(label);
  const env = envWith({ CONDUCTOR_URL: stubUrl(`/conductor/${tag}`), SCHELLAR_URL: stubUrl(`/schellar/${tag}`), ...extraEnv });
  const admin = (path: string, init?: RequestInit) => fetch(stubUrl(`/conductor-admin/${tag}${path}`), init);
  return {
    tag,
    env,
    seed: async (data) => void (await admin("/seed", { method: "POST", body: JSON.stringify(data) })),
    records: async () => (await (await admin("/records")).json()) as StubRecord[],
    fault: async (f) => void (await admin("/fault", { method: "POST", body: JSON.stringify(f) })),
    state: async () => (await (await admin("/state")).json()) as Record<string, unknown>,
    key: async ({ subject, tenant = "FACEBOOK", email, roles = [], groups = [], scopes = ["conductor"] }) =>
      (await createTestKey({ tenant, subject, email, roles, groups, scopes }, env)).key,
    as: (key, path, opts = {}) => call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } }),
  };
}

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
