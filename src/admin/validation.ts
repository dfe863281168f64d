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
      .regex(/^[^\x00-\x1f\x7f]*$/)
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
    .regex(/^[a-z][a-z0-9-]{0,31}$/)
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

/** Parses `input` or throws a 400 listing the offending fields and what is wrong with each. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields = r.error.issues.map((i) => ({
    field: i.path.join(".") || "(body)",
    problem: i.code === "unrecognized_keys" ? `unknown field(s) ${i.keys.join(", ")}` : i.message,
  }));
  throw badRequest(`invalid request: ${fields.map((f) => `${f.field} ${f.problem}`).join("; ")}`, { fields });
}

/** The JSON body (src/proxy/json.ts `readJsonBody`), `{}` when empty: every admin body's fields may be left out. */
export async function jsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const body = await readJsonBody(req, maxBytes);
  return body === undefined ? {} : body;
}
