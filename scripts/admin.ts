/**
 * `npm run admin -- <command>`: the operator CLI, a client of the admin API.
 *
 * Every command is a request to a running gateway (scripts/cli/target.ts says which, and with which admin key), so
 * each action is authorized, audited (with `door: "cli"`) and clears the gateway's caches at once, locally and in
 * production alike. Its flags are read from the gateway's own OpenAPI document (scripts/cli/operations.ts); the
 * verbs are the console's (scripts/cli/commands.ts). `npm run admin -- --help`, and `--help` after any command,
 * lists them.
 *
 * The one exception is the first admin key of a deployment, which no credential can ask for yet:
 * `keys create --admin` without an admin key writes it to the database directly (scripts/cli/bootstrap.ts).
 */
import { readFileSync } from "node:fs";
import type { LegacyPrefectKeyRow } from "../src/store/prefectImport.ts";
import { PREFECT_IMPORT_MAX_ROWS } from "../src/constants.ts";
import { COMMANDS, commandsOf, findCommand, type Command, type Positional } from "./cli/commands.ts";
import { UsageError } from "./cli/errors.ts";
import { parseFlagValue, resolveOperation, setPath, type Flag, type OpenApiDocument, type ResolvedOperation } from "./cli/operations.ts";
import { configPath, resolveTarget, type Target } from "./cli/target.ts";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
/** The admin API records the CLI as the door an action came through (src/admin/routes.ts `doorOf`). */
const USER_AGENT = `flowgate-cli/${VERSION}`;

/** Flags of the CLI itself, beside each operation's. */
const GLOBAL_FLAGS = {
  json: "print the gateway's answer as one JSON document",
  url: "the gateway's base URL (else FLOWGATE_URL, the config file, or the local stack)",
  body: "a JSON object merged under the flags into the request body",
  help: "this help",
} as const;

class Unreachable extends Error {}

interface Invocation {
  command: Command;
  values: Map<string, string | true>;
  positionals: string[];
}

/** Splits the words after a command into flags and positionals; a flag's value is the next word unless it is a switch. */
function splitWords(words: string[], isSwitch: (name: string) => boolean): { values: Map<string, string | true>; positionals: string[] } {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith("--")) {
      positionals.push(w);
      continue;
    }
    const eq = w.indexOf("=");
    const name = w.slice(2, eq === -1 ? undefined : eq);
    if (values.has(name)) throw new UsageError(`--${name} is given twice`);
    if (eq !== -1) values.set(name, w.slice(eq + 1));
    else if (isSwitch(name) || i + 1 >= words.length || words[i + 1]!.startsWith("--")) values.set(name, true);
    else values.set(name, words[++i]!);
  }
  return { values, positionals };
}

/** The request an invocation makes: path parameters, query and body, from positionals and flags. */
function buildRequest(inv: Invocation, op: ResolvedOperation) {
  const byName = new Map(op.flags.map((f) => [f.name, f]));
  const pathParams: Record<string, string> = {};
  const query = new URLSearchParams();
  const body: Record<string, unknown> = {};
  const put = (flag: Flag, value: unknown) => {
    if (flag.in === "query") query.set(flag.path[0]!, String(value));
    else setPath(body, flag.path, value);
  };
  const expected: Positional[] =
    inv.command.positionals ?? op.pathParams.map((p) => ({ name: p.toUpperCase(), to: { in: "path", key: p } }));
  if (inv.positionals.length > expected.length) throw new UsageError(`unexpected ${inv.positionals.slice(expected.length).join(" ")}`);
  expected.forEach((p, i) => {
    const value = inv.positionals[i];
    if (value === undefined) {
      if (!p.optional) throw new UsageError(`${inv.command.words.join(" ")} needs ${p.name}`);
      return;
    }
    if (p.to.in === "path") pathParams[p.to.key] = value;
    else if (p.to.in === "query") query.set(p.to.key, value);
    else body[p.to.key] = value;
  });
  if (inv.values.has("body")) {
    const raw = inv.values.get("body");
    let parsed: unknown;
    try {
      parsed = typeof raw === "string" ? JSON.parse(raw) : undefined;
    } catch {}
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError("--body: a JSON object");
    Object.assign(body, parsed);
  }
  for (const [name, raw] of inv.values) {
    if (name in GLOBAL_FLAGS || name === "break-glass" || name === "from") continue;
    const alias = inv.command.aliases?.[name];
    const flag = alias ? alias.flag.map((f) => byName.get(f)).find(Boolean) : byName.get(name);
    if (!flag) throw new UsageError(`${inv.command.words.join(" ")} has no --${name} (see --help)`);
    put(flag, alias && "value" in alias ? alias.value : parseFlagValue(flag, raw));
  }
  // A switch not given is off, also where the API wants the field said (a workspace's hideForUnauthorized).
  for (const f of op.flags) {
    if (f.kind === "boolean" && f.required && f.in === "body" && f.path.length === 1 && body[f.path[0]!] === undefined)
      body[f.path[0]!] = false;
  }
  inv.command.complete?.(body);
  let path = op.path;
  for (const p of op.pathParams) path = path.replace(`{${p}}`, encodeURIComponent(pathParams[p] ?? ""));
  const q = query.toString();
  return { path: q ? `${path}?${q}` : path, body: op.hasBody ? body : undefined };
}

