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

  describe("UPSTREAM_ASSERTION_KEYS (docs/security.md, Engines trust only the gateway)", () => {
    const ed25519 = async (kid: string) => {
      const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
      return { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid };
    };
    const rsa = async (kid: string, modulusLength = 2048) => {
      const algorithm = { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
      const pair = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
      return { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid };
    };
    const problem = (env: Record<string, unknown>) => {
      const r = parseConfig({ ...base, ...env });
      if (r.ok) throw new Error("expected a refusal");
      return r.error;
    };

    it("is off without the variable: no assertion is configured", () => {
      const r = parseConfig(base);
      expect(r.ok && r.config.upstreamAssertion).toBeNull();
    });

    it("signs with the first key and publishes every key's public members only", async () => {
      const keys = [await ed25519("new-2026"), await rsa("old-2025")];
      const r = parseConfig({ ...base, UPSTREAM_ASSERTION_KEYS: JSON.stringify(keys) });
      if (!r.ok) throw r.error;
      const a = r.config.upstreamAssertion!;
      expect(a).toMatchObject({ issuer: "flowgate", mode: "reuse", signing: { kid: "new-2026", alg: "EdDSA" } });
      expect(a.jwks.keys).toEqual([
        { kty: "OKP", crv: "Ed25519", x: keys[0]!.x, kid: "new-2026", use: "sig", alg: "EdDSA" },
        { kty: "RSA", n: keys[1]!.n, e: keys[1]!.e, kid: "old-2025", use: "sig", alg: "RS256" },
      ]);
      const published = JSON.stringify(a.jwks);
      for (const secret of [keys[0]!.d, keys[1]!.d, keys[1]!.p, keys[1]!.q, keys[1]!.dp, keys[1]!.dq, keys[1]!.qi]) {
        expect(published).not.toContain(secret);
      }
      const other = parseConfig({
        ...base,
        UPSTREAM_ASSERTION_KEYS: JSON.stringify(keys),
        UPSTREAM_ASSERTION_MODE: "per-request",
        UPSTREAM_ASSERTION_ISSUER: "https://gateway.example",
      });
      expect(other.ok && other.config.upstreamAssertion).toMatchObject({ issuer: "https://gateway.example", mode: "per-request" });
    });

    it("refuses what is not a list of private Ed25519 or RSA keys with their own kid, naming the variable, never the key", async () => {
      const key = await ed25519("k1");
      const { d: _d, ...publicOnly } = key;
      const cases: [unknown, string][] = [
        [`[${JSON.stringify(key)}`, "it is not JSON"],
        [JSON.stringify(key), "a JSON array of one or more private JWKs"],
        [JSON.stringify([]), "a JSON array of one or more private JWKs"],
        [JSON.stringify([{ ...key, kid: undefined }]), "key 1 needs a kid"],
        [JSON.stringify([{ ...key, kid: "a b" }]), "key 1 needs a kid"],
        [JSON.stringify([key, { ...(await ed25519("k2")), kid: "k1" }]), "key 2 repeats the kid"],
        [JSON.stringify([publicOnly]), "key 1 is not a private key: d is missing"],
        [JSON.stringify([{ ...key, crv: "X25519" }]), "key 1 must have crv Ed25519"],
        [JSON.stringify([{ kty: "EC", crv: "P-256", kid: "k1", x: "a", y: "b", d: "c" }]), "must be an Ed25519 (kty OKP) or RSA key"],
        [JSON.stringify([{ kty: "oct", kid: "k1", k: key.d }]), "must be an Ed25519 (kty OKP) or RSA key"],
        [JSON.stringify([{ ...key, alg: "HS256" }]), "key 1 has an alg other than EdDSA"],
        [JSON.stringify([{ ...key, use: "enc" }]), "key 1 has a use other than sig"],
        [JSON.stringify([await rsa("small", 1024)]), "key 1 is an RSA key under 2048 bits"],
        [JSON.stringify(Array.from({ length: 9 }, (_, i) => ({ ...key, kid: `k${i}` }))), "holds more than 8 keys"],
      ];
      for (const [value, message] of cases) {
        const e = problem({ UPSTREAM_ASSERTION_KEYS: value });
        expect(e.code).toBe("BAD_CONFIGURATION");
        expect(e.message, message).toContain(`UPSTREAM_ASSERTION_KEYS: `);
        expect(e.message, message).toContain(message);
        expect(e.message, message).not.toContain(key.d!);
        expect(e.message, message).not.toContain(key.d!.slice(0, 8));
      }
      expect(problem({ UPSTREAM_ASSERTION_KEYS: JSON.stringify([key]), UPSTREAM_ASSERTION_MODE: "sometimes" }).message).toContain(
        "UPSTREAM_ASSERTION_MODE: must be reuse or per-request",
      );
    });
  });
});

