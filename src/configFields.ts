/**
 * The kinds of configuration variable (a whole number in a range, a URL, a comma list...), each a zod schema from
 * the variable's text to its value, and the shape of a configuration piece. src/config.ts composes the pieces (its
 * own and each engine's, src/engines/<name>/config.ts) into the Worker's configuration. Pure.
 */
import { z } from "zod";
import { DEFAULT_PREFECT_FIELD_COSTS, UPSTREAM_ASSERTION_MAX_KEYS } from "./constants";
import { parseScopePattern, type ScopePattern } from "./formats/scopes";

/**
 * A piece of the configuration: its variables' schema (`z.object({ NAME: kind })`, each variable written once),
 * transformed into its typed section of `Config` (`.transform((v) => ({ field: v.NAME }))`). The variables'
 * names are the object's keys; a piece's `superRefine` (before the transform) checks variables against each other.
 */
export type ConfigPiece = z.ZodPipe<z.ZodObject, z.ZodTransform<object, Record<string, unknown>>>;

/** A piece's variables, in the order it declares them. */
export const variablesOf = (piece: ConfigPiece): string[] => Object.keys(piece.in.shape);

export type LogLevel = "error" | "warn" | "info" | "debug";
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

export const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

export const optionalString = z
  .string()
  .optional()
  .transform((s) => (s && s.trim() !== "" ? s.trim() : undefined));

export const integer = (fallback: number, min: number, max: number) =>
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

export const boolean = (fallback: boolean) =>
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

/**
 * Why an upstream URL may not carry credentials, and what to do instead: flowgate sends no credential of its own
 * to an engine (it forwards the caller's identity in its own headers), so a `user:password@` would only end up
 * where URLs are shown (explain's `upstream`, a Location rewrite, an operator's screen). The engines trust the
 * network the gateway reaches them on (docs/configuration.md, "Upstream URLs").
 */
export const UPSTREAM_CREDENTIALS_RULE =
  "must not carry credentials (user:password@): flowgate sends none to an upstream; reach the engine on a network that admits the gateway (docs/configuration.md, Upstream URLs)";

/**
 * An upstream's base URL: http(s), an origin and a path prefix only. No credentials (UPSTREAM_CREDENTIALS_RULE),
 * no query (a request's path is appended to it, so a query would end up inside every path) and no fragment.
 * Messages never repeat the value.
 */
export const url = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s || s.trim() === "") return undefined;
    let u: URL;
    try {
      u = new URL(s.trim());
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL" });
      return z.NEVER;
    }
    const problem =
      u.protocol !== "http:" && u.protocol !== "https:"
        ? "must be an http(s) URL"
        : u.username !== "" || u.password !== ""
          ? UPSTREAM_CREDENTIALS_RULE
          : u.search !== "" || u.hash !== "" || /[?#]/.test(s)
            ? "must be an origin and a path prefix only: no query or fragment"
            : null;
    if (problem !== null) {
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }
    return u.toString().replace(/\/+$/, "");
  });

/** A URL kept exactly as written: an issuer and a redirect URI are compared byte for byte, trailing slash included. */
export const exactUrl = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s || s.trim() === "") return undefined;
    const v = s.trim();
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL without fragment or credentials" });
      return z.NEVER;
    }
    const problem =
      (u.protocol !== "http:" && u.protocol !== "https:") || u.hash !== ""
        ? "must be an http(s) URL without fragment or credentials"
        : u.username !== "" || u.password !== ""
          ? UPSTREAM_CREDENTIALS_RULE
          : null;
    if (problem !== null) {
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }
    return v;
  });

export const commaList = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === "" ? fallback : list(s)));

export const logLevel = z
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

export const jwtAlgorithms = z
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

export const scopeList = (fallback: string) =>
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
export const fieldCosts = z
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

export const unavailablePolicy = z
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

/** One of `values` (case-insensitive, trimmed), `fallback` when unset or empty. */
export const oneOf = <T extends string>(values: readonly T[], fallback: T) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      const v = s === undefined || s.trim() === "" ? fallback : s.trim().toLowerCase();
      if (!(values as readonly string[]).includes(v)) {
        ctx.addIssue({ code: "custom", message: `must be one of ${values.join(", ")}` });
        return z.NEVER;
      }
      return v as T;
    });

export const claim = (fallback: string) => optionalString.transform((s) => s ?? fallback);

/** Domains, lowercased (`example.com`): OIDC_ALLOWED_EMAIL_DOMAINS. */
export const domainList = z
  .string()
  .optional()
  .transform((s, ctx) => {
    const out = list(s ?? "").map((d) => d.toLowerCase());
    if (!out.every((d) => /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d))) {
      ctx.addIssue({ code: "custom", message: "must be a comma list of domains (e.g. example.com)" });
      return z.NEVER;
    }
    return out;
  });

/** `claim=value` pairs, a claim named as JWT_CLAIM_* names one (a dotted path allowed): OIDC_ALLOWED_CLAIMS. */
export const claimRules = z
  .string()
  .optional()
  .transform((s, ctx) => {
    const out: { claim: string; value: string }[] = [];
    for (const raw of list(s ?? "")) {
      const eq = raw.indexOf("=");
      const claim = raw.slice(0, eq).trim();
      const value = raw.slice(eq + 1).trim();
      if (eq <= 0 || claim === "" || value === "") {
        ctx.addIssue({ code: "custom", message: "must be a comma list of claim=value (e.g. hd=example.com)" });
        return z.NEVER;
      }
      out.push({ claim, value });
    }
    return out;
  });

