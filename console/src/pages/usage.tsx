/**
 * Usage over time: requests, cost or refusals per tenant and per key (`GET /admin/usage/series`), the busiest ones
 * each in a colour of their own and the rest together, and the keys' totals.
 */
import { useState } from "preact/hooks";
import { api, query } from "../api";
import { BarChart, OTHER_COLOR, PALETTE, type ChartSeries } from "../chart";
import { count } from "../model";
import { ErrorLine, Field, problemOf, useLoad } from "../ui";

export interface UsageSeries {
  resolution: "minute" | "hour" | "day";
  by: "tenant" | "subject" | "key" | "routeGroup";
  since: string;
  until: string;
  stepS: number;
  buckets: number;
  series: {
    name: string;
    owner?: { subject: string; tenant: string };
    total: Totals;
    requests: number[];
    cost: number[];
    refused: number[];
  }[];
  rest: { total: Totals; requests: number[]; cost: number[]; refused: number[] } | null;
}
type Totals = { requests: number; cost: number; refused: number };
export type Measure = keyof Totals;

export const MEASURE_WORDS: Record<Measure, string> = {
  requests: "Requests",
  cost: "Cost (the units limits count)",
  refused: "Requests refused by a limit",
};

const PERIODS = {
  minute: "the last hour, by minute",
  hour: "the last 2 days, by hour",
  day: "the last 31 days, by day",
} as const;

/** A series' name as the legend says it. */
export function seriesLabel(by: UsageSeries["by"], s: UsageSeries["series"][number]): string {
  if (by === "key")
    return s.name ? `fgk_${s.name}${s.owner ? ` (${s.owner.subject}, ${s.owner.tenant || "no tenant"})` : ""}` : "no key (tokens)";
  if (by === "tenant") return s.name || "no tenant";
  return s.name;
}

/** The chart's series for one measure: each name its colour, the rest grey. */
export function chartSeries(u: UsageSeries, measure: Measure, colors: readonly string[] = PALETTE): ChartSeries[] {
  const out: ChartSeries[] = u.series.map((s, i) => ({
    name: s.name || "(none)",
    label: seriesLabel(u.by, s),
    color: colors[i % colors.length]!,
    values: s[measure],
  }));
  if (u.rest)
    out.push({ name: "(rest)", label: `every other ${u.by === "key" ? "key" : u.by}`, color: OTHER_COLOR, values: u.rest[measure] });
  return out;
}

export function UsagePage() {
  const [resolution, setResolution] = useState<keyof typeof PERIODS>("hour");
  const [measure, setMeasure] = useState<Measure>("requests");
  const [tenant, setTenant] = useState("");
  const [routeGroup, setRouteGroup] = useState("");
  const load = (by: string) => () =>
    api<UsageSeries>("GET", `/admin/usage/series${query({ by, resolution, tenant, routeGroup, top: "8" })}`);
  const byTenant = useLoad(load("tenant"), [resolution, tenant, routeGroup]);
  const byKey = useLoad(load("key"), [resolution, tenant, routeGroup]);
  const error = byTenant.error ?? byKey.error;
  const what = MEASURE_WORDS[measure].replace(/ \(.*\)$/, "");
  return (
    <section>
      <h2>Usage</h2>
      <p class="muted">
        Every authenticated request a route group counts, whether or not a limit applies. Written in batches: the last few seconds of other
        isolates may be missing.
      </p>
      <form class="filters" name="usage" onSubmit={(e) => e.preventDefault()}>
        <Field label="Period" error={problemOf(error, "resolution", "since")}>
          <select name="resolution" value={resolution} onChange={(e) => setResolution(e.currentTarget.value as keyof typeof PERIODS)}>
            {Object.entries(PERIODS).map(([v, words]) => (
              <option value={v}>{words}</option>
            ))}
          </select>
        </Field>
        <Field label="Measure">
          <select name="measure" value={measure} onChange={(e) => setMeasure(e.currentTarget.value as Measure)}>
            {Object.entries(MEASURE_WORDS).map(([v, words]) => (
              <option value={v}>{words}</option>
            ))}
          </select>
        </Field>
        <Field label="Tenant" error={problemOf(error, "tenant")}>
          <input name="usage-tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value.trim())} placeholder="every tenant" />
        </Field>
        <Field label="Route group" error={problemOf(error, "routeGroup")}>
          <select name="routeGroup" value={routeGroup} onChange={(e) => setRouteGroup(e.currentTarget.value)}>
            <option value="">every route group</option>
            {["prefect", "conductor", "workers", "argo", "flowapi", "admin"].map((g) => (
              <option value={g}>{g}</option>
            ))}
          </select>
        </Field>
      </form>
      <ErrorLine error={error} beside={["resolution", "since", "tenant", "routeGroup"]} />
      <div class="charts">
        {byTenant.data ? (
          <BarChart
            id="usage-tenant"
            title={`${what} per tenant`}
            since={byTenant.data.since}
            stepS={byTenant.data.stepS}
            buckets={byTenant.data.buckets}
            series={chartSeries(byTenant.data, measure)}
            empty={`No ${what.toLowerCase()}`}
          />
        ) : null}
        {byKey.data ? (
          <BarChart
            id="usage-key"
            title={`${what} per key (the 8 busiest, and the rest)`}
            since={byKey.data.since}
            stepS={byKey.data.stepS}
            buckets={byKey.data.buckets}
            series={chartSeries(byKey.data, measure)}
            empty={`No ${what.toLowerCase()}`}
          />
        ) : null}
      </div>
      {byKey.data && byKey.data.series.length > 0 ? (
        <table class="usage">
          <thead>
            <tr>
              <th>Key</th>
              <th>Subject</th>
              <th>Tenant</th>
              <th class="num">Requests</th>
              <th class="num">Cost</th>
              <th class="num">Refused by a limit</th>
            </tr>
          </thead>
          <tbody>
            {byKey.data.series.map((s) => (
              <tr data-usage-key={s.name}>
                <td>{s.name ? <code>fgk_{s.name}</code> : "no key (tokens)"}</td>
                <td>{s.owner?.subject ?? ""}</td>
                <td>{s.owner?.tenant ?? ""}</td>
                <td class="num">{count(s.total.requests)}</td>
                <td class="num">{count(s.total.cost)}</td>
                <td class="num">{count(s.total.refused)}</td>
              </tr>
            ))}
            {byKey.data.rest ? (
              <tr>
                <td colSpan={3}>every other key</td>
                <td class="num">{count(byKey.data.rest.total.requests)}</td>
                <td class="num">{count(byKey.data.rest.total.cost)}</td>
                <td class="num">{count(byKey.data.rest.total.refused)}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
