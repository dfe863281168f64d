/**
 * The CLI's verbs, the console's: each names the admin API operation it calls. Its flags come from that
 * operation's schema (scripts/cli/operations.ts); a verb adds only positionals, short aliases for flags the
 * operators already type, and how to print the answer.
 */
import { UsageError } from "./errors.ts";

export interface Positional {
  name: string;
  /** A path parameter, or a body or query field. */
  to: { in: "path" | "body" | "query"; key: string };
  optional?: boolean;
}

export interface Alias {
  /** The operation's flag it stands for (the first of these that the operation has). */
  flag: string[];
  /** For a switch: the value it sets. */
  value?: unknown;
}

export interface Command {
  words: string[];
  method: string;
  path: string;
  positionals?: Positional[];
  aliases?: Record<string, Alias>;
  /** Fills in what the flags imply (a quota's period when only its size is given). */
  complete?: (body: Record<string, unknown>) => void;
  print?: (answer: unknown) => string;
}

type Obj = Record<string, unknown>;
const path = (name: string): Positional => ({ name: name.toUpperCase(), to: { in: "path", key: name } });

function keyLine(k: Obj): string {
  const lines = [
    `${k.id}  tenant=${k.tenant} subject=${k.subject} scopes=${(k.scopes as string[] | undefined)?.join(",") || "-"}${k.admin ? " (admin)" : ""}`,
  ];
  if (k.revokedAt) lines.push(`  revoked ${k.revokedAt}`);
  if (k.expiresAt) lines.push(`  expires ${k.expiresAt}`);
  const lastUsed = k.lastUsed as { at: string; resolution: string } | null | undefined;
  if (lastUsed !== undefined) lines.push(lastUsed ? `  last used in the ${lastUsed.resolution} from ${lastUsed.at}` : "  no use recorded");
  if (k.key) lines.push(`  key: ${k.key}\n  (shown once: it is stored only as a hash)`);
  return lines.join("\n");
}

function limitLine(l: Obj): string {
  const rate = l.rate as { limit: number; windowS: number };
  const quota = l.quota as { limit: number; period: string } | null | undefined;
  return `${l.id}  ${l.targetKind ?? l.kind}=${l.target} group=${l.routeGroup} rate ${rate.limit}/${rate.windowS}s${
    quota ? ` quota ${quota.limit}/${quota.period}` : ""
  } ${l.mode}`;
}

const each = (field: string, line: (o: Obj) => string) => (a: unknown) => ((a as Obj)[field] as Obj[]).map(line).join("\n");