/**
 * Issue 25, class 7: explain echoed an upstream URL's `user:password`. Configuration refuses credentials in every
 * upstream URL (and the OIDC issuer, and the JWKS URL), saying what to do instead and never repeating them.
 */
describe("upstream URLs carry no credentials", () => {
  const UPSTREAMS = [
    "PREFECT_GRAPHQL_URL",
    "PREFECT_UI_URL",
    "CONDUCTOR_URL",
    "CONDUCTOR_UI_URL",
    "SCHELLAR_URL",
    "ARGO_URL",
    "FLOWAPI_URL",
    "JWT_JWKS_URL",
  ];
  const WITH_CREDENTIALS = [
    "http://svc:s3cr3t-pw@engine.internal:8080/api",
    "https://s3cr3t-pw@engine.internal",
    "http://:s3cr3t-pw@engine.internal",
    "http://s3cr3t%40pw:x%3Ay@engine.internal/",
    "  HTTP://svc:s3cr3t-pw@Engine.Internal  ",
    "http://svc:s3cr3t-pw@[::1]:8080",
  ];

  it.each(UPSTREAMS)("%s: a URL with user:password@ is refused, naming the rule and how to do without, never the value", (name) => {
    for (const value of WITH_CREDENTIALS) {
      const r = parseConfig({ ...base, [name]: value });
      expect(r.ok, `${name}=${value}`).toBe(false);
      if (r.ok) continue;
      expect(r.error.message).toContain(name);
      expect(r.error.message).toContain("must not carry credentials (user:password@)");
      expect(r.error.message).toContain("network that admits the gateway");
      expect(r.error.message).not.toContain("s3cr3t");
      expect(r.error.message).not.toContain("svc");
    }
    // A query (a token in `?key=`) is refused too; an `@` in the path is no credential.
    const query = parseConfig({ ...base, [name]: "http://engine.internal/api?token=s3cr3t" });
    expect(query.ok).toBe(false);
    if (!query.ok) expect(query.error.message).not.toContain("s3cr3t");
    expect(parseConfig({ ...base, [name]: "http://engine.internal/api#x" }).ok).toBe(false);
    expect(parseConfig({ ...base, [name]: "http://engine.internal:8080/a@b/" }).ok).toBe(true);
  });

  it("the OIDC issuer and redirect URI refuse credentials with the same rule", () => {
    const oidc = { OIDC_CLIENT_ID: "flowgate", SESSION_SECRETS: "s".repeat(32), OIDC_REDIRECT_URI: "https://gw.example/auth/callback" };
    const r = parseConfig({ ...base, ...oidc, OIDC_ISSUER: "https://admin:s3cr3t-pw@idp.example/realms/x" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toMatch(/OIDC_ISSUER: must not carry credentials/);
    expect(r.error.message).not.toContain("s3cr3t");
  });

  it("a deployment with one answers 500 BAD_CONFIGURATION on every route, and no answer holds the password", async () => {
    const env = envWith({ CONDUCTOR_URL: "http://svc:s3cr3t-pw@conductor.internal:8080" });
    for (const path of ["/healthz", "/conductor/api/metadata/workflow", "/admin/explain"]) {
      const res = await call(path, { env, method: path === "/admin/explain" ? "POST" : "GET" });
      expect(res.status, path).toBe(500);
      const text = await res.text();
      expect(text).toContain("CONDUCTOR_URL");
      expect(text).not.toContain("s3cr3t");
    }
  });
});
