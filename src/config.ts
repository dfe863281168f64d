/**
 * The Worker's environment: bindings and variables, validated once per isolate. A bad deployment answers
 * 500 BAD_CONFIGURATION naming every offending variable, never its value (values may be secrets).
 */
import { z } from "zod";
import {
  ANALYSIS_CACHE_MAX_ENTRIES,
  DEFAULT_AUDIT_RETENTION_DAYS,
  DEFAULT_GRAPHQL_LIMITS,
  DEFAULT_PREFECT_FIELD_COSTS,
  DEFAULT_USAGE_RETENTION_DAYS,
  JWKS_CACHE_MAX_AGE_MS,
  MIN_TOKEN_SECRET_LENGTH,
  UUID_PATTERN,
  SESSION_DEFAULT_IDLE_TTL_S,
  SESSION_DEFAULT_MAX_TTL_S,
  type GraphQLLimits,
} from "./constants";
import { GatewayError } from "./errors";
import { parseScopePattern, type ScopePattern } from "./identity/scopes";

export interface Env {
  KEY_CACHE: KVNamespace;
  /** The console's static files (wrangler.toml [assets]); absent where no assets are deployed. */
  ASSETS?: Fetcher;
  /** Rate-limit counters: one Durable Object per limited key, subject or tenant (src/ratelimit/counter.ts). */
  RATE_LIMITER?: DurableObjectNamespace;
  [variable: string]: unknown;
}

export type LogLevel = "error" | "warn" | "info" | "debug";
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

const DEFAULT_SYSTEM_TASKS = [
  "SIMPLE", "SUB_WORKFLOW", "DECISION", "SWITCH", "DO_WHILE", "EVENT", "FORK", "FORK_JOIN", "FORK_JOIN_DYNAMIC",
  "JOIN", "EXCLUSIVE_JOIN", "WAIT", "TERMINATE", "KAFKA_PUBLISH", "SET_VARIABLE", "JSON_JQ_TRANSFORM",
];

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

const optionalString = z
  .string()
  .optional()
  .transform((s) => (s && s.trim() !== "" ? s.trim() : undefined));

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === "") return fallback;
      const n = Number(s);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const boolean = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s === "") return fallback;
      if (s === "true") return true;
      if (s === "false") return false;
      ctx.addIssue({ code: "custom", message: "must be true or false" });
      return z.NEVER;
    });

const url = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s || s.trim() === "") return undefined;
    try {
      const u = new URL(s.trim());
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
      return u.toString().replace(/\/+$/, "");
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL" });
      return z.NEVER;
    }
  });

/** A URL kept exactly as written: an issuer and a redirect URI are compared byte for byte, trailing slash included. */
const exactUrl = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s || s.trim() === "") return undefined;
    const v = s.trim();
    try {
      const u = new URL(v);
      if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hash !== "" || u.username !== "" || u.password !== "") throw new Error();
      return v;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL without fragment or credentials" });
      return z.NEVER;
    }
  });

const commaList = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === "" ? fallback : list(s)));

const logLevel = z
  .string()
  .optional()
  .transform((s, ctx) => {
    const v = s === undefined || s === "" ? "warn" : s.toLowerCase();
    if (!LOG_LEVELS.includes(v as LogLevel)) {
      ctx.addIssue({ code: "custom", message: `must be one of ${LOG_LEVELS.join(", ")}` });
      return z.NEVER;
    }
    return v as LogLevel;
  });

const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

const jwtAlgorithms = z
  .string()
  .optional()
  .transform((s, ctx) => {
    const algs = s === undefined || s.trim() === "" ? ["RS256", "ES256", "EdDSA", "PS256"] : list(s);
    for (const a of algs) {
      if (!ASYMMETRIC_ALGORITHMS.includes(a) && a !== "HS256") {
        ctx.addIssue({ code: "custom", message: `unsupported algorithm ${JSON.stringify(a.slice(0, 16))}` });
        return z.NEVER;
      }
    }
    return algs;
  });