async function call(target: Target, method: string, path: string, body?: unknown): Promise<{ status: number; answer: unknown }> {
  let res: Response;
  try {
    res = await fetch(`${target.url}${path}`, {
      method: method.toUpperCase(),
      headers: {
        authorization: `Bearer ${target.adminKey}`,
        "user-agent": USER_AGENT,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Unreachable(`cannot reach the gateway at ${target.url} (from ${target.urlFrom}): is it running? (npm start)`);
  }
  const text = await res.text();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {}
  return { status: res.status, answer };
}

/** A refusal in words: each refused field as the flag that set it. */
function refusal(status: number, answer: unknown, op: ResolvedOperation | null, command: Command | null): Error {
  const error = (answer as { error?: { code?: string; message?: string; fields?: { field: string; problem: string }[] } })?.error;
  const flagOf = (field: string) => {
    const flag = op?.flags.find((f) => field === f.path.join(".") || field.startsWith(`${f.path.join(".")}.`));
    if (!flag) return field;
    const alias = Object.entries(command?.aliases ?? {}).find(([, a]) => a.flag.includes(flag.name) && !("value" in a));
    return `--${alias?.[0] ?? flag.name}`;
  };
  const message = error?.fields?.length
    ? error.fields.map((f) => `${flagOf(f.field)}: ${f.problem}`).join("; ")
    : `${error?.message ?? (typeof answer === "string" ? answer.slice(0, 200) : "no details")}`;
  const text = `gateway answered ${status}${error?.code ? ` ${error.code}` : ""}: ${message}`;
  return status >= 400 && status < 500 ? new UsageError(text) : new Error(text);
}

/** The admin API's document: the gateway's own, or this checkout's when no gateway can be asked (help only). */
async function documentFor(target: Target | null): Promise<{ doc: OpenApiDocument; from: string }> {
  if (target?.adminKey) {
    const { status, answer } = await call(target, "get", "/admin/openapi.json");
    if (status !== 200) throw refusal(status, answer, null, null);
    return { doc: answer as OpenApiDocument, from: target.url };
  }
  return { doc: await localDocument(), from: "this checkout (no gateway asked)" };
}

/** This checkout's admin API document, built from the same source the gateway runs. */
async function localDocument(): Promise<OpenApiDocument> {
  const { adminApis, adminRoutes } = await import("../src/admin/routes.ts");
  const { engines } = await import("../src/engines/index.ts");
  const admin = adminRoutes(async () => new Response(null, { status: 500 }), engines);
  return adminApis.get(admin)!.document("http://127.0.0.1") as unknown as OpenApiDocument;
}

function topHelp(doc: OpenApiDocument, area?: string): string {
  const lines = [
    "npm run admin -- <command> [flags]      (a client of the gateway's admin API)",
    "",
    "Commands:",
    ...commandsOf(area).map((c) => {
      const op = doc.paths[c.path]?.[c.method];
      const args = (c.positionals ?? [...c.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1]!.toUpperCase(), optional: false })))
        .map((p) => (p.optional ? `[${p.name}]` : p.name))
        .join(" ");
      return `  ${`${c.words.join(" ")} ${args}`.trim().padEnd(34)} ${op?.summary ?? "(not offered by this gateway)"}`;
    }),
    "",
    "Every command takes --help (its flags), --json, --url URL and --body JSON.",
    "Gateway: --url, FLOWGATE_URL, the config file's url, or the local stack of `npm start`.",
    `Admin key: FLOWGATE_ADMIN_KEY, or the config file's adminKey. Config file: ${configPath()} (mode 600):`,
    '  {"url": "https://gateway.example", "adminKey": "fgk_..."}',
    "The first admin key of a new database: keys create --tenant T --subject S --admin (no admin key set).",
  ];
  return lines.join("\n");
}

