/**
 * Admin request bodies and queries. zod schemas; a failure is a 400 naming the fields, never echoing values.
 */
import { z } from "zod";
import { ADMIN_LIST_DEFAULT_LIMIT, ADMIN_LIST_MAX_LIMIT, MAX_ROTATION_GRACE_S, PREFECT_IMPORT_MAX_ROWS } from "../constants";
import { badRequest } from "../errors";
import { readJsonBody } from "../proxy/json";
import { TENANT_NAME_RULE, isTenantName } from "../identity/principal";
import { parseScopePattern } from "../formats/scopes";
import { AUDIT_DECISIONS } from "../store/audit";
import { CHART_STEPS_S } from "./series";

const name = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^\x00-\x1f\x7f]+$/, "must not contain control characters");
const names = z.array(name).max(100);
const tenant = z.string().refine(isTenantName, TENANT_NAME_RULE);
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

export const CreateKeyBody = z
  .object({
    tenant,
    subject: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .regex(/^[^\x00-\x1f\x7f]+$/, "must not contain control characters"),
    email: z
      .string()
      .trim()
      .max(320)
      .regex(/^[^\x00-\x1f\x7f]*$/, "must not contain control characters")
      .optional(),
    name: name.optional(),
    roles: names.optional(),
    groups: names.optional(),
    scopes: z
      .array(z.string().refine((s) => parseScopePattern(s) !== null, "is not a scope pattern (type/name or a word)"))
      .max(200)
      .optional(),
    notBefore: instant.optional(),
    expiresAt: instant.optional(),
    admin: z.boolean().optional(),
    servesTenants: z
      .array(z.string().refine((s) => s === "*" || isTenantName(s), `must be '*' or tenant names (${TENANT_NAME_RULE})`))
      .max(1000)
      .refine((l) => !(l.includes("*") && l.length > 1), "'*' stands alone")
      .optional(),
  })
  .strict()
  .refine((b) => !b.notBefore || !b.expiresAt || b.notBefore < b.expiresAt, {
    message: "must be before expiresAt",
    path: ["notBefore"],
  });

/**
 * Rows of the replaced Prefect proxy's `prefect_api_keys`, read by the operator CLI from that database and sent
 * here in batches, so the import is made (and audited) by the gateway like any key change. The values are checked
 * row by row by the import itself (src/store/prefectImport.ts), which reports each refusal.
 */
export const PrefectImportBody = z
  .object({
    tenant: tenant.default("default"),
    rows: z
      .array(
        z
          .object({
            user_id: z.unknown(),
            scopes: z.unknown(),
            api_key: z.unknown(),
            key_issu_dt: z.unknown(),
            key_expr_dt: z.unknown(),
          })
          .strip(),
      )
      .max(PREFECT_IMPORT_MAX_ROWS),
  })
  .strict();

export const RotateKeyBody = z.object({ gracePeriodS: z.number().int().min(0).max(MAX_ROTATION_GRACE_S).optional() }).strict();

export const TenantBody = z.object({ name: tenant }).strict();

const printable = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\x00-\x1f\x7f]+$/, "must not contain control characters");

/** `{"jti"}` or `{"subject"}`, and optionally when the revoked tokens expire (else TOKEN_REVOCATION_TTL_S). */
export const RevokeTokenBody = z
  .object({ jti: printable(256).optional(), subject: printable(256).optional(), expiresAt: instant.optional() })
  .strict()
  .refine((b) => (b.jti === undefined) !== (b.subject === undefined), { message: "give exactly one of jti and subject", path: ["jti"] })
  .refine((b) => !b.expiresAt || b.expiresAt.getTime() > Date.now(), { message: "must be in the future", path: ["expiresAt"] });

const limit = z.coerce.number().int().min(1).max(ADMIN_LIST_MAX_LIMIT).default(ADMIN_LIST_DEFAULT_LIMIT);
const offset = z.coerce.number().int().min(0).max(1_000_000).default(0);

export const KeyListQuery = z.object({
  tenant: tenant.optional(),
  subject: z.string().max(256).optional(),
  includeRevoked: z.enum(["true", "false"]).optional(),
  limit,
  offset,
});

export const AuditQuery = z.object({
  action: z.string().max(64).optional(),
  decision: z.enum(AUDIT_DECISIONS).optional(),
  /** The route group: `prefect`, `conductor`, `workers`, `argo`, `flowapi`, `admin`, `auth` or `gateway`. */
  engine: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be a route group: prefect, conductor, workers, argo, flowapi, admin, auth or gateway")
    .optional()
    .meta({ description: "route group: prefect, conductor, workers, argo, flowapi, admin, auth or gateway" }),
  subject: z.string().max(256).optional(),
  /** The same as `subject` (the principal's subject; `anonymous` for requests without a valid credential). */
  principal: z.string().max(256).optional().meta({ description: "the principal's subject (anonymous: no valid credential); as subject" }),
  tenant: tenant.optional(),
  since: instant.optional().meta({ description: "events whose last occurrence is at or after this instant" }),
  until: instant.optional().meta({ description: "events whose first occurrence is at or before this instant" }),
  /** `ndjson`: every matching event, one JSON object a line (application/x-ndjson), streamed; limit and offset unused. */
  format: z.enum(["json", "ndjson"]).default("json").meta({ description: "ndjson: every matching event, one per line, streamed" }),
  limit,
  offset,
});

