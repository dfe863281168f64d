/**
 * Rate limits and usage: every limit with how often it refused (or would have, in shadow mode), setting one,
 * switching shadow and enforce, deleting; usage per key, subject, tenant and route group (docs/ratelimits.md).
 */
import { useState } from "preact/hooks";
import { api, query } from "../api";
import { ErrorLine, Field, useLoad, when } from "../ui";

interface Limit {
  id: string;
  kind: "key" | "subject" | "tenant";
  target: string;
  routeGroup: string;
  rate: { limit: number; windowS: number };
  quota: { limit: number; period: "day" | "month" } | null;
  mode: "enforce" | "shadow";
  refused: number;
  wouldHaveRefused: number;
  lastFiredAt: string | null;
}

const GROUPS = ["*", "prefect", "conductor", "workers", "argo", "flowapi", "admin"];

export function LimitsPage() {
  const limits = useLoad(() => api<{ limits: Limit[] }>("GET", "/admin/limits"), []);
  const [error, setError] = useState<unknown>(null);
  const [f, setF] = useState({
    kind: "key",
    target: "",
    routeGroup: "*",
    limit: "100",
    windowS: "60",
    quota: "",
    period: "day",
    mode: "shadow",
  });
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const act = (work: Promise<unknown>) => work.then(() => (setError(null), limits.reload()), setError);
  const submit = (e: Event) => {
    e.preventDefault();
    act(
      api("POST", "/admin/limits", {
        kind: f.kind,
        target: f.target,
        routeGroup: f.routeGroup,
        rate: { limit: Number(f.limit), windowS: Number(f.windowS) },
        ...(f.quota ? { quota: { limit: Number(f.quota), period: f.period } } : {}),
        mode: f.mode,
      }),
    );
  };
  return (
    <section>
      <h2>Rate limits</h2>
      <p class="muted">Roll a limit out in shadow mode first: it counts and audits what it would refuse, and refuses nothing.</p>
      <form class="filters" name="limit" onSubmit={submit}>
        <Field label="Who">
          <select name="kind" value={f.kind} onChange={set("kind")}>
            <option value="key">a key</option>
            <option value="subject">a subject (all its keys)</option>
            <option value="tenant">a tenant</option>
          </select>
        </Field>
        <Field label="Target (or * for each)">
          <input name="target" required value={f.target} onInput={set("target")} />
        </Field>
        <Field label="Route group">
          <select name="routeGroup" value={f.routeGroup} onChange={set("routeGroup")}>
            {GROUPS.map((g) => (
              <option value={g}>{g === "*" ? "all" : g}</option>
            ))}
          </select>
        </Field>
        <Field label="Cost per window">
          <input name="limit" value={f.limit} onInput={set("limit")} size={6} />
        </Field>
        <Field label="Window (s)">
          <input name="windowS" value={f.windowS} onInput={set("windowS")} size={6} />
        </Field>
        <Field label="Quota (optional)">
          <input name="quota" value={f.quota} onInput={set("quota")} size={8} />
        </Field>
        <Field label="per">
          <select name="period" value={f.period} onChange={set("period")}>
            <option value="day">day</option>
            <option value="month">month</option>
          </select>
        </Field>
        <Field label="Mode">
          <select name="mode" value={f.mode} onChange={set("mode")}>
            <option value="shadow">shadow</option>
            <option value="enforce">enforce</option>
          </select>
        </Field>
        <button type="submit">Set</button>
      </form>
      <ErrorLine error={error ?? limits.error} />
      <table class="limits">
        <thead>
          <tr>
            <th>Who</th>
            <th>Route group</th>
            <th>Rate</th>
            <th>Quota</th>
            <th>Mode</th>
            <th>Refused</th>
            <th>Would have refused</th>
            <th>Last fired</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(limits.data?.limits ?? []).map((l) => (
            <tr key={l.id} data-limit={l.id}>
              <td>
                {l.kind} {l.kind === "key" && l.target !== "*" ? `fgk_${l.target}` : l.target}
              </td>
              <td>{l.routeGroup === "*" ? "all" : l.routeGroup}</td>
              <td>
                {l.rate.limit} / {l.rate.windowS} s
              </td>
              <td>{l.quota ? `${l.quota.limit} / ${l.quota.period}` : ""}</td>
              <td data-mode>{l.mode}</td>
              <td>{l.refused}</td>
              <td>{l.wouldHaveRefused}</td>
              <td>{when(l.lastFiredAt)}</td>
              <td>
                <button
                  type="button"
                  onClick={() => act(api("PATCH", `/admin/limits/${l.id}`, { mode: l.mode === "shadow" ? "enforce" : "shadow" }))}
                >
                  {l.mode === "shadow" ? "Enforce" : "Back to shadow"}
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() => confirm(`Delete limit ${l.id}?`) && act(api("DELETE", `/admin/limits/${l.id}`))}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Usage />
    </section>
  );
}

function Usage() {
  const [resolution, setResolution] = useState("hour");
  const [tenant, setTenant] = useState("");
  const usage = useLoad(
    () => api<{ usage: Record<string, unknown>[] }>("GET", `/admin/usage${query({ resolution, tenant, limit: "200" })}`),
    [resolution, tenant],
  );
  const rows = usage.data?.usage ?? [];
  const columns = rows.length > 0 ? Object.keys(rows[0]!) : [];
  return (
    <div>
      <h3>Usage</h3>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="By">
          <select name="resolution" value={resolution} onChange={(e) => setResolution(e.currentTarget.value)}>
            <option value="minute">minute</option>
            <option value="hour">hour</option>
            <option value="day">day</option>
          </select>
        </Field>
        <Field label="Tenant">
          <input name="usage-tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)} />
        </Field>
      </form>
      <ErrorLine error={usage.error} />
      <table class="usage">
        <thead>
          <tr>
            {columns.map((c) => (
              <th>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {columns.map((c) => (
                <td>{String(r[c] ?? "")}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
