/**
 * Keys: search and filter, create with a scope picker (plaintext shown once), and a key's page: what it can do,
 * when it was last used and its usage over two days, rotate with grace, revoke.
 */
import { useState } from "preact/hooks";
import { api, query } from "../api";
import { BarChart, ENGINE_COLORS, OTHER_COLOR } from "../chart";
import { count, describeKey, lastUseWords, stateOf, type KeyView } from "../model";
import { ErrorLine, Field, isoOf, list, problemOf, shownZone, useLoad, when } from "../ui";
import type { UsageSeries } from "./usage";

type State = "active" | "revoked" | "expired" | "all";

const COMMON_SCOPES = ["query/*", "mutation/*", "mutation/create_flow_run", "conductor", "worker", "admin"];

export function KeysPage() {
  const [tenant, setTenant] = useState("");
  const [subject, setSubject] = useState("");
  const [scope, setScope] = useState("");
  const [state, setState] = useState<State>("active");
  const [open, setOpen] = useState<string | null>(null);
  const keys = useLoad(
    () =>
      api<{ keys: KeyView[] }>(
        "GET",
        `/admin/keys${query({ tenant, subject, includeRevoked: state === "active" ? undefined : "true", limit: "200" })}`,
      ),
    [tenant, subject, state],
  );
  const shown = (keys.data?.keys ?? []).filter(
    (k) => (state === "all" || stateOf(k) === state) && (!scope || k.scopes.some((s) => s.includes(scope))),
  );
  return (
    <section>
      <h2>Keys</h2>
      <CreateKey onCreated={keys.reload} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Tenant">
          <input name="tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)} />
        </Field>
        <Field label="Subject">
          <input name="subject" value={subject} onChange={(e) => setSubject(e.currentTarget.value)} />
        </Field>
        <Field label="Scope contains">
          <input name="scope" value={scope} onInput={(e) => setScope(e.currentTarget.value)} />
        </Field>
        <Field label="State">
          <select name="state" value={state} onChange={(e) => setState(e.currentTarget.value as State)}>
            <option value="active">active</option>
            <option value="revoked">revoked</option>
            <option value="expired">expired</option>
            <option value="all">all</option>
          </select>
        </Field>
      </form>
      <ErrorLine error={keys.error} />
      <table class="keys">
        <thead>
          <tr>
            <th>Id</th>
            <th>Tenant</th>
            <th>Subject</th>
            <th>Scopes</th>
            <th>State</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((k) => [
            <tr key={k.id} data-key-id={k.id} class="clickable" onClick={() => setOpen(open === k.id ? null : k.id)}>
              <td>
                <code>{k.prefix}</code>
              </td>
              <td>{k.tenant}</td>
              <td>{k.subject}</td>
              <td>{k.scopes.join(" ")}</td>
              <td class={`state-${stateOf(k)}`}>{stateOf(k)}</td>
              <td>{when(k.createdAt)}</td>
            </tr>,
            open === k.id ? (
              <tr key={`${k.id}-detail`}>
                <td colSpan={6}>
                  <KeyDetail k={k} onChanged={keys.reload} />
                </td>
              </tr>
            ) : null,
          ])}
        </tbody>
      </table>
      {keys.data && shown.length === 0 ? <p class="muted">No key matches.</p> : null}
    </section>
  );
}

type LastUsed = { at: string; resolution: "minute" | "hour" | "day" } | null;

function KeyDetail({ k, onChanged }: { k: KeyView; onChanged: () => void }) {
  const [grace, setGrace] = useState("3600");
  const [error, setError] = useState<unknown>(null);
  const [rotated, setRotated] = useState<string | null>(null);
  const detail = useLoad(() => api<KeyView & { lastUsed: LastUsed }>("GET", `/admin/keys/${k.id}`), [k.id]);
  const usage = useLoad(
    () => api<UsageSeries>("GET", `/admin/usage/series${query({ by: "routeGroup", keyId: k.id, resolution: "hour" })}`),
    [k.id],
  );
  const act = (work: () => Promise<unknown>) => work().then(onChanged, setError);
  const u = usage.data;
  const sums = u?.series.reduce(
    (t, s) => ({ requests: t.requests + s.total.requests, cost: t.cost + s.total.cost, refused: t.refused + s.total.refused }),
    {
      requests: 0,
      cost: 0,
      refused: 0,
    },
  );
  return (
    <div class="detail" data-key-detail={k.id}>
      <div class="detail-columns">
        <div>
          <h3>What this key can do</h3>
          <ul class="can-do">
            {describeKey(k).map((line) => (
              <li>{line}</li>
            ))}
          </ul>
          <h3>Use</h3>
          <p data-last-used>{detail.data ? lastUseWords(detail.data.lastUsed, shownZone()) : detail.error ? "" : "…"}</p>
          {sums ? (
            <p data-usage-total>
              In the last 2 days: {count(sums.requests)} request{sums.requests === 1 ? "" : "s"}, cost {count(sums.cost)}
              {sums.refused ? `, ${count(sums.refused)} refused by a limit` : ""}.
            </p>
          ) : null}
          <ErrorLine error={detail.error ?? usage.error} />
        </div>
        {u ? (
          <BarChart
            id="key-usage"
            title="Requests per hour, by route group"
            since={u.since}
            stepS={u.stepS}
            buckets={u.buckets}
            series={u.series.map((s) => ({ name: s.name, label: s.name, color: ENGINE_COLORS[s.name] ?? OTHER_COLOR, values: s.requests }))}
            empty="No request by this key"
          />
        ) : null}
      </div>
      {stateOf(k) === "active" ? (
        <div class="actions">
          <Field label="Grace (s)" error={problemOf(error, "gracePeriodS")}>
            <input name="grace" value={grace} onInput={(e) => setGrace(e.currentTarget.value)} size={6} />
          </Field>
          <button
            type="button"
            onClick={() =>
              api<{ key: string }>("POST", `/admin/keys/${k.id}/rotate`, {
                gracePeriodS: /^\s*\d+\s*$/.test(grace) ? Number(grace) : grace,
              }).then((r) => (setRotated(r.key), setError(null)), setError)
            }
          >
            Rotate
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => confirm(`Revoke ${k.prefix}?`) && act(() => api("DELETE", `/admin/keys/${k.id}`))}
          >
            Revoke
          </button>
          <button type="button" onClick={() => act(() => api("DELETE", `/admin/cache/keys/${k.id}`))}>
            Purge from caches
          </button>
        </div>
      ) : null}
      {rotated ? <Plaintext value={rotated} /> : null}
      <ErrorLine error={error} beside={["gracePeriodS"]} />
    </div>
  );
}

