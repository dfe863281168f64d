/**
 * The admin API's operations as the CLI sees them, read from its OpenAPI document (`/admin/openapi.json`): each
 * body property and query parameter becomes a flag (`servesTenants` -> `--serves-tenants`, a nested `rate.windowS`
 * -> `--rate-window-s`), typed by its schema. Nothing here lists an operation's fields: a field the API gains is a
 * flag at once, and one it drops is gone from the CLI too.
 */
import { UsageError } from "./errors.ts";

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
  format?: string;
};

interface Parameter {
  name: string;
  in: "query" | "path" | "header" | "cookie";
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { content?: { "application/json"?: { schema?: Schema } } };
}

export interface OpenApiDocument {
  paths: Record<string, Partial<Record<string, Operation>>>;
  components?: { schemas?: Record<string, Schema> };
}

/** How a flag's text becomes a value. */
export type FlagKind = "string" | "number" | "boolean" | "list" | "json" | "list-or-json";

export interface Flag {
  /** Without the dashes: `serves-tenants`. */
  name: string;
  /** Where the value goes: a body path (`["rate", "windowS"]`) or a query parameter. */
  in: "body" | "query";
  path: string[];
  kind: FlagKind;
  required: boolean;
  /** For help: the type, its bounds and choices. */
  hint: string;
}

export interface ResolvedOperation {
  method: string;
  /** `/admin/keys/{id}` */
  path: string;
  summary: string;
  description: string;
  pathParams: string[];
  flags: Flag[];
  hasBody: boolean;
}

export const kebab = (s: string) =>
  s
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/_/g, "-")
    .toLowerCase();

function deref(doc: OpenApiDocument, s: Schema | undefined): Schema {
  let out = s ?? {};
  for (let i = 0; out.$ref && i < 10; i++) {
    const name = out.$ref.replace(/^#\/components\/schemas\//, "");
    out = doc.components?.schemas?.[name] ?? {};
  }
  return out;
}

const types = (s: Schema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []).filter((t) => t !== "null");

function kindOf(doc: OpenApiDocument, s: Schema): FlagKind {
  const branches = (s.anyOf ?? s.oneOf ?? []).map((b) => deref(doc, b));
  if (branches.length > 0) {
    const kinds = new Set(branches.map((b) => kindOf(doc, b)));
    if (kinds.size === 1) return [...kinds][0]!;
    return kinds.has("list") ? "list-or-json" : "json";
  }
  const t = types(s);
  if (t.includes("boolean")) return "boolean";
  if (t.includes("integer") || t.includes("number")) return "number";
  if (t.includes("array")) {
    const items = deref(doc, s.items);
    return types(items).includes("string") || items.enum ? "list" : "json";
  }
  if (t.includes("object")) return "json";
  return "string";
}

function hintOf(doc: OpenApiDocument, s: Schema, kind: FlagKind): string {
  const parts: string[] = [
    {
      string: "text",
      number: "number",
      boolean: "switch",
      list: "comma list",
      json: "JSON",
      "list-or-json": "comma list, or JSON",
    }[kind],
  ];
  if (s.format) parts.push(s.format === "date-time" ? "ISO 8601 time" : s.format);
  const choices = s.enum ?? deref(doc, s.items).enum;
  if (choices) parts.push(`one of ${choices.join("|")}`);
  if (s.minimum !== undefined || s.maximum !== undefined) parts.push(`${s.minimum ?? ""}..${s.maximum ?? ""}`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(", ");
}

/** Body flags: each property, and one level into nested objects (`rate.limit` -> `--rate-limit`). */
function bodyFlags(doc: OpenApiDocument, schema: Schema): Flag[] {
  const flags: Flag[] = [];
  const root = deref(doc, schema);
  for (const [prop, raw] of Object.entries(root.properties ?? {})) {
    const s = deref(doc, raw);
    const required = root.required?.includes(prop) ?? false;
    if (types(s).includes("object") && s.properties && !s.anyOf && !s.oneOf) {
      for (const [sub, subRaw] of Object.entries(s.properties)) {
        const ss = deref(doc, subRaw);
        const kind = kindOf(doc, ss);
        flags.push({
          name: `${kebab(prop)}-${kebab(sub)}`,
          in: "body",
          path: [prop, sub],
          kind,
          required: required && (s.required?.includes(sub) ?? false),
          hint: hintOf(doc, ss, kind),
        });
      }
      continue;
    }
    const kind = kindOf(doc, s);
    flags.push({ name: kebab(prop), in: "body", path: [prop], kind, required, hint: hintOf(doc, s, kind) });
  }
  return flags;
}

/** One operation of the document, with its flags; a usage error when the gateway does not offer it. */
export function resolveOperation(doc: OpenApiDocument, method: string, path: string): ResolvedOperation {
  const op = doc.paths[path]?.[method];
  if (!op) throw new UsageError(`this gateway has no ${method.toUpperCase()} ${path} (an older or newer version than this CLI?)`);
  const params = op.parameters ?? [];
  const queryFlags: Flag[] = params
    .filter((p) => p.in === "query")
    .map((p) => {
      const s = deref(doc, p.schema);
      const kind = s.enum && s.enum.length === 2 && s.enum.includes("true") && s.enum.includes("false") ? "boolean" : kindOf(doc, s);
      return { name: kebab(p.name), in: "query", path: [p.name], kind, required: p.required ?? false, hint: hintOf(doc, s, kind) };
    });
  const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
  return {
    method,
    path,
    summary: op.summary ?? "",
    description: op.description ?? "",
    pathParams: [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!),
    flags: [...queryFlags, ...(bodySchema ? bodyFlags(doc, bodySchema) : [])],
    hasBody: bodySchema !== undefined,
  };
}

/** A flag's text as its value. */
export function parseFlagValue(flag: Flag, text: string | true): unknown {
  if (flag.kind === "boolean") return text === true ? true : !/^(false|0|no)$/i.test(text);
  if (text === true) throw new UsageError(`--${flag.name} takes a value (${flag.hint})`);
  switch (flag.kind) {
    case "number": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${flag.name}: not a number`);
      return n;
    }
    case "list":
      return splitList(text);
    case "json":
      return parseJson(flag, text);
    case "list-or-json":
      return /^\s*[[{]/.test(text) ? parseJson(flag, text) : splitList(text);
    default:
      return text;
  }
}

const splitList = (text: string) =>
  text
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

function parseJson(flag: Flag, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${flag.name}: not JSON`);
  }
}

/** Sets `value` at `path` in `target`, making the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1)!] = value;
}
