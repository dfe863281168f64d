/**
 * The Worker's environment (bindings and variables) and what every handler reads from it: `Config`, the shared
 * section (its piece below) and each engine's section. A piece (src/configFields.ts) writes each variable once,
 * with its kind, and transforms the parsed variables into its section; `Config` is their output types together.
 *
 * An engine's piece is src/engines/<name>/config.ts: it adds its section's type to `EngineSections` (and its
 * upstream URLs to `EngineUpstreams`, `EngineUiUpstreams`) by augmenting this module, so this module, which every
 * layer reads, imports no engine. The variables are read and checked in src/readConfig.ts, with the pieces the
 * registry (src/engines/index.ts) lists.
 */
import { z } from "zod";
import {
  DEFAULT_AUDIT_FLUSH_MS,
  DEFAULT_AUDIT_RETENTION_DAYS,
  DEFAULT_GRAPHQL_LIMITS,
  DEFAULT_MAX_UPSTREAM_ANSWER_BYTES,
  DEFAULT_USAGE_RETENTION_DAYS,
  JWKS_CACHE_MAX_AGE_MS,
  MIN_TOKEN_SECRET_LENGTH,
  SESSION_DEFAULT_IDLE_TTL_S,
  SESSION_DEFAULT_MAX_TTL_S,
} from "./constants";
import {
  assertionKeys,
  assertionMode,
  boolean,
  claim,
  claimRules,
  commaList,
  domainList,
  exactUrl,
  fieldCosts,
  integer,
  jwtAlgorithms,
  list,
  logLevel,
  optionalString,
  unavailablePolicy,
  url,
} from "./configFields";
import type { GatewayError } from "./errors";

export { LOG_LEVELS, type AssertionMode, type AssertionSigningKey, type LogLevel } from "./configFields";

export interface Env {
  KEY_CACHE: KVNamespace;
  /** The console's static files (wrangler.toml [assets]); absent where no assets are deployed. */
  ASSETS?: Fetcher;
  /** Rate-limit counters: one Durable Object per limited key, subject or tenant (src/ratelimit/counter.ts). */
  RATE_LIMITER?: DurableObjectNamespace;
  [variable: string]: unknown;
}

