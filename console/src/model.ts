/**
 * The console's pure logic (no DOM, no fetch), unit-tested in test/unit/console.test.ts: what a key can do in
 * words, a key's state, the charts' axes, an explanation in words, a JSON body's problem, a field's problem's place.
 */
const ENGINE_WORDS: Record<string, string> = {
  admin: "administer flowgate: keys, tenants, workspaces, caches, log level, audit trail",
  conductor: "use Conductor as its tenant (definitions, executions, schedules; writing needs a Conductor admin role or group)",
  worker: "work Conductor tasks of every type for the tenants it serves",
};

/** [one named, any] for each scope type. */
const TYPE_WORDS: Record<string, [string, string]> = {
  query: ["run the Prefect query", "run any Prefect query"],
  mutation: ["run the Prefect mutation", "run any Prefect mutation"],
  subscription: ["subscribe to the Prefect subscription", "subscribe to any Prefect subscription"],
  worker: ["work Conductor tasks of type", "work Conductor tasks of every type"],
};

export function describeScope(scope: string): string {
  const slash = scope.indexOf("/");
  if (slash < 0) return ENGINE_WORDS[scope] ?? `hold the bare scope "${scope}"`;
  const type = scope.slice(0, slash);
  const name = scope.slice(slash + 1);
  const words = TYPE_WORDS[type];
  if (!words) return `hold the scope "${scope}"`;
  if (name === "*") return words[1];
  if (name.includes("*")) return `${words[1]} whose name matches ${name}`;
  return `${words[0]} ${name}`;
}

export interface KeyFacts {
  tenant: string;
  scopes: string[];
  roles: string[];
  groups: string[];
  servesTenants: string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export function describeKey(k: KeyFacts, now = Date.now()): string[] {
  if (k.revokedAt) return ["nothing: it is revoked"];
  if (k.expiresAt && Date.parse(k.expiresAt) <= now) return ["nothing: it has expired"];
  const lines = k.scopes.map(describeScope);
  if (k.scopes.some((s) => s === "worker" || s.startsWith("worker/"))) {
    const serves = k.servesTenants === null || k.servesTenants.length === 0 ? [k.tenant] : k.servesTenants;
    lines.push(serves.includes("*") ? "poll for every tenant" : `poll for ${serves.join(", ")}`);
  }
  if (k.roles.length > 0 || k.groups.length > 0) {
    lines.push(`enter Argo workspaces and Conductor definitions open to ${[...k.roles, ...k.groups].join(", ")}`);
  }
  if (lines.length === 0) lines.push("nothing yet: it holds no scope, role or group");
  if (k.expiresAt) lines.push(`until ${k.expiresAt}`);
  return lines;
}

export interface KeyView {
  id: string;
  prefix: string;
  tenant: string;
  subject: string;
  email: string | null;
  name: string | null;
  roles: string[];
  groups: string[];
  scopes: string[];
  admin: boolean;
  servesTenants: string[] | null;
  expiresAt: string | null;
  revokedAt: string | null;
  replacedBy: string | null;
  createdAt: string;
}

export const stateOf = (k: KeyView, now = Date.now()): "active" | "revoked" | "expired" =>
  k.revokedAt ? "revoked" : k.expiresAt && Date.parse(k.expiresAt) <= now ? "expired" : "active";

export interface AuditEvent {
  id?: number;
  at: string;
  lastAt?: string;
  count?: number;
  action: string;
  /** The API's words: `allowed` / `refused` for decisions on requests, `done` for admin actions. */
  decision: "allowed" | "refused" | "done";
  actorSubject: string;
  actorKeyId: string | null;
  tenant: string | null;
  target: string | null;
  requestId: string | null;
  engine?: string | null;
  route?: string | null;
  details?: Record<string, unknown> | null;
}

/** Whether the gateway's field path `field` is the form's `path` or inside it (`scopes.2` is in `scopes`). */
export const fieldMatches = (field: string, path: string) => field === path || field.startsWith(`${path}.`);

/**
 * The y axis of a count chart: 0 and evenly spaced whole numbers up to the first at or above `max`, the step a
 * 1, 2 or 5 times a power of ten, about `count` steps.
 */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power);
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v));
  return ticks;
}

/** Which of `n` buckets get a time label: every k-th, at most `most` of them, from the first. */
export function labelledBuckets(n: number, most = 8): number[] {
  if (n <= 0) return [];
  const every = Math.max(1, Math.ceil(n / most));
  const out: number[] = [];
  for (let i = 0; i < n; i += every) out.push(i);
  return out;
}

/** A count in a sentence, a legend or a table: every digit, grouped (1,234,567). */
export const count = (n: number, locale?: string) => new Intl.NumberFormat(locale).format(n);

/** A count as an axis tick's label, where room is short: 1,234, or 12.3K past ten thousand. */
export const tickLabel = (n: number, locale?: string) =>
  n >= 10_000
    ? new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(n)
    : new Intl.NumberFormat(locale).format(n);

/**
 * A bucket's label on the time axis: its time of day (steps under a day), and its date when it is the first label
 * or the day changed since the previous one; for steps of a day or more, the date alone.
 */
export function timeLabel(
  ms: number,
  previousMs: number | null,
  stepS: number,
  zone?: string,
  locale?: string,
): { time: string; date: string } {
  const date = new Intl.DateTimeFormat(locale, { timeZone: zone, month: "short", day: "numeric" });
  if (stepS >= 86_400) return { time: date.format(ms), date: "" };
  const time = new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(ms);
  const day = (x: number) => new Intl.DateTimeFormat("en-CA", { timeZone: zone, dateStyle: "short" }).format(x);
  return { time, date: previousMs === null || day(previousMs) !== day(ms) ? date.format(ms) : "" };
}

