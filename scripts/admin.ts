/**
 * `npm run admin -- <command>`: the operator CLI. It talks to PostgreSQL directly (`DATABASE_URL`, or the database
 * of a running `npm start` through that stack's bridge, or else the local PGlite under .data/, claimed first), so it
 * can make the very first admin key. It never opens a database another process holds.
 *
 *   keys create --tenant T --subject S [--email E] [--name N] [--scopes a,b] [--roles a,b] [--groups a,b]
 *               [--expires ISO] [--not-before ISO] [--admin] [--serves-tenants '*'|A,B] [--json]
 *   keys list [--tenant T] [--subject S] [--all] [--json]
 *   keys show ID [--json]
 *   keys revoke ID [--json]
 *   keys rotate ID [--grace SECONDS] [--json]
 *   keys import-prefect --from <postgres-url> [--tenant T] [--json]
 *   tenants add NAME [--json]
 *   tenants list [--json]
 *   workspaces list [--json]
 *   workspaces show NAME [--json]
 *   workspaces put NAME --roles a,b | --roles-json '[["a","b"],["c"]]' [--hide] [--description D]
 *              [--pod-security baseline|restricted|privileged] [--service-accounts a,b] [--cluster-templates a,b]
 *              [--priority-classes a,b] [--capabilities resource-templates,...] [--json]
 *              (a grant left out keeps its value; docs/engines/argo.md, "What a submitted spec may ask")
 *   workspaces delete NAME [--json]      (the policy only: no namespace is ever touched)
 *   limits list [--json]
 *   limits set --kind key|subject|tenant --target T|'*' [--group prefect|conductor|workers|argo|flowapi|admin]
 *              --rate N --window SECONDS [--quota N --period day|month] [--shadow] [--description D] [--json]
 *   limits mode ID shadow|enforce [--json]
 *   limits delete ID [--json]
 *   usage [--tenant T] [--subject S] [--key ID] [--group G] [--resolution minute|hour|day] [--since ISO] [--until ISO] [--json]
 *
 * Limit changes go through the admin API when FLOWGATE_URL and FLOWGATE_ADMIN_KEY are set (every gateway within
 * MEMORY_CACHE_TTL_S plus KV propagation); straight to the database otherwise, and gateways then see them when their
 * KV copy expires (KEY_CACHE_TTL_S) or after `POST /admin/cache/purge`.
 *
 * Workspace changes made here reach running gateways when their cached copy expires (MEMORY_CACHE_TTL_S, and
 * KEY_CACHE_TTL_S in KV); `PUT /admin/workspaces/NAME` applies them at once.
 *
 * Revoking or rotating here changes the database; gateways holding the key in their caches learn of it when
 * those entries expire (KEY_CACHE_TTL_S). With FLOWGATE_URL and FLOWGATE_ADMIN_KEY set, revoke and rotate go
 * through the admin API instead, which updates the caches at once.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { schema } from "../src/db/schema.ts";
import type { Database } from "../src/db/client.ts";
import { CreateKeyBody, TenantBody } from "../src/admin/validation.ts";
import { WORKSPACE_NAME, WorkspaceBody } from "../src/engines/argo/workspaces.ts";
import { deleteWorkspace, getWorkspace, listWorkspaces, putWorkspace } from "../src/store/workspaces.ts";
import { DEFAULT_ROTATION_GRACE_S } from "../src/constants.ts";
import { TENANT_NAME_RULE } from "../src/identity/principal.ts";
import {
  createKey,
  ensureTenant,
  getKeyRow,
  listKeys,
  listTenants,
  revokeKey,
  rotateKey,
  toKeyView,
  type KeyView,
} from "../src/store/keys.ts";
import { importLegacyPrefectKeys, type LegacyPrefectKeyRow } from "../src/store/prefectImport.ts";
import { LimitPatch, limitSchemas } from "../src/admin/limits.ts";
import { engines } from "../src/engines/index.ts";
import { routeGroupsOf } from "../src/formats/rateLimitRule.ts";
import {
  deleteRateLimit,
  listRateLimitViews,
  putRateLimit,
  queryUsage,
  updateRateLimit,
  type RateLimitView,
} from "../src/store/rateLimits.ts";
import { migrateDatabase, startLocalDatabase } from "./local-db.ts";
import { PGLITE_DIR, claimStack, describeHolder, readStack } from "./stack-file.ts";

class UsageError extends Error {}

/** The route groups a limit may name: the registry's, as the admin API checks them. */
const { LimitBody, UsageQuery } = limitSchemas(routeGroupsOf(engines));