const scopeList = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      const out: ScopePattern[] = [];
      for (const raw of list(s === undefined ? fallback : s)) {
        const p = parseScopePattern(raw);
        if (!p) {
          ctx.addIssue({ code: "custom", message: "contains an invalid scope pattern" });
          return z.NEVER;
        }
        out.push(p);
      }
      return out;
    });

/** `type/field=weight` pairs (`type/*` for a type's default), over the defaults: see DEFAULT_PREFECT_FIELD_COSTS. */
const fieldCosts = z
  .string()
  .optional()
  .transform((s, ctx) => {
    const out = new Map<string, number>();
    for (const raw of [...list(DEFAULT_PREFECT_FIELD_COSTS), ...list(s ?? "")]) {
      const m = /^(query|mutation|subscription)\/([_A-Za-z][_0-9A-Za-z]*|\*)=(\d{1,6})$/.exec(raw);
      if (!m) {
        ctx.addIssue({ code: "custom", message: "must be a list of type/field=weight (e.g. mutation/create_flow_run=10)" });
        return z.NEVER;
      }
      out.set(`${m[1]}/${m[2]}`, Number(m[3]));
    }
    return out;
  });

const unavailablePolicy = z
  .string()
  .optional()
  .transform((s, ctx) => {
    const v = s === undefined || s.trim() === "" ? "allow" : s.trim().toLowerCase();
    if (v !== "allow" && v !== "refuse") {
      ctx.addIssue({ code: "custom", message: "must be allow or refuse" });
      return z.NEVER;
    }
    return v as "allow" | "refuse";
  });

const claim = (fallback: string) => optionalString.transform((s) => s ?? fallback);