/** The zone times are shown in, said as an operator reads it: `UTC`, or `Europe/Paris (UTC+01:00)`. */
export function zoneWords(zone: string | undefined, at = Date.now()): string {
  if (zone === "UTC") return "UTC";
  const name = new Intl.DateTimeFormat(undefined, { timeZone: zone }).resolvedOptions().timeZone;
  const offset = -new Date(at).getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const h = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const m = String(Math.abs(offset) % 60).padStart(2, "0");
  return name === "UTC" || name === "Etc/UTC" ? "UTC" : `${name} (UTC${sign}${h}:${m})`;
}

/** A bucket's length in words: `5 minutes`, `1 hour`, `1 day`. */
export function stepWords(stepS: number): string {
  const [n, unit] =
    stepS % 604_800 === 0
      ? [stepS / 604_800, "week"]
      : stepS % 86_400 === 0
        ? [stepS / 86_400, "day"]
        : stepS % 3_600 === 0
          ? [stepS / 3_600, "hour"]
          : stepS % 60 === 0
            ? [stepS / 60, "minute"]
            : [stepS, "second"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** The problem with a JSON text, in words with its line and column; null when it parses. */
export function jsonProblem(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const position = /position (\d+)/.exec(message);
    const clean = message
      .replace(/^JSON\.parse: /, "")
      .replace(/ in JSON at position \d+.*$/, "")
      .replace(/ \(line \d+ column \d+\)$/, "");
    if (!position) return text.trim() === "" ? "it is empty" : clean;
    const at = Number(position[1]);
    const before = text.slice(0, at).split("\n");
    return `${clean} at line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
  }
}

export interface Explanation {
  decision: "allowed" | "refused";
  status: number | null;
  principal: {
    kind: string;
    subject: string;
    tenant?: string;
    scopes: string[];
    roles: string[];
    groups: string[];
    keyId?: string;
  } | null;
  reason: { code: string; message: string; refusedFields?: string[]; fields?: { field: string; problem: string }[] } & Record<
    string,
    unknown
  >;
  upstream: { method: string; url: string; headerNames: string[]; body: string | null; bodyTruncated: boolean } | null;
  audits: { action: string; decision: string; target?: string | null }[];
  limits: {
    routeGroup: string;
    cost: number;
    limits: { id: string; mode: string; rate: { limit: number; windowS: number }; quota: { limit: number; period: string } | null }[];
  }[];
}

/** An explanation as sentences: the verdict and why, who asked, where the request would go, what it counts against. */
export function explainInWords(a: Explanation): { verdict: string; why: string[] } {
  const why: string[] = [];
  const p = a.principal;
  if (p) {
    const who = `${p.subject}${p.keyId ? ` (key fgk_${p.keyId}` : ` (${p.kind}`}${p.tenant ? `, tenant ${p.tenant})` : ")"}`;
    why.push(`Asked as ${who}, holding ${p.scopes.length ? `the scopes ${p.scopes.join(", ")}` : "no scope"}.`);
  }
  let verdict: string;
  if (a.decision === "allowed") {
    verdict = a.upstream
      ? `Allowed: every check the gateway makes passed; it would send ${a.upstream.method} ${a.upstream.url}`
      : `Allowed: answered by the gateway itself${a.status ? ` (${a.status})` : ""}`;
  } else {
    const fields = a.reason.refusedFields ?? [];
    verdict = `Refused${a.status ? ` with ${a.status}` : ""} because ${a.reason.message.replace(/\.$/, "")}`;
    if (fields.length > 0) {
      why.push(`${fields.length === 1 ? "The field refused is" : "The fields refused are"} ${fields.join(", ")}.`);
    }
    const named = Array.isArray(a.reason.fields) ? a.reason.fields : [];
    for (const f of named) if (typeof f?.field === "string" && typeof f.problem === "string") why.push(`${f.field} ${f.problem}.`);
    why.push(`The client would be answered ${a.status ?? "with an error"}, code ${a.reason.code}.`);
  }
  for (const charge of a.limits) {
    if (charge.limits.length === 0) continue;
    const each = charge.limits.map(
      (l) => `${l.id} (${l.mode}, ${l.rate.limit} per ${l.rate.windowS} s${l.quota ? `, ${l.quota.limit} a ${l.quota.period}` : ""})`,
    );
    why.push(`It would cost ${charge.cost} on the ${charge.routeGroup} limits: ${each.join(", ")}.`);
  }
  if (a.audits.length > 0) why.push(`It would be audited as ${a.audits.map((x) => `${x.action} (${x.decision})`).join(", ")}.`);
  return { verdict: `${verdict}.`, why };
}

/** When a key was last used, in words, from `GET /admin/keys/{id}`'s `lastUsed`. */
export function lastUseWords(
  lastUsed: { at: string; resolution: "minute" | "hour" | "day" } | null,
  zone?: string,
  locale?: string,
): string {
  if (!lastUsed) return "No use recorded (usage is kept 400 days by default).";
  const at = Date.parse(lastUsed.at);
  const date = new Intl.DateTimeFormat(locale, { timeZone: zone, dateStyle: "medium" }).format(at);
  const time = (ms: number) => new Intl.DateTimeFormat(locale, { timeZone: zone, timeStyle: "short" }).format(ms);
  if (lastUsed.resolution === "day") return `Last used on ${date} (UTC day; the hours are no longer kept).`;
  if (lastUsed.resolution === "hour") return `Last used on ${date} between ${time(at)} and ${time(at + 3_600_000)}.`;
  return `Last used on ${date} at ${time(at)} (to the minute).`;
}