const list = (s: string | undefined) =>
  s === undefined
    ? undefined
    : s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);

/**
 * The database, never opened beside another process: DATABASE_URL (a PostgreSQL server, which takes many
 * sessions); else the running stack's, through its bridge (.data/stack.json); else the local PGlite, opened only
 * after claiming it (scripts/stack-file.ts), so a `npm start` begun meanwhile refuses instead of opening it too.
 */
async function withDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
  let close = async () => {};
  let connectionString = process.env.DATABASE_URL;
  if (connectionString) {
    await migrateDatabase(connectionString);
  } else {
    const holder = readStack();
    if (holder?.role === "stack" && holder.nodeDatabaseUrl) {
      connectionString = holder.nodeDatabaseUrl;
    } else {
      const claimed = holder ? { holder } : claimStack("cli");
      if ("holder" in claimed) throw new UsageError(`${describeHolder(claimed.holder)}; try again in a moment`);
      try {
        const local = await startLocalDatabase({ dataDir: PGLITE_DIR });
        connectionString = local.nodeDatabaseUrl;
        close = async () => {
          await local.close();
          claimed.claim.release();
        };
      } catch (err) {
        claimed.claim.release();
        throw err;
      }
    }
  }
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(drizzle(client, { schema }));
  } finally {
    await client.end();
    await close();
  }
}