const ConfigSchema = z.object({
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
  GATEWAY_TOKEN_SECRET: commaList([]).refine((l) => l.every((s) => s.length >= MIN_TOKEN_SECRET_LENGTH), `every secret must be at least ${MIN_TOKEN_SECRET_LENGTH} characters`),
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
  ADMIN_ROLES: commaList(["OWNER"]),
  ADMIN_GROUPS: commaList(["NETWORK-ADMIN"]),
  ALLOW_PUBLIC_ACCESS: boolean(false),
  PUBLIC_SCOPES: scopeList("query/*"),
  // Unset, each comes from the caller's flowgate tenant (src/engines/prefect/tenant.ts); set, it is every caller's.
  TENANT_ID: optionalString.refine((s) => s === undefined || UUID_PATTERN.test(s), "must be a UUID (8-4-4-4-12 hex digits)"),
  TENANT_NAME: optionalString,
  TENANT_SLUG: optionalString,
  ALLOWED_SYSTEM_TASKS: commaList(DEFAULT_SYSTEM_TASKS),
  FLOWAPI_IDENTIFIER: optionalString,
  FLOWAPI_PUBLIC_KEY: optionalString,
  LOG_LEVEL: logLevel,
  LOG_LEVEL_OVERRIDE_DURATION: integer(300, 1, 86_400),
  MAX_BODY_BYTES: integer(1_048_576, 1024, 100 * 1_048_576),
  UPSTREAM_TIMEOUT_MS: integer(30_000, 100, 600_000),
  CORS_ORIGINS: commaList([]),
  MAX_POLL_COUNT: integer(100, 1, 1000),
  SUBREQUEST_BUDGET: integer(50, 10, 10_000),
  TOKEN_REVOCATION_TTL_S: integer(90 * 86_400, 60, 3650 * 86_400),
  MAX_POLL_TIMEOUT_MS: integer(30_000, 0, 600_000),
  AUDIT_RETENTION_DAYS: integer(DEFAULT_AUDIT_RETENTION_DAYS, 1, 3650),
  RATE_LIMIT_ON_UNAVAILABLE: unavailablePolicy,
  PREFECT_FIELD_COSTS: fieldCosts,
  USAGE_RETENTION_DAYS: integer(DEFAULT_USAGE_RETENTION_DAYS, 1, 3650),
  GRAPHQL_MAX_DOCUMENT_BYTES: integer(DEFAULT_GRAPHQL_LIMITS.maxDocumentBytes, 256, 10 * 1_048_576),
  GRAPHQL_MAX_TOKENS: integer(DEFAULT_GRAPHQL_LIMITS.maxTokens, 10, 1_000_000),
  GRAPHQL_MAX_DEPTH: integer(DEFAULT_GRAPHQL_LIMITS.maxDepth, 1, 1000),
  GRAPHQL_MAX_ALIASES: integer(DEFAULT_GRAPHQL_LIMITS.maxAliases, 0, 100_000),
  GRAPHQL_MAX_DIRECTIVES: integer(DEFAULT_GRAPHQL_LIMITS.maxDirectives, 0, 100_000),
  GRAPHQL_MAX_COST: integer(DEFAULT_GRAPHQL_LIMITS.maxCost, 1, 10_000_000),
  GRAPHQL_MAX_BATCH: integer(DEFAULT_GRAPHQL_LIMITS.maxBatch, 1, 1000),
  GRAPHQL_ANALYSIS_CACHE_ENTRIES: integer(ANALYSIS_CACHE_MAX_ENTRIES, 0, 100_000),
  PREFECT_GRAPHQL_URL: url,
  CONDUCTOR_URL: url,
  SCHELLAR_URL: url,
  ARGO_URL: url,
  FLOWAPI_URL: url,
  PREFECT_UI_URL: url,
  CONDUCTOR_UI_URL: url,
  OIDC_ISSUER: exactUrl,
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_REDIRECT_URI: exactUrl,
  OIDC_SCOPES: optionalString.transform((s) => s ?? "openid email profile"),
  SESSION_SECRETS: commaList([]).refine((l) => l.every((s) => s.length >= 32), "every secret must be at least 32 characters"),
  SESSION_IDLE_TTL_S: integer(SESSION_DEFAULT_IDLE_TTL_S, 60, 86_400),
  SESSION_MAX_TTL_S: integer(SESSION_DEFAULT_MAX_TTL_S, 300, 7 * 86_400),
  SESSION_KEY_EXCHANGE: optionalString,
});

type Parsed = z.infer<typeof ConfigSchema>;

/** Every variable the Worker reads (the local stack passes each through from its environment). */
export const CONFIG_VARIABLE_NAMES: readonly string[] = Object.keys(ConfigSchema.shape);