/** What every route reads: the database, caches, credentials, limits, logging, browser sign-in. */
export const sharedConfig = z
  .object({
    DATABASE_URL: z
      .string({ error: "is required" })
      .min(1, "is required")
      .refine((s) => /^postgres(ql)?:\/\//.test(s), "must be a postgres:// URL"),
    DB_WS_PROXY: optionalString,
    KEY_CACHE_TTL_S: integer(1800, 60, 31_536_000),
    MEMORY_CACHE_TTL_S: integer(10, 0, 3600),
    NEGATIVE_CACHE_TTL_S: integer(60, 0, 3600),
    JWT_JWKS_URL: url,
    JWT_PUBLIC_KEYS: optionalString,
    JWT_HS256_SECRET: optionalString.refine((s) => s === undefined || s.length >= 32, "must be at least 32 characters"),
    // Signs the Conductor SDK tokens (POST /conductor/api/token). A comma list: the first signs, every one verifies,
    // so a new secret is put first and the old one dropped once its tokens have expired (CONDUCTOR_TOKEN_TTL_S).
    GATEWAY_TOKEN_SECRET: commaList([]).refine(
      (l) => l.every((s) => s.length >= MIN_TOKEN_SECRET_LENGTH),
      `every secret must be at least ${MIN_TOKEN_SECRET_LENGTH} characters`,
    ),
    JWT_ISSUER: commaList([]),
    JWT_AUDIENCE: commaList([]),
    JWT_ALGORITHMS: jwtAlgorithms,
    JWT_CLOCK_TOLERANCE_S: integer(30, 0, 600),
    JWT_JWKS_CACHE_TTL_S: integer(JWKS_CACHE_MAX_AGE_MS / 1000, 1, 86_400),
    JWT_CLAIM_SUBJECT: claim("sub"),
    JWT_CLAIM_EMAIL: claim("email"),
    JWT_CLAIM_ROLES: claim("roles"),
    JWT_CLAIM_GROUPS: claim("groups"),
    JWT_CLAIM_TENANT: claim("tenant"),
    JWT_CLAIM_SCOPES: claim("scope"),
    JWT_CLAIM_SERVES_TENANTS: claim("serves_tenants"),
    FLOWAPI_IDENTIFIER: optionalString,
    FLOWAPI_PUBLIC_KEY: optionalString,
    ADMIN_ROLES: commaList(["OWNER"]),
    ADMIN_GROUPS: commaList(["NETWORK-ADMIN"]),
    LOG_LEVEL: logLevel,
    LOG_LEVEL_OVERRIDE_DURATION: integer(300, 1, 86_400),
    MAX_BODY_BYTES: integer(1_048_576, 1024, 100 * 1_048_576),
    UPSTREAM_TIMEOUT_MS: integer(30_000, 100, 600_000),
    MAX_UPSTREAM_ANSWER_BYTES: integer(DEFAULT_MAX_UPSTREAM_ANSWER_BYTES, 65_536, 64 * 1_048_576),
    CORS_ORIGINS: commaList([]),
    SUBREQUEST_BUDGET: integer(50, 10, 10_000),
    TOKEN_REVOCATION_TTL_S: integer(90 * 86_400, 60, 3650 * 86_400),
    AUDIT_RETENTION_DAYS: integer(DEFAULT_AUDIT_RETENTION_DAYS, 1, 3650),
    AUDIT_READS: boolean(false),
    AUDIT_FLUSH_MS: integer(DEFAULT_AUDIT_FLUSH_MS, 0, 5_000),
    RATE_LIMIT_ON_UNAVAILABLE: unavailablePolicy,
    // Read by the shared rate limiter (src/ratelimit/cost.ts), which weighs Prefect's GraphQL documents.
    PREFECT_FIELD_COSTS: fieldCosts,
    USAGE_RETENTION_DAYS: integer(DEFAULT_USAGE_RETENTION_DAYS, 1, 3650),
    GRAPHQL_MAX_DOCUMENT_BYTES: integer(DEFAULT_GRAPHQL_LIMITS.maxDocumentBytes, 256, 10 * 1_048_576),
    GRAPHQL_MAX_TOKENS: integer(DEFAULT_GRAPHQL_LIMITS.maxTokens, 10, 1_000_000),
    GRAPHQL_MAX_DEPTH: integer(DEFAULT_GRAPHQL_LIMITS.maxDepth, 1, 1000),
    GRAPHQL_MAX_ALIASES: integer(DEFAULT_GRAPHQL_LIMITS.maxAliases, 0, 100_000),
    GRAPHQL_MAX_DIRECTIVES: integer(DEFAULT_GRAPHQL_LIMITS.maxDirectives, 0, 100_000),
    GRAPHQL_MAX_COST: integer(DEFAULT_GRAPHQL_LIMITS.maxCost, 1, 10_000_000),
    GRAPHQL_MAX_BATCH: integer(DEFAULT_GRAPHQL_LIMITS.maxBatch, 1, 1000),
    OIDC_ISSUER: exactUrl,
    OIDC_CLIENT_ID: optionalString,
    OIDC_CLIENT_SECRET: optionalString,
    OIDC_REDIRECT_URI: exactUrl,
    OIDC_SCOPES: optionalString.transform((s) => s ?? "openid email profile"),
    OIDC_ALLOWED_GROUPS: commaList([]),
    OIDC_ALLOWED_EMAIL_DOMAINS: domainList,
    OIDC_ALLOWED_CLAIMS: claimRules,
    SESSION_SECRETS: commaList([]).refine((l) => l.every((s) => s.length >= 32), "every secret must be at least 32 characters"),
    SESSION_IDLE_TTL_S: integer(SESSION_DEFAULT_IDLE_TTL_S, 60, 86_400),
    SESSION_MAX_TTL_S: integer(SESSION_DEFAULT_MAX_TTL_S, 300, 7 * 86_400),
    SESSION_KEY_EXCHANGE: optionalString,
    UPSTREAM_ASSERTION_KEYS: assertionKeys,
    UPSTREAM_ASSERTION_MODE: assertionMode,
    UPSTREAM_ASSERTION_ISSUER: optionalString.refine((s) => s === undefined || s.length <= 256, "must be at most 256 characters"),
  })
  .superRefine((v, ctx) => {
    // A secret shared with JWT_HS256_SECRET would let a gateway token pass as an identity provider's JWT.
    if (v.JWT_HS256_SECRET && v.GATEWAY_TOKEN_SECRET.includes(v.JWT_HS256_SECRET)) {
      ctx.addIssue({ code: "custom", path: ["GATEWAY_TOKEN_SECRET"], message: "must differ from JWT_HS256_SECRET" });
    }
    for (const [name, message] of signInProblems(v)) ctx.addIssue({ code: "custom", path: [name], message });
  })
  .transform((v) => {
    // HS256 is usable only with a secret, and a secret alone turns it on: never HS* against a public key.
    const algorithms = v.JWT_ALGORITHMS.filter((a) => a !== "HS256");
    if (v.JWT_HS256_SECRET) algorithms.push("HS256");
    return {
      databaseUrl: v.DATABASE_URL,
      /** Local development only: `host:port` of the WebSocket-to-TCP bridge (plain ws). Unset in production. */
      dbWsProxy: v.DB_WS_PROXY,
      keyCacheTtlS: v.KEY_CACHE_TTL_S,
      memoryCacheTtlS: v.MEMORY_CACHE_TTL_S,
      negativeCacheTtlS: v.NEGATIVE_CACHE_TTL_S,
      jwt: {
        jwksUrl: v.JWT_JWKS_URL,
        publicKeys: v.JWT_PUBLIC_KEYS,
        hs256Secret: v.JWT_HS256_SECRET,
        issuers: v.JWT_ISSUER,
        audiences: v.JWT_AUDIENCE,
        algorithms,
        clockToleranceS: v.JWT_CLOCK_TOLERANCE_S,
        /** How long fetched JWKS keys count as fresh before a refetch. */
        jwksCacheMaxAgeMs: v.JWT_JWKS_CACHE_TTL_S * 1000,
        claims: {
          subject: v.JWT_CLAIM_SUBJECT,
          email: v.JWT_CLAIM_EMAIL,
          roles: v.JWT_CLAIM_ROLES,
          groups: v.JWT_CLAIM_GROUPS,
          tenant: v.JWT_CLAIM_TENANT,
          scopes: v.JWT_CLAIM_SCOPES,
          servesTenants: v.JWT_CLAIM_SERVES_TENANTS,
        },
      },
      /** Conductor SDK token secrets: the first signs, all verify; empty when GATEWAY_TOKEN_SECRET is unset. */
      gatewayTokenSecrets: v.GATEWAY_TOKEN_SECRET,
      /** FlowAuth token verification (src/identity/flowauth.ts): the identifier tokens are issued for, and the key that signs them. */
      flowapi: { identifier: v.FLOWAPI_IDENTIFIER, publicKey: v.FLOWAPI_PUBLIC_KEY },
      adminRoles: v.ADMIN_ROLES,
      adminGroups: v.ADMIN_GROUPS,
      logLevel: v.LOG_LEVEL,
      logLevelOverrideDurationS: v.LOG_LEVEL_OVERRIDE_DURATION,
      maxBodyBytes: v.MAX_BODY_BYTES,
      upstreamTimeoutMs: v.UPSTREAM_TIMEOUT_MS,
      /** The largest upstream answer read whole to be parsed and rewritten (Conductor's); larger ones get 502. */
      maxUpstreamAnswerBytes: v.MAX_UPSTREAM_ANSWER_BYTES,
      corsOrigins: v.CORS_ORIGINS,
      /** Subrequests one request may make (Workers: 50 on the free plan, 1,000 on paid); fan-outs stay within it. */
      subrequestBudget: v.SUBREQUEST_BUDGET,
      /** How long a revocation lasts when the revoked token's expiry is not given (the longest token lifetime). */
      tokenRevocationTtlS: v.TOKEN_REVOCATION_TTL_S,
      auditRetentionDays: v.AUDIT_RETENTION_DAYS,
      /** Whether allowed reads (GET, HEAD) that reached an engine are audited too; refusals and writes always are. */
      auditReads: v.AUDIT_READS,
      /** How long the first audit event of a quiet moment waits for others to share its batch (src/audit.ts). */
      auditFlushMs: v.AUDIT_FLUSH_MS,
      rateLimits: {
        /** What a request gets when its counter object cannot be asked: allowed (and logged) or refused with 429. */
        onUnavailable: v.RATE_LIMIT_ON_UNAVAILABLE,
        /** Weight of a Prefect root field by `type/field`, with `type/*` as each type's default. */
        prefectFieldCosts: v.PREFECT_FIELD_COSTS as ReadonlyMap<string, number>,
        /** Days the daily usage rows are kept (minute and hour rows: src/constants.ts). */
        usageRetentionDays: v.USAGE_RETENTION_DAYS,
      },
      graphqlLimits: {
        maxDocumentBytes: v.GRAPHQL_MAX_DOCUMENT_BYTES,
        maxTokens: v.GRAPHQL_MAX_TOKENS,
        maxDepth: v.GRAPHQL_MAX_DEPTH,
        maxAliases: v.GRAPHQL_MAX_ALIASES,
        maxDirectives: v.GRAPHQL_MAX_DIRECTIVES,
        maxCost: v.GRAPHQL_MAX_COST,
        maxBatch: v.GRAPHQL_MAX_BATCH,
      },
      /** Browser sign-in (docs/browser-sign-in.md); null when no provider is configured. */
      oidc:
        v.OIDC_ISSUER && v.OIDC_CLIENT_ID && v.OIDC_REDIRECT_URI
          ? {
              /** The provider's issuer, exactly as its discovery document and ID tokens name it. */
              issuer: v.OIDC_ISSUER,
              clientId: v.OIDC_CLIENT_ID,
              /** Absent: a public client (PKCE alone), token endpoint auth `none`. */
              clientSecret: v.OIDC_CLIENT_SECRET,
              /** The one redirect URI registered at the provider; the callback is served on its path. */
              redirectUri: v.OIDC_REDIRECT_URI,
              scopes: list(v.OIDC_SCOPES.replace(/\s+/g, ",")),
              /** Who may sign in (src/identity/admission.ts): each non-empty rule must hold. */
              allowed: { groups: v.OIDC_ALLOWED_GROUPS, emailDomains: v.OIDC_ALLOWED_EMAIL_DOMAINS, claims: v.OIDC_ALLOWED_CLAIMS },
            }
          : null,
      /** Browser sessions; null without SESSION_SECRETS (then no session is issued or accepted). */
      session:
        v.SESSION_SECRETS.length > 0
          ? {
              /** The first secret seals new cookies; every one opens them (rotation: prepend a new one, drop the oldest later). */
              secrets: v.SESSION_SECRETS,
              idleTtlS: Math.min(v.SESSION_IDLE_TTL_S, v.SESSION_MAX_TTL_S),
              maxTtlS: v.SESSION_MAX_TTL_S,
              /** Whether a flowgate key may be exchanged for a session (`POST /auth/key`). */
              // The key exchange is for installations without a provider, unless turned on as a break-glass.
              keyExchange: v.SESSION_KEY_EXCHANGE === undefined ? !v.OIDC_ISSUER : v.SESSION_KEY_EXCHANGE === "true",
            }
          : null,
      /**
       * The signed assertion of the decided identity on every upstream call that carries a principal
       * (src/proxy/assertion.ts); null without UPSTREAM_ASSERTION_KEYS, then none is sent (local development only).
       */
      upstreamAssertion:
        v.UPSTREAM_ASSERTION_KEYS.length > 0
          ? {
              issuer: v.UPSTREAM_ASSERTION_ISSUER ?? "flowgate",
              mode: v.UPSTREAM_ASSERTION_MODE,
              /** The first key signs. */
              signing: v.UPSTREAM_ASSERTION_KEYS[0]!,
              /** Every key's public part, as `/.well-known/jwks.json` publishes them. */
              jwks: { keys: v.UPSTREAM_ASSERTION_KEYS.map((k) => k.publicJwk) },
            }
          : null,
    };
  });

type SignInVariables = Pick<
  z.output<typeof sharedConfig.in>,
  | "OIDC_ISSUER"
  | "OIDC_CLIENT_ID"
  | "OIDC_CLIENT_SECRET"
  | "OIDC_REDIRECT_URI"
  | "OIDC_SCOPES"
  | "OIDC_ALLOWED_GROUPS"
  | "OIDC_ALLOWED_EMAIL_DOMAINS"
  | "OIDC_ALLOWED_CLAIMS"
  | "SESSION_SECRETS"
  | "SESSION_KEY_EXCHANGE"
>;

/** Browser sign-in is all or nothing: a half-configured provider would fail at the first sign-in, not at deploy. */
function signInProblems(p: SignInVariables): [variable: string, problem: string][] {
  const out: [string, string][] = [];
  const oidc = { OIDC_ISSUER: p.OIDC_ISSUER, OIDC_CLIENT_ID: p.OIDC_CLIENT_ID, OIDC_REDIRECT_URI: p.OIDC_REDIRECT_URI };
  const given = Object.entries(oidc).filter(([, v]) => v !== undefined);
  if (given.length > 0 && given.length < 3) {
    for (const [name, v] of Object.entries(oidc)) if (v === undefined) out.push([name, "is required with the other OIDC_* variables"]);
  }
  if (given.length === 0) {
    // A rule of who may sign in, with no provider to sign in with, is a configuration someone believes is in force.
    if (p.OIDC_CLIENT_SECRET !== undefined) out.push(["OIDC_CLIENT_SECRET", "is set without OIDC_ISSUER"]);
    if (p.OIDC_ALLOWED_GROUPS.length > 0) out.push(["OIDC_ALLOWED_GROUPS", "is set without OIDC_ISSUER"]);
    if (p.OIDC_ALLOWED_EMAIL_DOMAINS.length > 0) out.push(["OIDC_ALLOWED_EMAIL_DOMAINS", "is set without OIDC_ISSUER"]);
    if (p.OIDC_ALLOWED_CLAIMS.length > 0) out.push(["OIDC_ALLOWED_CLAIMS", "is set without OIDC_ISSUER"]);
  }
  if (given.length === 3 && p.SESSION_SECRETS.length === 0) out.push(["SESSION_SECRETS", "is required for browser sign-in"]);
  if (p.OIDC_ISSUER) {
    const u = new URL(p.OIDC_ISSUER);
    if (u.protocol === "http:" && !isLoopbackHost(u.hostname))
      out.push(["OIDC_ISSUER", "must be https (http only on 127.0.0.1 or localhost)"]);
  }
  if (p.OIDC_REDIRECT_URI) {
    const u = new URL(p.OIDC_REDIRECT_URI);
    if (u.search !== "" || u.pathname !== "/auth/callback")
      out.push(["OIDC_REDIRECT_URI", "must be the gateway's https://<host>/auth/callback, without a query"]);
    if (u.protocol === "http:" && !isLoopbackHost(u.hostname))
      out.push(["OIDC_REDIRECT_URI", "must be https (http only on 127.0.0.1 or localhost)"]);
  }
  if (p.SESSION_KEY_EXCHANGE !== undefined && p.SESSION_KEY_EXCHANGE !== "true" && p.SESSION_KEY_EXCHANGE !== "false")
    out.push(["SESSION_KEY_EXCHANGE", "must be true or false"]);
  if (p.OIDC_SCOPES !== undefined && !p.OIDC_SCOPES.split(/[\s,]+/).includes("openid")) out.push(["OIDC_SCOPES", "must include openid"]);
  return out;
}

/** The local development hosts on which a session cookie may go without `Secure` (docs/browser-sign-in.md). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

/** Each engine's section of `Config`, added by the engine's config.ts (`declare module "../../config"`). */
export interface EngineSections {}
/** The upstream URL of each engine (`config.upstreams.<engine>`), added by the engine's config.ts. */
export interface EngineUpstreams {}
/** Where the UIs an engine serves on the gateway's origin are fetched from (src/proxy/ui.ts), likewise. */
export interface EngineUiUpstreams {}

/** The configuration every handler reads (`c.get("config")`): the shared section and each engine's, together. */
export type Config = z.output<typeof sharedConfig> & EngineSections & { upstreams: EngineUpstreams; uiUpstreams: EngineUiUpstreams };
export type OidcConfig = NonNullable<Config["oidc"]>;
export type SessionConfig = NonNullable<Config["session"]>;
export type UpstreamAssertionConfig = NonNullable<Config["upstreamAssertion"]>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: GatewayError };