export function Plaintext({ value }: { value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="plaintext" role="status">
      <p>This is the only time the key is shown. Copy it now.</p>
      <code data-plaintext>{value}</code>
      <button type="button" onClick={() => navigator.clipboard.writeText(value).then(() => setCopied(true))}>
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState({
    tenant: "",
    subject: "",
    email: "",
    name: "",
    roles: "",
    groups: "",
    serves: "",
    expires: "",
    custom: "",
  });
  const [scopes, setScopes] = useState<string[]>([]);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const toggle = (s: string) => setScopes(scopes.includes(s) ? scopes.filter((x) => x !== s) : [...scopes, s]);
  const submit = (e: Event) => {
    e.preventDefault();
    const chosen = [...new Set([...scopes.filter((s) => s !== "admin"), ...list(form.custom)])];
    const body = {
      tenant: form.tenant,
      subject: form.subject,
      ...(form.email ? { email: form.email } : {}),
      ...(form.name ? { name: form.name } : {}),
      ...(chosen.length ? { scopes: chosen } : {}),
      ...(form.roles ? { roles: list(form.roles) } : {}),
      ...(form.groups ? { groups: list(form.groups) } : {}),
      ...(form.serves ? { servesTenants: list(form.serves) } : {}),
      ...(form.expires ? { expiresAt: isoOf(form.expires) } : {}),
      ...(scopes.includes("admin") ? { admin: true } : {}),
    };
    api<{ key: string }>("POST", "/admin/keys", body).then(
      (r) => {
        setCreated(r.key);
        setError(null);
        onCreated();
      },
      (e: unknown) => (setCreated(null), setError(e)),
    );
  };
  const problem = (...paths: string[]) => problemOf(error, ...paths);
  return (
    <details class="create">
      <summary>Create a key</summary>
      <form onSubmit={submit} name="create-key">
        <Field label="Tenant" error={problem("tenant")}>
          <input name="tenant" required value={form.tenant} onInput={set("tenant")} />
        </Field>
        <Field label="Subject" error={problem("subject")}>
          <input name="subject" required value={form.subject} onInput={set("subject")} />
        </Field>
        <Field label="Email" error={problem("email")}>
          <input name="email" value={form.email} onInput={set("email")} />
        </Field>
        <Field label="Name" error={problem("name")}>
          <input name="name" value={form.name} onInput={set("name")} />
        </Field>
        <fieldset class="scopes">
          <legend>Scopes</legend>
          {COMMON_SCOPES.map((s) => (
            <label class="check">
              <input type="checkbox" name={`scope:${s}`} checked={scopes.includes(s)} onChange={() => toggle(s)} /> {s}
            </label>
          ))}
          <Field label="More (comma separated)" error={problem("scopes", "admin")}>
            <input name="custom" placeholder="mutation/cancel_flow_run, worker/say_hello" value={form.custom} onInput={set("custom")} />
          </Field>
        </fieldset>
        <Field label="Roles" error={problem("roles")}>
          <input name="roles" value={form.roles} onInput={set("roles")} />
        </Field>
        <Field label="Groups" error={problem("groups")}>
          <input name="groups" value={form.groups} onInput={set("groups")} />
        </Field>
        <Field label="Serves tenants (workers)" error={problem("servesTenants")}>
          <input name="serves" placeholder="* or acme, globex" value={form.serves} onInput={set("serves")} />
        </Field>
        <Field label="Expires" error={problem("expiresAt", "notBefore")}>
          <input name="expires" type="datetime-local" value={form.expires} onInput={set("expires")} />
        </Field>
        <button type="submit">Create</button>
      </form>
      {created ? <Plaintext value={created} /> : null}
      <ErrorLine
        error={error}
        beside={["tenant", "subject", "email", "name", "scopes", "admin", "roles", "groups", "servesTenants", "expiresAt", "notBefore"]}
      />
    </details>
  );
}