function commandHelp(inv: Command, op: ResolvedOperation, from: string): string {
  const aliasesOf = (f: Flag) =>
    Object.entries(inv.aliases ?? {})
      .filter(([, a]) => a.flag.includes(f.name))
      .map(([n, a]) => ` (or --${n}${"value" in a ? `, sets ${JSON.stringify(a.value)}` : ""})`)
      .join("");
  const positionals = inv.positionals ?? op.pathParams.map((p) => ({ name: p.toUpperCase(), optional: false }));
  const extra: string[] = [];
  if (inv.words.join(" ") === "keys create")
    extra.push("  --break-glass                      bootstrap even though the database has an admin key (all lost)");
  if (inv.words.join(" ") === "keys import-prefect")
    extra.push("  --from <postgres-url>              the replaced proxy's database (read here, sent in batches)");
  return [
    `npm run admin -- ${inv.words.join(" ")} ${positionals.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(" ")}`.trimEnd(),
    `  ${op.summary}  (${op.method.toUpperCase()} ${op.path})`,
    ...(op.description ? [`  ${op.description.replace(/\n+/g, " ")}`] : []),
    "",
    "Flags (from the admin API's document, " + from + "):",
    ...op.flags
      .filter((f) => !(inv.positionals ?? []).some((p) => p.to.in !== "path" && p.to.key === f.path[0]))
      .map((f) => `  --${f.name.padEnd(32)} ${f.hint}${f.required ? ", required" : ""}${aliasesOf(f)}`),
    ...extra,
    ...Object.entries(GLOBAL_FLAGS).map(([n, d]) => `  --${n.padEnd(32)} ${d}`),
  ].join("\n");
}

/** `keys import-prefect --from URL [--tenant T]`: rows read here, imported by the gateway in batches. */
async function importPrefect(target: Target, inv: Invocation, op: ResolvedOperation): Promise<unknown> {
  const from = inv.values.get("from");
  if (typeof from !== "string") throw new UsageError("keys import-prefect needs --from <postgres-url> (the replaced proxy's database)");
  const { default: pg } = await import("pg");
  const source = new pg.Client({ connectionString: from });
  await source.connect();
  let rows: LegacyPrefectKeyRow[];
  try {
    rows = (await source.query("select user_id, scopes, api_key, key_issu_dt, key_expr_dt from prefect_api_keys order by user_id")).rows;
  } finally {
    await source.end();
  }
  const report = { created: [] as unknown[], skipped: [] as unknown[], refused: [] as unknown[] };
  const { body } = buildRequest(inv, op);
  for (let i = 0; i === 0 || i < rows.length; i += PREFECT_IMPORT_MAX_ROWS) {
    const batch = rows.slice(i, i + PREFECT_IMPORT_MAX_ROWS).map((r) => ({
      ...r,
      key_issu_dt: r.key_issu_dt instanceof Date ? r.key_issu_dt.toISOString() : r.key_issu_dt,
      key_expr_dt: r.key_expr_dt instanceof Date ? r.key_expr_dt.toISOString() : r.key_expr_dt,
    }));
    const { status, answer } = await call(target, op.method, op.path, { ...body, rows: batch });
    if (status !== 200) throw refusal(status, answer, op, inv.command);
    const part = answer as typeof report;
    report.created.push(...part.created);
    report.skipped.push(...part.skipped);
    report.refused.push(...part.refused);
  }
  return report;
}

