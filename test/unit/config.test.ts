import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/readConfig";
import { call, envWith } from "../helpers";

const kv = { get: () => null } as unknown as KVNamespace;
const base = { KEY_CACHE: kv, DATABASE_URL: "postgres://u:p@db.example/flowgate" };

describe("configuration", () => {
  it("applies the contract's defaults", () => {
    const r = parseConfig(base);
    if (!r.ok) throw r.error;
    expect(r.config).toMatchObject({
      keyCacheTtlS: 1800,
      memoryCacheTtlS: 10,
      negativeCacheTtlS: 60,
      allowPublicAccess: false,
      publicScopes: ["query/*"],
      logLevel: "warn",
      maxBodyBytes: 1_048_576,
      upstreamTimeoutMs: 30_000,
      maxPollCount: 100,
      adminRoles: ["OWNER"],
      adminGroups: ["NETWORK-ADMIN"],
      // Unset: each caller's flowgate tenant gives the id (a v5 UUID), name and slug (src/engines/prefect/tenant.ts).
      prefectTenant: { id: undefined, name: undefined, slug: undefined },
    });
    expect(r.config.jwt.algorithms).toEqual(["RS256", "ES256", "EdDSA", "PS256"]);
  });

  it("accepts only true/false for ALLOW_PUBLIC_ACCESS (the replaced proxy took 'false' as true)", () => {
    expect(parseConfig({ ...base, ALLOW_PUBLIC_ACCESS: "false" })).toMatchObject({ ok: true, config: { allowPublicAccess: false } });
    expect(parseConfig({ ...base, ALLOW_PUBLIC_ACCESS: "true" })).toMatchObject({ ok: true, config: { allowPublicAccess: true } });
    for (const v of ["False", "0", "yes", "no", "1"]) expect(parseConfig({ ...base, ALLOW_PUBLIC_ACCESS: v }).ok).toBe(false);
  });

  it("names every offending variable and never its value", () => {
    const r = parseConfig({
      ...base,
      DATABASE_URL: "mysql://root:hunter2-secret@db/x",
      KEY_CACHE_TTL_S: "soon",
      ALLOW_PUBLIC_ACCESS: "maybe",
      JWT_ALGORITHMS: "none",
      CONDUCTOR_URL: "ftp://x",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("BAD_CONFIGURATION");
    for (const v of ["DATABASE_URL", "KEY_CACHE_TTL_S", "ALLOW_PUBLIC_ACCESS", "JWT_ALGORITHMS", "CONDUCTOR_URL"]) {
      expect(r.error.message).toContain(v);
    }
    expect(r.error.message).not.toContain("hunter2");
    expect(r.error.message).not.toContain("soon");
  });

  it("turns HS256 on only with a secret, and never lets the secret be short", () => {
    const withSecret = parseConfig({ ...base, JWT_HS256_SECRET: "s".repeat(32) });
    expect(withSecret.ok && withSecret.config.jwt.algorithms.includes("HS256")).toBe(true);
    const listedWithoutSecret = parseConfig({ ...base, JWT_ALGORITHMS: "RS256,HS256" });
    expect(listedWithoutSecret.ok && listedWithoutSecret.config.jwt.algorithms).toEqual(["RS256"]);
    expect(parseConfig({ ...base, JWT_HS256_SECRET: "short" }).ok).toBe(false);
  });

  it("answers 500 BAD_CONFIGURATION on every route of a bad deployment", async () => {
    const env = envWith({ ALLOW_PUBLIC_ACCESS: "False", UPSTREAM_TIMEOUT_MS: "-1" });
    for (const path of ["/healthz", "/admin/keys", "/prefect/graphql"]) {
      const res = await call(path, { env });
      expect(res.status).toBe(500);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      const body = (await res.json()) as { error: { code: string; message: string; variables: string[] } };
      expect(body.error.code).toBe("BAD_CONFIGURATION");
      expect(body.error.variables.sort()).toEqual(["ALLOW_PUBLIC_ACCESS", "UPSTREAM_TIMEOUT_MS"]);
    }
  });

  it("refuses a missing DATABASE_URL", async () => {
    const res = await call("/healthz", { env: envWith({ DATABASE_URL: undefined }) });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("DATABASE_URL");
  });
});