export interface Config {
  databaseUrl: string;
  /** Local development only: `host:port` of the WebSocket-to-TCP bridge (plain ws). Unset in production. */
  dbWsProxy?: string;
  keyCacheTtlS: number;
  memoryCacheTtlS: number;
  negativeCacheTtlS: number;
  jwt: {
    jwksUrl?: string;
    publicKeys?: string;
    hs256Secret?: string;
    issuers: string[];
    audiences: string[];
    algorithms: string[];
    clockToleranceS: number;
    /** How long fetched JWKS keys count as fresh before a refetch. */
    jwksCacheMaxAgeMs: number;
    claims: { subject: string; email: string; roles: string; groups: string; tenant: string; scopes: string; servesTenants: string };
  };
  /** Conductor SDK token secrets: the first signs, all verify; empty when GATEWAY_TOKEN_SECRET is unset. */
  gatewayTokenSecrets: string[];
  adminRoles: string[];
  adminGroups: string[];
  allowPublicAccess: boolean;
  publicScopes: ScopePattern[];
  /** Explicit Prefect tenant answers for every caller; what is unset comes from the caller's flowgate tenant. */
  prefectTenant: { id?: string; name?: string; slug?: string };
  allowedSystemTasks: string[];
  flowapi: { identifier?: string; publicKey?: string };
  logLevel: LogLevel;
  logLevelOverrideDurationS: number;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  corsOrigins: string[];
  maxPollCount: number;
  /** How long a revocation lasts when the revoked token's expiry is not given (the longest token lifetime). */
  tokenRevocationTtlS: number;
  /** Subrequests one request may make (Workers: 50 on the free plan, 1,000 on paid); fan-outs stay within it. */
  subrequestBudget: number;
  maxPollTimeoutMs: number;
  auditRetentionDays: number;
  rateLimits: {
    /** What a request gets when its counter object cannot be asked: allowed (and logged) or refused with 429. */
    onUnavailable: "allow" | "refuse";
    /** Weight of a Prefect root field by `type/field`, with `type/*` as each type's default. */
    prefectFieldCosts: ReadonlyMap<string, number>;
    /** Days the daily usage rows are kept (minute and hour rows: src/constants.ts). */
    usageRetentionDays: number;
  };
  graphqlLimits: GraphQLLimits;
  /** Documents whose analysis each isolate keeps (0: parse every request). */
  graphqlAnalysisCacheEntries: number;
  upstreams: { prefect?: string; conductor?: string; schellar?: string; argo?: string; flowapi?: string };
  /** Where the Prefect and Conductor UIs' files are served from, to serve them on the gateway's origin (src/proxy/ui.ts). */
  uiUpstreams: { prefect?: string; conductor?: string };
  /** Browser sign-in (docs/browser-sign-in.md); null when no provider is configured. */
  oidc: OidcConfig | null;
  /** Browser sessions; null without SESSION_SECRETS (then no session is issued or accepted). */
  session: SessionConfig | null;
}

export interface OidcConfig {
  /** The provider's issuer, exactly as its discovery document and ID tokens name it. */
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE alone), token endpoint auth `none`. */
  clientSecret?: string;
  /** The one redirect URI registered at the provider; the callback is served on its path. */
  redirectUri: string;
  scopes: string[];
}

export interface SessionConfig {
  /** The first secret seals new cookies; every one opens them (rotation: prepend a new one, drop the oldest later). */
  secrets: string[];
  idleTtlS: number;
  maxTtlS: number;
  /** Whether a flowgate key may be exchanged for a session (`POST /auth/key`). */
  keyExchange: boolean;
}

