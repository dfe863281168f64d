/** The audit trail: filters, a chart of allowed and refused decisions over time, and the events. */
import { useState } from "preact/hooks";
import { api, query } from "../api";
import { buckets, type AuditEvent } from "../model";
import { ErrorLine, Field, isoOf, useLoad, when } from "../ui";

function Chart({ events }: { events: AuditEvent[] }) {
  const data = buckets(events);
  if (data.length === 0) return null;
  const max = Math.max(1, ...data.map((b) => b.allowed + b.refused));
  const w = 24;
  const h = 120;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${data.length * w} ${h + 4}`} role="img" aria-label="allowed and refused decisions over time" data-chart>
        {data.map((b, i) => {
          const ha = (b.allowed / max) * h;
          const hr = (b.refused / max) * h;
          return (
            <g key={b.start}>
              <title>{`${new Date(b.start).toLocaleString()}: ${b.allowed} allowed, ${b.refused} refused`}</title>
              <rect x={i * w + 2} y={h - ha - hr} width={w - 4} height={hr} class="refused" />
              <rect x={i * w + 2} y={h - ha} width={w - 4} height={ha} class="allowed" />
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span class="swatch allowed" /> allowed <span class="swatch refused" /> refused, from {when(new Date(data[0]!.start).toISOString())}
      </figcaption>
    </figure>
  );
}

export function AuditPage() {
  const [f, setF] = useState({ action: "", subject: "", tenant: "", decision: "", since: "", until: "" });
  const [applied, setApplied] = useState(f);
  const events = useLoad(
    () =>
      api<{ events: AuditEvent[] }>(
        "GET",
        `/admin/audit${query({ ...applied, since: isoOf(applied.since), until: isoOf(applied.until), limit: "200" })}`,
      ),
    [applied],
  );
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
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
        <Field label="Action">
          <input name="action" value={f.action} onInput={set("action")} placeholder="prefect.mutation" />
        </Field>
        <Field label="Subject">
          <input name="subject" value={f.subject} onInput={set("subject")} />
        </Field>
        <Field label="Tenant">
          <input name="tenant" value={f.tenant} onInput={set("tenant")} />
        </Field>
        <Field label="Decision">
          <select name="decision" value={f.decision} onChange={set("decision")}>
            <option value="">any</option>
            <option value="allowed">allowed</option>
            <option value="refused">refused</option>
            <option value="done">done (admin actions)</option>
          </select>
        </Field>
        <Field label="Since">
          <input name="since" type="datetime-local" value={f.since} onInput={set("since")} />
        </Field>
        <Field label="Until">
          <input name="until" type="datetime-local" value={f.until} onInput={set("until")} />
        </Field>
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={events.error} />
      <Chart events={events.data?.events ?? []} />
      <table class="audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Action</th>
            <th>Decision</th>
            <th>Subject</th>
            <th>Tenant</th>
            <th>Target</th>
          </tr>
        </thead>
        <tbody>
          {(events.data?.events ?? []).map((e) => (
            <tr key={`${e.at}${e.requestId}${e.action}`} data-action={e.action}>
              <td>{when(e.at)}</td>
              <td>{e.action}</td>
              <td class={`decision-${e.decision}`}>{e.decision}</td>
              <td>{e.actorSubject}</td>
              <td>{e.tenant}</td>
              <td>{e.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
