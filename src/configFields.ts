/**
 * The kinds of configuration variable (a whole number in a range, a URL, a comma list...), each a zod schema from
 * the variable's text to its value, and the shape of a configuration piece. src/config.ts composes the pieces (its
 * own and each engine's, src/engines/<name>/config.ts) into the Worker's configuration. Pure.
 */
import { z } from "zod";
import { DEFAULT_PREFECT_FIELD_COSTS } from "./constants";
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

export const claim = (fallback: string) => optionalString.transform((s) => s ?? fallback);