function toConfig(p: Parsed): Config {
  // HS256 is usable only with a secret, and a secret alone turns it on: never HS* against a public key.
  const algorithms = p.JWT_ALGORITHMS.filter((a) => a !== "HS256");
  if (p.JWT_HS256_SECRET) algorithms.push("HS256");
  return {
    databaseUrl: p.DATABASE_URL,
    dbWsProxy: p.DB_WS_PROXY,
    keyCacheTtlS: p.KEY_CACHE_TTL_S,
    memoryCacheTtlS: p.MEMORY_CACHE_TTL_S,
    negativeCacheTtlS: p.NEGATIVE_CACHE_TTL_S,
    jwt: {
      jwksUrl: p.JWT_JWKS_URL,
      publicKeys: p.JWT_PUBLIC_KEYS,
      hs256Secret: p.JWT_HS256_SECRET,
      issuers: p.JWT_ISSUER,
      audiences: p.JWT_AUDIENCE,
      algorithms,
      clockToleranceS: p.JWT_CLOCK_TOLERANCE_S,
      jwksCacheMaxAgeMs: p.JWT_JWKS_CACHE_TTL_S * 1000,
      claims: {
        subject: p.JWT_CLAIM_SUBJECT,
        email: p.JWT_CLAIM_EMAIL,
        roles: p.JWT_CLAIM_ROLES,
        groups: p.JWT_CLAIM_GROUPS,
        tenant: p.JWT_CLAIM_TENANT,
        scopes: p.JWT_CLAIM_SCOPES,
        servesTenants: p.JWT_CLAIM_SERVES_TENANTS,
      },
    },
    gatewayTokenSecrets: p.GATEWAY_TOKEN_SECRET,
    adminRoles: p.ADMIN_ROLES,
    adminGroups: p.ADMIN_GROUPS,
    allowPublicAccess: p.ALLOW_PUBLIC_ACCESS,
    publicScopes: p.PUBLIC_SCOPES,
    prefectTenant: { id: p.TENANT_ID?.toLowerCase(), name: p.TENANT_NAME, slug: p.TENANT_SLUG },
    allowedSystemTasks: p.ALLOWED_SYSTEM_TASKS,
    flowapi: { identifier: p.FLOWAPI_IDENTIFIER, publicKey: p.FLOWAPI_PUBLIC_KEY },
    logLevel: p.LOG_LEVEL,
    logLevelOverrideDurationS: p.LOG_LEVEL_OVERRIDE_DURATION,
    maxBodyBytes: p.MAX_BODY_BYTES,
    upstreamTimeoutMs: p.UPSTREAM_TIMEOUT_MS,
    corsOrigins: p.CORS_ORIGINS,
    maxPollCount: p.MAX_POLL_COUNT,
    subrequestBudget: p.SUBREQUEST_BUDGET,
    tokenRevocationTtlS: p.TOKEN_REVOCATION_TTL_S,
    maxPollTimeoutMs: p.MAX_POLL_TIMEOUT_MS,
    auditRetentionDays: p.AUDIT_RETENTION_DAYS,
    rateLimits: {
      onUnavailable: p.RATE_LIMIT_ON_UNAVAILABLE,
      prefectFieldCosts: p.PREFECT_FIELD_COSTS,
      usageRetentionDays: p.USAGE_RETENTION_DAYS,
    },
    graphqlLimits: {
      maxDocumentBytes: p.GRAPHQL_MAX_DOCUMENT_BYTES,
      maxTokens: p.GRAPHQL_MAX_TOKENS,
      maxDepth: p.GRAPHQL_MAX_DEPTH,
      maxAliases: p.GRAPHQL_MAX_ALIASES,
      maxDirectives: p.GRAPHQL_MAX_DIRECTIVES,
      maxCost: p.GRAPHQL_MAX_COST,
      maxBatch: p.GRAPHQL_MAX_BATCH,
    },
    graphqlAnalysisCacheEntries: p.GRAPHQL_ANALYSIS_CACHE_ENTRIES,
    upstreams: {
      prefect: p.PREFECT_GRAPHQL_URL,
      conductor: p.CONDUCTOR_URL,
      schellar: p.SCHELLAR_URL,
      argo: p.ARGO_URL,
      flowapi: p.FLOWAPI_URL,
    },
    uiUpstreams: { prefect: p.PREFECT_UI_URL, conductor: p.CONDUCTOR_UI_URL },
    oidc:
      p.OIDC_ISSUER && p.OIDC_CLIENT_ID && p.OIDC_REDIRECT_URI
        ? { issuer: p.OIDC_ISSUER, clientId: p.OIDC_CLIENT_ID, clientSecret: p.OIDC_CLIENT_SECRET, redirectUri: p.OIDC_REDIRECT_URI, scopes: list(p.OIDC_SCOPES.replace(/\s+/g, ",")) }
        : null,
    session:
      p.SESSION_SECRETS.length > 0
        ? {
            secrets: p.SESSION_SECRETS,
            idleTtlS: Math.min(p.SESSION_IDLE_TTL_S, p.SESSION_MAX_TTL_S),
            maxTtlS: p.SESSION_MAX_TTL_S,
            // The key exchange is for installations without a provider, unless turned on as a break-glass.
            keyExchange: p.SESSION_KEY_EXCHANGE === undefined ? !p.OIDC_ISSUER : p.SESSION_KEY_EXCHANGE === "true",
          }
        : null,
  };
}