/**
 * `GET /admin/audit/counts`: the audit trail's filters (not the paging), the range (default: the last 24 hours) and
 * the bucket's length (default: the step that lays the range out in about 48 buckets).
 */
export const AuditCountsQuery = AuditQuery.pick({
  action: true,
  decision: true,
  engine: true,
  subject: true,
  principal: true,
  tenant: true,
}).extend({
  since: instant.optional().meta({ description: "the range's start (default: 24 hours before until); aligned down to a bucket" }),
  until: instant.optional().meta({ description: "the range's end (default: now)" }),
  stepS: z.coerce
    .number()
    .int()
    .refine((s) => (CHART_STEPS_S as readonly number[]).includes(s), `must be one of ${CHART_STEPS_S.join(", ")} (seconds)`)
    .optional()
    .meta({ description: `each bucket's length in seconds, one of ${CHART_STEPS_S.join(", ")}` }),
});

/**
 * A request's query parameters as one record, refusing a name given twice (400 naming it): Hono's `c.req.query()`
 * keeps the first, so `format=ndjson&format=json` would be read one way here and could be read another by a proxy
 * or log in front; one reading, as on the engines' routes.
 */
export function singleQuery(url: string): Record<string, string> {
  const seen = new Map<string, string>();
  for (const [name, value] of new URL(url).searchParams) {
    if (seen.has(name)) {
      throw badRequest(`invalid request: ${name.slice(0, 64)} given twice`, {
        fields: [{ field: name.slice(0, 64), problem: "given twice" }],
      });
    }
    seen.set(name, value);
  }
  // Own properties whatever the names (a parameter named __proto__ is a parameter, not a prototype).
  return Object.fromEntries(seen);
}

const TYPE_WORDS: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "an object",
};
const SIZE_UNITS: Record<string, string> = { string: "characters", array: "items", set: "items", file: "bytes" };

/**
 * What is wrong with a field, in words an operator reads beside it (the console shows it there, the CLI after the
 * field's name): zod's own messages ("Too small: expected number to be >=1") are rewritten; a message a schema
 * wrote itself is kept. Never the value given (it may be a secret), only its kind.
 */
export function problemInWords(issue: z.core.$ZodIssue): string {
  const m = issue.message;
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    case "invalid_type": {
      if (!m.startsWith("Invalid input")) return m;
      const received = /received (\w+)/.exec(m)?.[1];
      if (received === "undefined") return "is required";
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      if (issue.expected === "int" && received === "number") return "must be a whole number";
      return `must be ${expected}${received === "string" && issue.expected !== "string" ? ", not text" : ""}`;
    }
    case "too_small": {
      if (!m.startsWith("Too small")) return m;
      const min = String(issue.minimum);
      if (issue.origin === "string" && issue.minimum === 1) return "must not be empty";
      const unit = SIZE_UNITS[issue.origin];
      if (unit) return `must have at least ${min} ${unit}`;
      return issue.inclusive ? `must be at least ${min}` : `must be more than ${min}`;
    }
    case "too_big": {
      if (!m.startsWith("Too big")) return m;
      const max = String(issue.maximum);
      const unit = SIZE_UNITS[issue.origin];
      if (unit) return `must have at most ${max} ${unit}`;
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    }
    case "invalid_value":
      return m.startsWith("Invalid option") || m.startsWith("Invalid input")
        ? `must be ${issue.values.length === 1 ? "" : "one of "}${issue.values.map((v) => String(v)).join(", ")}`
        : m;
    case "invalid_format":
      if (issue.format === "datetime" && m.startsWith("Invalid")) {
        return "must be a date and time with its offset (ISO 8601), such as 2030-01-31T09:00:00Z";
      }
      return m.startsWith("Invalid string") ? "is not in the expected form" : m;
    default:
      return m;
  }
}

/** Parses `input` or throws a 400 listing the offending fields and what is wrong with each, in words. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields = r.error.issues.map((i) => ({ field: i.path.join(".") || "(body)", problem: problemInWords(i) }));
  throw badRequest(`invalid request: ${fields.map((f) => `${f.field} ${f.problem}`).join("; ")}`, { fields });
}

/** The JSON body (src/proxy/json.ts `readJsonBody`), `{}` when empty: every admin body's fields may be left out. */
export async function jsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const body = await readJsonBody(req, maxBytes);
  return body === undefined ? {} : body;
}
