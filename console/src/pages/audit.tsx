/**
 * The audit trail: filters, charts of refused and allowed decisions (and admin actions) over time by engine
 * (`GET /admin/audit/counts`), and the events themselves (`GET /admin/audit`).
 */
import { useState } from "preact/hooks";
import { api, query } from "../api";
import { BarChart, ENGINE_COLORS, OTHER_COLOR } from "../chart";
import { zoneWords, type AuditEvent } from "../model";
import { ErrorLine, Field, isoOf, problemOf, shownZone, useLoad, when } from "../ui";

interface Counts {
  since: string;
  until: string;
  stepS: number;
  buckets: number;
  total: number;
  series: { engine: string | null; decision: "allowed" | "refused" | "done"; total: number; counts: number[] }[];
}

const ENGINES = ["prefect", "conductor", "workers", "argo", "flowapi", "admin", "auth", "gateway"];
const RANGES: Record<string, number> = {
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

/** One chart per decision, in the order an operator looks: refusals first. */
const PANELS = [
  { decision: "refused", title: "Refused requests, by engine", empty: "No refused request", note: "" },
  {
    decision: "allowed",
    title: "Allowed requests, by engine",
    empty: "No allowed request recorded",
    note: "The trail keeps allowed writes, and allowed reads only when AUDIT_READS is on.",
  },
  { decision: "done", title: "Admin actions (done), by engine", empty: "No admin action", note: "" },
] as const;

export function AuditPage() {
  const blank = { action: "", engine: "", subject: "", tenant: "", decision: "", range: "24h", since: "", until: "" };
  const [f, setF] = useState(blank);
  const [applied, setApplied] = useState(blank);
  const filters = () => {
    const until = isoOf(applied.until);
    const since = isoOf(applied.since) ?? new Date((until ? Date.parse(until) : Date.now()) - RANGES[applied.range]!).toISOString();
    return {
      action: applied.action,
      engine: applied.engine,
      principal: applied.subject,
      tenant: applied.tenant,
      decision: applied.decision,
      since,
      until,
    };
  };
  const counts = useLoad(() => api<Counts>("GET", `/admin/audit/counts${query(filters())}`), [applied]);
  const events = useLoad(() => api<{ events: AuditEvent[] }>("GET", `/admin/audit${query({ ...filters(), limit: "200" })}`), [applied]);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const error = counts.error ?? events.error;
  const beside = ["action", "engine", "principal", "subject", "tenant", "decision", "since", "until"];
  return (
    <section>
      <h2>Audit trail</h2>
      <form
        class="filters"
        name="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(f);
        }}
      >
        <Field label="Engine" error={problemOf(error, "engine")}>
          <select name="engine" value={f.engine} onChange={set("engine")}>
            <option value="">any</option>
            {ENGINES.map((e) => (
              <option value={e}>{e}</option>
            ))}
          </select>
        </Field>
        <Field label="Decision" error={problemOf(error, "decision")}>
          <select name="decision" value={f.decision} onChange={set("decision")}>
            <option value="">any</option>
            <option value="refused">refused</option>
            <option value="allowed">allowed</option>
            <option value="done">done (admin actions)</option>
          </select>
        </Field>
        <Field label="Principal (subject)" error={problemOf(error, "principal", "subject")}>
          <input name="subject" value={f.subject} onInput={set("subject")} />
        </Field>
        <Field label="Tenant" error={problemOf(error, "tenant")}>
          <input name="tenant" value={f.tenant} onInput={set("tenant")} />
        </Field>
        <Field label="Action" error={problemOf(error, "action")}>
          <input name="action" value={f.action} onInput={set("action")} placeholder="request.refused" />
        </Field>
        <Field label="Period">
          <select name="range" value={f.range} onChange={set("range")}>
            <option value="1h">last hour</option>
            <option value="6h">last 6 hours</option>
            <option value="24h">last 24 hours</option>
            <option value="7d">last 7 days</option>
            <option value="30d">last 30 days</option>
          </select>
        </Field>
        <Field label="Or since" error={problemOf(error, "since")}>
          <input name="since" type="datetime-local" value={f.since} onInput={set("since")} />
        </Field>
        <Field label="Until" error={problemOf(error, "until")}>
          <input name="until" type="datetime-local" value={f.until} onInput={set("until")} />
        </Field>
        <button type="submit">Show</button>
      </form>
      <ErrorLine error={error} beside={beside} />
      {counts.data ? <AuditCharts counts={counts.data} decision={applied.decision} /> : null}
      <h3>
        Events{" "}
        {events.data ? (
          <span class="muted">({events.data.events.length === 200 ? "the newest 200" : events.data.events.length})</span>
        ) : null}
      </h3>
      <table class="audit">
        <thead>
          <tr>
            <th>When ({zoneWords(shownZone())})</th>
            <th>Decision</th>
            <th>Engine</th>
            <th>Action and route</th>
            <th>Principal</th>
            <th>Tenant</th>
            <th>Target</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {(events.data?.events ?? []).map((e) => (
            <tr key={e.id ?? `${e.at}${e.requestId}${e.action}`} data-action={e.action}>
              <td>
                {when(e.at)}
                {e.count && e.count > 1 ? <span class="count"> ×{e.count}</span> : null}
              </td>
              <td class={`decision-${e.decision}`}>{e.decision}</td>
              <td>{e.engine ?? ""}</td>
              <td>
                {e.action}
                {e.route ? <div class="muted small">{e.route}</div> : null}
              </td>
              <td>{e.actorSubject}</td>
              <td>{e.tenant}</td>
              <td class="wrap">{e.target}</td>
              <td class="wrap">{reasonOf(e)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.data && events.data.events.length === 0 ? <p class="muted">No event matches these filters.</p> : null}
    </section>
  );
}

/** A refusal's reason from its details: the code's message and the fields it named. */
function reasonOf(e: AuditEvent): string {
  const d = e.details ?? {};
  const parts: string[] = [];
  if (typeof d.message === "string") parts.push(d.message);
  else if (typeof d.code === "string") parts.push(d.code);
  const refused = d.refusedFields;
  if (Array.isArray(refused) && refused.length) parts.push(`fields ${refused.join(", ")}`);
  if (typeof d.door === "string") parts.push(`through the ${d.door}`);
  return parts.join("; ");
}

function AuditCharts({ counts, decision }: { counts: Counts; decision: string }) {
  const panels = PANELS.filter((p) => !decision || p.decision === decision);
  return (
    <div class="charts">
      {panels.map((p) => {
        const series = counts.series
          .filter((s) => s.decision === p.decision)
          .map((s) => ({
            name: s.engine ?? "(none)",
            label: s.engine ?? "no engine",
            color: (s.engine && ENGINE_COLORS[s.engine]) || OTHER_COLOR,
            values: s.counts,
          }));
        return (
          <BarChart
            id={`audit-${p.decision}`}
            title={p.title}
            since={counts.since}
            stepS={counts.stepS}
            buckets={counts.buckets}
            series={series}
            empty={p.empty}
            note={p.note}
          />
        );
      })}
    </div>
  );
}