/** Browser sign-in is all or nothing: a half-configured provider would fail at the first sign-in, not at deploy. */
function signInProblems(p: Parsed): string[] {
  const out: string[] = [];
  const oidc = { OIDC_ISSUER: p.OIDC_ISSUER, OIDC_CLIENT_ID: p.OIDC_CLIENT_ID, OIDC_REDIRECT_URI: p.OIDC_REDIRECT_URI };
  const given = Object.entries(oidc).filter(([, v]) => v !== undefined);
  if (given.length > 0 && given.length < 3) {
    for (const [name, v] of Object.entries(oidc)) if (v === undefined) out.push(`${name}: is required with the other OIDC_* variables`);
  }
  if (p.OIDC_CLIENT_SECRET !== undefined && given.length === 0) out.push("OIDC_CLIENT_SECRET: is set without OIDC_ISSUER");
  if (given.length === 3 && p.SESSION_SECRETS.length === 0) out.push("SESSION_SECRETS: is required for browser sign-in");
  if (p.OIDC_REDIRECT_URI) {
    const u = new URL(p.OIDC_REDIRECT_URI);
    if (u.search !== "" || u.pathname !== "/auth/callback") out.push("OIDC_REDIRECT_URI: must be the gateway's https://<host>/auth/callback, without a query");
    if (u.protocol === "http:" && !isLoopbackHost(u.hostname)) out.push("OIDC_REDIRECT_URI: must be https (http only on 127.0.0.1 or localhost)");
  }
  if (p.SESSION_KEY_EXCHANGE !== undefined && p.SESSION_KEY_EXCHANGE !== "true" && p.SESSION_KEY_EXCHANGE !== "false") out.push("SESSION_KEY_EXCHANGE: must be true or false");
  if (p.OIDC_SCOPES !== undefined && !p.OIDC_SCOPES.split(/[\s,]+/).includes("openid")) out.push("OIDC_SCOPES: must include openid");
  return out;
}

/** The local development hosts on which a session cookie may go without `Secure` (docs/browser-sign-in.md). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: GatewayError };

/**
 * Validates the environment. Pure: the same env always gives the same answer. Messages name variables and what is
 * wrong with them, never a value.
 */
export function parseConfig(env: Record<string, unknown>): ConfigResult {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v === undefined || v === null) continue;
    if (typeof v === "string") input[key] = v;
    else if (typeof v === "number" || typeof v === "boolean") input[key] = String(v);
    else problems.push(`${key}: must be a string`);
  }
  if (!env.KEY_CACHE || typeof (env.KEY_CACHE as KVNamespace).get !== "function") {
    problems.push("KEY_CACHE: KV namespace binding is missing");
  }
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      problems.push(`${name}: ${issue.code === "invalid_type" ? "is required" : issue.message}`);
    }
  }
  // A secret shared with JWT_HS256_SECRET would let a gateway token pass as an identity provider's JWT.
  if (parsed.success && parsed.data.JWT_HS256_SECRET && parsed.data.GATEWAY_TOKEN_SECRET.includes(parsed.data.JWT_HS256_SECRET)) {
    problems.push("GATEWAY_TOKEN_SECRET: must differ from JWT_HS256_SECRET");
  }
  if (parsed.success) problems.push(...signInProblems(parsed.data));
  if (problems.length > 0 || !parsed.success) {
    const variables = [...new Set(problems.map((p) => p.split(":")[0]!))];
    return {
      ok: false,
      error: new GatewayError("BAD_CONFIGURATION", `invalid configuration: ${problems.join("; ")}`, { variables }),
    };
  }
  return { ok: true, config: toConfig(parsed.data) };
}

const memo = new WeakMap<object, ConfigResult>();

/** `parseConfig`, once per env object (workerd hands the same object to every request of an isolate). */
export function configFor(env: Env): ConfigResult {
  let result = memo.get(env);
  if (!result) {
    result = parseConfig(env);
    memo.set(env, result);
  }
  return result;
}