async function run(argv: string[]): Promise<string> {
  const json = argv.includes("--json");
  const wantsHelp = argv.includes("--help") || argv.includes("-h") || argv[0] === "help";
  const found = findCommand(argv);
  const urlAt = argv.indexOf("--url");
  const target = resolveTarget(urlAt >= 0 ? argv[urlAt + 1] : argv.find((a) => a.startsWith("--url="))?.slice(6));
  if (!found) {
    const area = argv[0] && !argv[0].startsWith("-") && argv[0] !== "help" ? argv[0] : undefined;
    const verb = argv[1] && !argv[1].startsWith("-") ? argv[1] : undefined;
    if (!wantsHelp && (!(area && COMMANDS.some((c) => c.words[0] === area)) || verb)) {
      throw new UsageError(`no command ${argv.filter((a) => !a.startsWith("-")).join(" ") || "given"}; npm run admin -- --help lists them`);
    }
    const { doc } = await documentFor(target?.adminKey ? target : null).catch(async () => ({ doc: await localDocument() }));
    return topHelp(doc, area);
  }
  const { command, rest } = found;
  const bootstrap = command.words.join(" ") === "keys create" && !target?.adminKey;
  if (wantsHelp || bootstrap) {
    const { doc, from } = await documentFor(bootstrap ? null : target).catch(async () => ({
      doc: await localDocument(),
      from: "this checkout (the gateway could not be asked)",
    }));
    const op = resolveOperation(doc, command.method, command.path);
    if (wantsHelp) return commandHelp(command, op, from);
    const switches = new Set([...op.flags.filter((f) => f.kind === "boolean").map((f) => f.name), "json", "break-glass"]);
    const { values, positionals } = splitWords(rest, (n) => switches.has(n) || "value" in (command.aliases?.[n] ?? {}));
    const { body } = buildRequest({ command, values, positionals }, op);
    if ((body as { admin?: unknown }).admin !== true) {
      throw new UsageError(
        target
          ? `no admin key: set FLOWGATE_ADMIN_KEY (or adminKey in ${configPath()}) to ask ${target.url}`
          : "no admin key and no gateway: start one (npm start) or set FLOWGATE_URL and FLOWGATE_ADMIN_KEY",
      );
    }
    const { bootstrapAdminKey } = await import("./cli/bootstrap.ts");
    const created = await bootstrapAdminKey(body as Record<string, unknown>, values.has("break-glass"));
    return json ? JSON.stringify(created) : command.print!(created);
  }
  if (!target) throw new UsageError("no gateway: start one (npm start), or set FLOWGATE_URL (or url in the config file)");
  if (!target.adminKey) throw new UsageError(`no admin key: set FLOWGATE_ADMIN_KEY (or adminKey in ${configPath()})`);
  const { doc } = await documentFor(target);
  const op = resolveOperation(doc, command.method, command.path);
  const switches = new Set([...op.flags.filter((f) => f.kind === "boolean").map((f) => f.name), "json"]);
  const { values, positionals } = splitWords(rest, (n) => switches.has(n) || "value" in (command.aliases?.[n] ?? {}));
  values.delete("url");
  const inv = { command, values, positionals };
  if (command.words.join(" ") === "keys import-prefect") {
    const report = await importPrefect(target, inv, op);
    return json ? JSON.stringify(report) : JSON.stringify(report, null, 2);
  }
  const req = buildRequest(inv, op);
  const { status, answer } = await call(target, op.method, req.path, req.body);
  if (status >= 300) throw refusal(status, answer, op, command);
  if (json) return JSON.stringify(answer);
  return command.print ? command.print(answer) : JSON.stringify(answer, null, 2);
}

run(process.argv.slice(2)).then(
  (out) => {
    console.log(out);
    process.exit(0);
  },
  (err) => {
    const message =
      err instanceof UsageError || err instanceof Unreachable ? err.message : `failed: ${err instanceof Error ? err.message : String(err)}`;
    // With --json the error is also one JSON document on stdout, for scripts; the words always go to stderr, so an
    // operator whose stdout is piped (`ADMIN=$(npm run -s admin -- ... --json | ...)`) still sees why.
    if (process.argv.includes("--json")) console.log(JSON.stringify({ error: { message } }));
    console.error(message);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
