/**
 * The console's pure logic (no DOM, no fetch), unit-tested in test/unit/console.test.ts: what a key can do in
 * words, a key's state, the audit chart's buckets.
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
  at: string;
  action: string;
  /** The API's words: `allowed` / `refused` for decisions on requests, `done` for admin actions. */
  decision: "allowed" | "refused" | "done";
  actorSubject: string;
  actorKeyId: string | null;
  tenant: string | null;
  target: string | null;
  requestId: string | null;
}

export interface Bucket {
  start: number;
  allowed: number;
  refused: number;
}

/** Events counted in `n` equal time buckets over their span (refused; allowed = allowed or done). */
export function buckets(events: AuditEvent[], n = 24): Bucket[] {
  if (events.length === 0) return [];
  const times = events.map((e) => Date.parse(e.at));
  const from = Math.min(...times);
  const to = Math.max(...times) + 1;
  const width = Math.max(1, Math.ceil((to - from) / n));
  const out: Bucket[] = Array.from({ length: n }, (_, i) => ({ start: from + i * width, allowed: 0, refused: 0 }));
  events.forEach((e, i) => {
    const b = out[Math.min(n - 1, Math.floor((times[i]! - from) / width))]!;
    if (e.decision === "refused") b.refused++;
    else b.allowed++;
  });
  return out;
}