export const COMMANDS: Command[] = [
  {
    words: ["keys", "create"],
    method: "post",
    path: "/admin/keys",
    aliases: { expires: { flag: ["expires-at"] } },
    print: (a) => keyLine(a as Obj),
  },
  {
    words: ["keys", "list"],
    method: "get",
    path: "/admin/keys",
    aliases: { all: { flag: ["include-revoked"], value: true } },
    print: each("keys", keyLine),
  },
  { words: ["keys", "show"], method: "get", path: "/admin/keys/{id}", positionals: [path("id")], print: (a) => keyLine(a as Obj) },
  { words: ["keys", "revoke"], method: "delete", path: "/admin/keys/{id}", positionals: [path("id")], print: (a) => keyLine(a as Obj) },
  {
    words: ["keys", "rotate"],
    method: "post",
    path: "/admin/keys/{id}/rotate",
    positionals: [path("id")],
    aliases: { grace: { flag: ["grace-period-s"] } },
    print: (a) => keyLine(a as Obj),
  },
  { words: ["keys", "purge-cache"], method: "delete", path: "/admin/cache/keys/{keyId}", positionals: [path("keyId")] },
  // Reads the replaced proxy's table itself (--from), then sends the rows in batches (scripts/admin.ts).
  { words: ["keys", "import-prefect"], method: "post", path: "/admin/keys/import-prefect" },
  {
    words: ["tenants", "add"],
    method: "post",
    path: "/admin/tenants",
    positionals: [{ name: "NAME", to: { in: "body", key: "name" } }],
    print: (a) => `${(a as Obj).name} ${(a as Obj).created ? "created" : "exists"}`,
  },
  { words: ["tenants", "list"], method: "get", path: "/admin/tenants", print: each("tenants", (t) => String(t.name)) },
  {
    words: ["workspaces", "list"],
    method: "get",
    path: "/admin/workspaces",
    print: each("workspaces", (w) => `${w.name}  ${JSON.stringify(w.roleGroups)}${w.hideForUnauthorized ? "  (hidden)" : ""}`),
  },
  { words: ["workspaces", "show"], method: "get", path: "/admin/workspaces/{name}", positionals: [path("name")] },
  {
    words: ["workspaces", "put"],
    method: "put",
    path: "/admin/workspaces/{name}",
    positionals: [path("name")],
    aliases: { "roles-json": { flag: ["roles"] }, hide: { flag: ["hide-for-unauthorized"], value: true } },
  },
  { words: ["workspaces", "delete"], method: "delete", path: "/admin/workspaces/{name}", positionals: [path("name")] },
  { words: ["limits", "list"], method: "get", path: "/admin/limits", print: each("limits", limitLine) },
  { words: ["limits", "show"], method: "get", path: "/admin/limits/{id}", positionals: [path("id")] },
  {
    words: ["limits", "set"],
    method: "post",
    path: "/admin/limits",
    aliases: {
      kind: { flag: ["kind", "target-kind"] },
      group: { flag: ["route-group"] },
      rate: { flag: ["rate-limit"] },
      window: { flag: ["rate-window-s"] },
      quota: { flag: ["quota-limit"] },
      period: { flag: ["quota-period"] },
      shadow: { flag: ["mode"], value: "shadow" },
    },
    complete: (b) => {
      const quota = b.quota as Obj | undefined;
      if (quota && quota.period === undefined) quota.period = "day";
    },
    print: (a) => limitLine(a as Obj),
  },
  {
    words: ["limits", "change"],
    method: "patch",
    path: "/admin/limits/{id}",
    positionals: [path("id")],
    print: (a) => limitLine(a as Obj),
  },
  {
    words: ["limits", "mode"],
    method: "patch",
    path: "/admin/limits/{id}",
    positionals: [path("id"), { name: "shadow|enforce", to: { in: "body", key: "mode" } }],
    print: (a) => limitLine(a as Obj),
  },
  { words: ["limits", "delete"], method: "delete", path: "/admin/limits/{id}", positionals: [path("id")] },
  // Before `usage` and `audit`: a command is the first whose words all match.
  {
    words: ["usage", "series"],
    method: "get",
    path: "/admin/usage/series",
    aliases: { key: { flag: ["key-id"] }, group: { flag: ["route-group"] } },
  },
  { words: ["audit", "counts"], method: "get", path: "/admin/audit/counts" },
  {
    words: ["usage"],
    method: "get",
    path: "/admin/usage",
    positionals: [{ name: "minute|hour|day", to: { in: "query", key: "resolution" }, optional: true }],
    aliases: { key: { flag: ["key-id"] }, group: { flag: ["route-group"] } },
  },
  { words: ["audit"], method: "get", path: "/admin/audit" },
  { words: ["explain"], method: "post", path: "/admin/explain" },
  { words: ["cache", "purge"], method: "post", path: "/admin/cache/purge" },
  { words: ["logs", "set"], method: "post", path: "/admin/logs/{level}", positionals: [path("level")] },
  { words: ["status"], method: "get", path: "/admin/status" },
  { words: ["tokens", "revoke"], method: "post", path: "/admin/tokens/revoke" },
  { words: ["openapi"], method: "get", path: "/admin/openapi.json" },
];

/** The command `argv` starts with, and the words after it. */
export function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  for (const command of COMMANDS) {
    if (command.words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(command.words.length) };
  }
  return null;
}

/** The areas (first words) and their verbs, for the top-level help. */
export function commandsOf(area: string | undefined): Command[] {
  const matching = COMMANDS.filter((c) => area === undefined || c.words[0] === area);
  if (matching.length === 0) throw new UsageError(`no command ${area}`);
  return matching;
}
