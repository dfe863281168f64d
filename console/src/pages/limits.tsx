/**
 * Rate limits: every limit with how often it refused (or would have, in shadow mode), setting one (each field's
 * problem shown beside it, in the gateway's words), switching shadow and enforce, deleting (docs/ratelimits.md).
 * Usage over time is the Usage page's.
 */
import { useState } from "preact/hooks";
import { api } from "../api";
import { ErrorLine, Field, problemOf, useLoad, when } from "../ui";

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

/** A number as typed: sent as a number when it reads as one, else as typed, so the gateway names what is wrong. */
const numberOf = (typed: string): number | string => (/^\s*-?\d+(\.\d+)?\s*$/.test(typed) ? Number(typed) : typed);

export function LimitsPage() {
  const limits = useLoad(() => api<{ limits: Limit[] }>("GET", "/admin/limits"), []);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState("");
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
  const act = (work: Promise<unknown>, done = "") =>
    work.then(
      () => (setError(null), setSaved(done), limits.reload()),
      (e: unknown) => (setSaved(""), setError(e)),
    );
  const submit = (e: Event) => {
    e.preventDefault();
    act(
      api("POST", "/admin/limits", {
        kind: f.kind,
        target: f.target,
        routeGroup: f.routeGroup,
        rate: { limit: numberOf(f.limit), windowS: numberOf(f.windowS) },
        ...(f.quota ? { quota: { limit: numberOf(f.quota), period: f.period } } : {}),
        mode: f.mode,
      }),
      `Limit on ${f.kind} ${f.target} set.`,
    );
  };
  const problem = (...paths: string[]) => problemOf(error, ...paths);
  return (
    <section>
      <h2>Rate limits</h2>
      <p class="muted">Roll a limit out in shadow mode first: it counts and audits what it would refuse, and refuses nothing.</p>
      <form class="filters" name="limit" onSubmit={submit}>
        <Field label="Who" error={problem("kind")}>
          <select name="kind" value={f.kind} onChange={set("kind")}>
            <option value="key">a key</option>
            <option value="subject">a subject (all its keys)</option>
            <option value="tenant">a tenant</option>
          </select>
        </Field>
        <Field label="Target (or * for each)" error={problem("target")}>
          <input name="target" required value={f.target} onInput={set("target")} />
        </Field>
        <Field label="Route group" error={problem("routeGroup")}>
          <select name="routeGroup" value={f.routeGroup} onChange={set("routeGroup")}>
            {GROUPS.map((g) => (
              <option value={g}>{g === "*" ? "all" : g}</option>
            ))}
          </select>
        </Field>
        <Field label="Cost per window" error={problem("rate.limit", "rate")}>
          <input name="limit" value={f.limit} onInput={set("limit")} size={6} />
        </Field>
        <Field label="Window (s)" error={problem("rate.windowS")}>
          <input name="windowS" value={f.windowS} onInput={set("windowS")} size={6} />
        </Field>
        <Field label="Quota (optional)" error={problem("quota.limit", "quota")}>
          <input name="quota" value={f.quota} onInput={set("quota")} size={8} />
        </Field>
        <Field label="per" error={problem("quota.period")}>
          <select name="period" value={f.period} onChange={set("period")}>
            <option value="day">day</option>
            <option value="month">month</option>
          </select>
        </Field>
        <Field label="Mode" error={problem("mode")}>
          <select name="mode" value={f.mode} onChange={set("mode")}>
            <option value="shadow">shadow</option>
            <option value="enforce">enforce</option>
          </select>
        </Field>
        <button type="submit">Set</button>
      </form>
      <ErrorLine error={error ?? limits.error} beside={["kind", "target", "routeGroup", "rate", "quota", "mode"]} />
      {saved ? (
        <p role="status" class="ok">
          {saved}
        </p>
      ) : null}
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
      <p class="muted">
        What each key and tenant uses over time: the <a href="#/usage">Usage</a> page.
      </p>
    </section>
  );
}