async function viaApi(method: string, path: string, body?: unknown): Promise<unknown | null> {
  const base = process.env.FLOWGATE_URL;
  const key = process.env.FLOWGATE_ADMIN_KEY;
  if (!base || !key) return null;
  const res = await fetch(`${base.replace(/\/+$/, "")}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => null)) as { error?: { message: string } } | null;
  if (!res.ok) throw new UsageError(`gateway answered ${res.status}: ${json?.error?.message ?? "no details"}`);
  return json;
}

function printKey(k: KeyView & { key?: string }, json: boolean) {
  if (json) return console.log(JSON.stringify(k));
  console.log(`${k.id}  tenant=${k.tenant} subject=${k.subject} scopes=${k.scopes.join(",") || "-"}${k.admin ? " (admin)" : ""}`);
  if (k.revokedAt) console.log(`  revoked ${k.revokedAt}`);
  if (k.expiresAt) console.log(`  expires ${k.expiresAt}`);
  if (k.key) console.log(`  key: ${k.key}\n  (shown once: it is stored only as a hash)`);
}

async function run(argv: string[]): Promise<void> {
  const [area, verb, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      tenant: { type: "string" },
      subject: { type: "string" },
      email: { type: "string" },
      name: { type: "string" },
      scopes: { type: "string" },
      roles: { type: "string" },
      groups: { type: "string" },
      expires: { type: "string" },
      "not-before": { type: "string" },
      admin: { type: "boolean" },
      "serves-tenants": { type: "string" },
      grace: { type: "string" },
      all: { type: "boolean" },
      from: { type: "string" },
      "roles-json": { type: "string" },
      hide: { type: "boolean" },
      description: { type: "string" },
      "pod-security": { type: "string" },
      "service-accounts": { type: "string" },
      "cluster-templates": { type: "string" },
      "priority-classes": { type: "string" },
      capabilities: { type: "string" },
      kind: { type: "string" },
      target: { type: "string" },
      group: { type: "string" },
      rate: { type: "string" },
      window: { type: "string" },
      quota: { type: "string" },
      period: { type: "string" },
      shadow: { type: "boolean" },
      key: { type: "string" },
      resolution: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const json = values.json ?? false;

  if (area === "keys" && verb === "create") {
    const parsed = CreateKeyBody.safeParse({
      tenant: values.tenant,
      subject: values.subject,
      email: values.email,
      name: values.name,
      scopes: list(values.scopes),
      roles: list(values.roles),
      groups: list(values.groups),
      expiresAt: values.expires,
      notBefore: values["not-before"],
      admin: values.admin,
      servesTenants: list(values["serves-tenants"]),
    });
    if (!parsed.success) {
      throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0] ?? "?")}: ${i.message}`).join("; "));
    }
    const { key, row } = await withDb((db) => createKey(db, { ...parsed.data, createdBy: `cli:${process.env.USER ?? "operator"}` }));
    return printKey({ ...toKeyView(row), key }, json);
  }
  if (area === "keys" && verb === "list") {
    const rows = await withDb((db) =>
      listKeys(db, { tenant: values.tenant, subject: values.subject, includeRevoked: values.all, limit: 1000, offset: 0 }),
    );
    if (json) return console.log(JSON.stringify({ keys: rows.map(toKeyView) }));
    for (const r of rows) printKey(toKeyView(r), false);
    return;
  }
  const id = positionals[0];
  if (area === "keys" && ["show", "revoke", "rotate"].includes(verb ?? "")) {
    if (!id || !/^[a-z0-9]{12}$/.test(id)) throw new UsageError(`keys ${verb} needs a key id (12 characters)`);
  }
  if (area === "keys" && verb === "show") {
    const row = await withDb((db) => getKeyRow(db, id!));
    if (!row) throw new UsageError(`no key ${id}`);
    return printKey(toKeyView(row), json);
  }
  if (area === "keys" && verb === "revoke") {
    const api = (await viaApi("DELETE", `/admin/keys/${id}`)) as KeyView | null;
    if (api) return printKey(api, json);
    const row = await withDb((db) => revokeKey(db, id!));
    if (!row) throw new UsageError(`no key ${id}`);
    console.error(
      "note: gateways drop cached copies within KEY_CACHE_TTL_S; use the admin API (or set FLOWGATE_URL and FLOWGATE_ADMIN_KEY) for immediate effect",
    );
    return printKey(toKeyView(row), json);
  }
  if (area === "keys" && verb === "rotate") {
    const grace = values.grace === undefined ? DEFAULT_ROTATION_GRACE_S : Number(values.grace);
    if (!Number.isInteger(grace) || grace < 0) throw new UsageError("--grace takes whole seconds");
    const api = (await viaApi("POST", `/admin/keys/${id}/rotate`, { gracePeriodS: grace })) as (KeyView & { key: string }) | null;
    if (api) return printKey(api, json);
    const result = await withDb((db) => rotateKey(db, id!, grace, `cli:${process.env.USER ?? "operator"}`));
    if ("error" in result) throw new UsageError(result.error === "not_found" ? `no key ${id}` : `key is ${result.error}`);
    return printKey({ ...toKeyView(result.row), key: result.key }, json);
  }
  if (area === "keys" && verb === "import-prefect") {
    if (!values.from) throw new UsageError("keys import-prefect needs --from <postgres-url> (the replaced proxy's database)");
    const tenant = values.tenant ?? "default";
    if (!TenantBody.safeParse({ name: tenant }).success) throw new UsageError(`--tenant: ${TENANT_NAME_RULE}`);
    const source = new pg.Client({ connectionString: values.from });
    await source.connect();
    let rows: LegacyPrefectKeyRow[];
    try {
      rows = (await source.query("select user_id, scopes, api_key, key_issu_dt, key_expr_dt from prefect_api_keys order by user_id")).rows;
    } finally {
      await source.end();
    }
    const report = await withDb((db) => importLegacyPrefectKeys(db, rows, tenant, "import:prefect"));
    if (json) return console.log(JSON.stringify(report));
    console.log(`created ${report.created.length}, skipped ${report.skipped.length}, refused ${report.refused.length}`);
    for (const r of report.created) console.log(`  created ${r.id} for ${r.subject}`);
    for (const r of report.skipped) console.log(`  skipped ${r.subject}: ${r.reason}`);
    for (const r of report.refused) console.log(`  refused ${r.subject}: ${r.reason}`);
    return;
  }
  if (area === "tenants" && verb === "add") {
    const parsed = TenantBody.safeParse({ name: positionals[0] });
    if (!parsed.success) throw new UsageError(`tenants add NAME: ${TENANT_NAME_RULE}`);
    const result = await withDb((db) => ensureTenant(db, parsed.data.name));
    return console.log(json ? JSON.stringify(result) : `${result.name} ${result.created ? "created" : "exists"}`);
  }
  if (area === "tenants" && verb === "list") {
    const tenants = await withDb(listTenants);
    return console.log(json ? JSON.stringify({ tenants }) : tenants.map((t) => t.name).join("\n"));
  }
  if (area === "workspaces") {
    const name = positionals[0];
    if (verb === "list") {
      const all = await withDb(listWorkspaces);
      return console.log(
        json
          ? JSON.stringify({ workspaces: all })
          : all.map((w) => `${w.name}  ${JSON.stringify(w.roleGroups)}${w.hideForUnauthorized ? "  (hidden)" : ""}`).join("\n"),
      );
    }
    if (!name || !WORKSPACE_NAME.test(name)) throw new UsageError(`workspaces ${verb ?? ""} NAME: a Kubernetes namespace name`);
    if (verb === "show") {
      const w = await withDb((db) => getWorkspace(db, name));
      if (!w) throw new UsageError(`no workspace ${name}`);
      return console.log(JSON.stringify(w, null, json ? undefined : 2));
    }
    if (verb === "put") {
      let roles: unknown = list(values.roles);
      if (values["roles-json"] !== undefined) {
        try {
          roles = JSON.parse(values["roles-json"]);
        } catch {
          throw new UsageError("--roles-json: not JSON");
        }
      }
      const parsed = WorkspaceBody.safeParse({
        roles,
        hideForUnauthorized: values.hide ?? false,
        description: values.description,
        podSecurity: values["pod-security"],
        serviceAccounts: list(values["service-accounts"]),
        clusterTemplates: list(values["cluster-templates"]),
        priorityClasses: list(values["priority-classes"]),
        capabilities: list(values.capabilities),
      });
      if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0] ?? "?")}: ${i.message}`).join("; "));
      const { workspace, created } = await withDb((db) =>
        putWorkspace(db, { name, ...parsed.data, updatedBy: `cli:${process.env.USER ?? "operator"}` }),
      );
      return console.log(json ? JSON.stringify({ ...workspace, created }) : `${name} ${created ? "created" : "updated"}`);
    }
    if (verb === "delete") {
      const deleted = await withDb((db) => deleteWorkspace(db, name));
      if (!deleted) throw new UsageError(`no workspace ${name}`);
      return console.log(json ? JSON.stringify({ deleted: name, namespace: "untouched" }) : `${name} deleted (the namespace is untouched)`);
    }
  }
  if (area === "limits") return limitsCommand(verb, positionals, values, json);
  if (area === "usage") {
    const q = UsageQuery.safeParse({
      resolution: values.resolution ?? verb, // `usage hour` as well as `usage --resolution hour`
      tenant: values.tenant,
      subject: values.subject,
      keyId: values.key,
      routeGroup: values.group,
      since: values.since,
      until: values.until,
    });
    if (!q.success) throw new UsageError(q.error.issues.map((i) => `--${String(i.path[0] ?? "?")}: ${i.message}`).join("; "));
    const since =
      q.data.since ?? new Date(Date.now() - { minute: 3_600_000, hour: 2 * 86_400_000, day: 31 * 86_400_000 }[q.data.resolution]);
    const rows = await withDb((db) => queryUsage(db, { ...q.data, since }));
    if (json) return console.log(JSON.stringify({ resolution: q.data.resolution, since: since.toISOString(), usage: rows }));
    for (const r of rows)
      console.log(
        `${r.at}  ${r.routeGroup.padEnd(9)} tenant=${r.tenant ?? "-"} subject=${r.subject} key=${r.keyId ?? "-"}  requests=${r.requests} cost=${r.cost} refused=${r.refused}`,
      );
    return;
  }
  throw new UsageError(
    "usage: keys create|list|show|revoke|rotate|import-prefect, tenants add|list, workspaces list|show|put|delete, limits list|set|mode|delete, usage (see scripts/admin.ts)",
  );
}

function printLimit(l: RateLimitView, json: boolean) {
  if (json) return console.log(JSON.stringify(l));
  const quota = l.quota ? ` quota ${l.quota.limit}/${l.quota.period}` : "";
  console.log(
    `${l.id}  ${l.targetKind}=${l.target} group=${l.routeGroup} rate ${l.rate.limit}/${l.rate.windowS}s${quota} ${l.mode}  refused=${l.refused} wouldHaveRefused=${l.wouldHaveRefused}`,
  );
}

const operator = () => `cli:${process.env.USER ?? "operator"}`;

async function limitsCommand(
  verb: string | undefined,
  positionals: string[],
  values: Record<string, string | boolean | undefined>,
  json: boolean,
): Promise<void> {
  const str = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const num = (name: string) => (str(name) === undefined ? undefined : Number(str(name)));
  if (verb === "list") {
    const all = await withDb(listRateLimitViews);
    if (json) return console.log(JSON.stringify({ limits: all }));
    for (const l of all) printLimit(l, false);
    return;
  }
  if (verb === "set") {
    const parsed = LimitBody.safeParse({
      kind: str("kind"),
      target: str("target"),
      routeGroup: str("group"),
      rate: { limit: num("rate"), windowS: num("window") },
      quota: str("quota") === undefined ? undefined : { limit: num("quota"), period: str("period") ?? "day" },
      mode: values.shadow ? "shadow" : "enforce",
      description: str("description"),
    });
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join(".") || "?"}: ${i.message}`).join("; "));
    const b = parsed.data;
    const api = (await viaApi("POST", "/admin/limits", b)) as RateLimitView | null;
    if (api) return printLimit(api, json);
    const { limit } = await withDb((db) =>
      putRateLimit(
        db,
        {
          targetKind: b.kind,
          target: b.target,
          routeGroup: b.routeGroup,
          rate: b.rate,
          quota: b.quota ?? null,
          mode: b.mode,
          description: b.description ?? null,
        },
        operator(),
      ),
    );
    console.error(
      "note: gateways read it within KEY_CACHE_TTL_S; use the admin API (or set FLOWGATE_URL and FLOWGATE_ADMIN_KEY) for effect within seconds",
    );
    return printLimit(limit, json);
  }
  const id = positionals[0];
  if (!id || !/^rl_[a-z0-9]{12}$/.test(id)) throw new UsageError(`limits ${verb ?? ""} needs a limit id (rl_ and 12 characters)`);
  if (verb === "mode") {
    const patch = LimitPatch.safeParse({ mode: positionals[1] });
    if (!patch.success || !patch.data.mode) throw new UsageError("limits mode ID shadow|enforce");
    const api = (await viaApi("PATCH", `/admin/limits/${id}`, patch.data)) as RateLimitView | null;
    if (api) return printLimit(api, json);
    const limit = await withDb((db) => updateRateLimit(db, id, patch.data, operator()));
    if (!limit) throw new UsageError(`no limit ${id}`);
    return printLimit(limit, json);
  }
  if (verb === "delete") {
    const api = await viaApi("DELETE", `/admin/limits/${id}`);
    if (api) return console.log(JSON.stringify(api));
    const limit = await withDb((db) => deleteRateLimit(db, id));
    if (!limit) throw new UsageError(`no limit ${id}`);
    return console.log(json ? JSON.stringify({ deleted: id }) : `${id} deleted`);
  }
  throw new UsageError("usage: limits list|set|mode|delete (see scripts/admin.ts)");
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    const message = err instanceof UsageError ? err.message : `failed: ${err instanceof Error ? err.message : String(err)}`;
    if (process.argv.includes("--json")) console.log(JSON.stringify({ error: { message } }));
    else console.error(message);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