/** A key that signs upstream assertions, as UPSTREAM_ASSERTION_KEYS gives it, with the part that is published. */
export interface AssertionSigningKey {
  kid: string;
  alg: "EdDSA" | "RS256";
  /** The private JWK: imported to sign, never logged, echoed or published. */
  privateJwk: Readonly<Record<string, string>>;
  /** What `/.well-known/jwks.json` publishes: the public members only, picked by name (never "all but d"). */
  publicJwk: Readonly<Record<string, string>>;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
/** The members each key type needs, all base64url: Ed25519 (RFC 8037) and RSA with its CRT parameters (RFC 7518). */
const PRIVATE_MEMBERS = { OKP: ["x", "d"], RSA: ["n", "e", "d", "p", "q", "dp", "dq", "qi"] } as const;
const PUBLIC_MEMBERS = { OKP: ["x"], RSA: ["n", "e"] } as const;
/** A 2048-bit modulus is 256 bytes: 342 base64url characters. Smaller RSA keys are refused. */
const MIN_RSA_MODULUS_CHARS = 342;

/** What is wrong with one private JWK, or its signing key; never a member's value. */
function assertionKeyOf(k: unknown, at: string): AssertionSigningKey | string {
  if (typeof k !== "object" || k === null || Array.isArray(k)) return `${at} is not a JWK object`;
  const jwk = k as Record<string, unknown>;
  if (typeof jwk.kid !== "string" || !KID.test(jwk.kid)) return `${at} needs a kid of 1-64 letters, digits, '.', '_' or '-'`;
  const kty = jwk.kty;
  if (kty !== "OKP" && kty !== "RSA") return `${at} must be an Ed25519 (kty OKP) or RSA key`;
  if (kty === "OKP" && jwk.crv !== "Ed25519") return `${at} must have crv Ed25519`;
  const alg = kty === "OKP" ? "EdDSA" : "RS256";
  if (jwk.alg !== undefined && jwk.alg !== alg && !(kty === "OKP" && jwk.alg === "Ed25519")) return `${at} has an alg other than ${alg}`;
  if (jwk.use !== undefined && jwk.use !== "sig") return `${at} has a use other than sig`;
  for (const m of PRIVATE_MEMBERS[kty]) {
    const v = jwk[m];
    if (typeof v !== "string" || !B64URL.test(v)) return `${at} is not a private key: ${m} is missing or not base64url`;
  }
  if (kty === "RSA" && (jwk.n as string).length < MIN_RSA_MODULUS_CHARS) return `${at} is an RSA key under 2048 bits`;
  const privateJwk: Record<string, string> = { kty, kid: jwk.kid };
  if (kty === "OKP") privateJwk.crv = "Ed25519";
  for (const m of PRIVATE_MEMBERS[kty]) privateJwk[m] = jwk[m] as string;
  const publicJwk: Record<string, string> = { kty, kid: jwk.kid, use: "sig", alg };
  if (kty === "OKP") publicJwk.crv = "Ed25519";
  for (const m of PUBLIC_MEMBERS[kty]) publicJwk[m] = jwk[m] as string;
  return { kid: jwk.kid, alg, privateJwk, publicJwk };
}

/**
 * UPSTREAM_ASSERTION_KEYS: a JSON array of private JWKs (Ed25519 or RSA of 2048 bits or more), each with its own
 * `kid`. The first signs; all are published. Unset: an empty list (no assertion is sent). Messages name the key by
 * its place in the list, never a value: the variable is a secret.
 */
export const assertionKeys = z
  .string()
  .optional()
  .transform((s, ctx): AssertionSigningKey[] => {
    if (s === undefined || s.trim() === "") return [];
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      // The parser's message quotes the text around the error: it is not passed on.
      return fail("must be a JSON array of private JWKs (it is not JSON)");
    }
    if (!Array.isArray(parsed) || parsed.length === 0) return fail("must be a JSON array of one or more private JWKs");
    if (parsed.length > UPSTREAM_ASSERTION_MAX_KEYS) return fail(`holds more than ${UPSTREAM_ASSERTION_MAX_KEYS} keys`);
    const keys: AssertionSigningKey[] = [];
    for (const [i, k] of parsed.entries()) {
      const key = assertionKeyOf(k, `key ${i + 1}`);
      if (typeof key === "string") return fail(key);
      if (keys.some((o) => o.kid === key.kid)) return fail(`key ${i + 1} repeats the kid of another key`);
      keys.push(key);
    }
    return keys;
  });

export type AssertionMode = "reuse" | "per-request";

export const assertionMode = z
  .string()
  .optional()
  .transform((s, ctx): AssertionMode => {
    const v = s === undefined || s.trim() === "" ? "reuse" : s.trim();
    if (v !== "reuse" && v !== "per-request") {
      ctx.addIssue({ code: "custom", message: "must be reuse or per-request" });
      return z.NEVER;
    }
    return v;
  });
