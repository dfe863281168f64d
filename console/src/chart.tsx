/**
 * A stacked bar chart over time, in hand-written SVG: a y axis of counts with its ticks, a time axis labelled in the
 * zone the console shows times in (stated under the chart), a legend with each series' total, a tooltip per bar,
 * and, when there is nothing to draw, a sentence saying so. No chart library: the console stays one small file
 * under a strict Content-Security-Policy (colours are SVG attributes, never inline styles).
 */
import { count, labelledBuckets, niceTicks, stepWords, tickLabel, timeLabel, zoneWords } from "./model";
import { shownZone, when } from "./ui";

export interface ChartSeries {
  /** Stable name (an engine, a key id); the legend shows `label`. */
  name: string;
  label: string;
  color: string;
  values: number[];
}

/** The engines' colours, the same in every chart; anything else is grey. */
export const ENGINE_COLORS: Record<string, string> = {
  prefect: "#2f6fdf",
  conductor: "#e07b39",
  workers: "#8c5ad1",
  argo: "#2a9d8f",
  flowapi: "#c9a227",
  admin: "#5b6577",
  auth: "#d1495b",
  gateway: "#1d2330",
};
export const OTHER_COLOR = "#a9b0bd";
/** Colours for series with no colour of their own (keys, tenants), in order. */
export const PALETTE = ["#2f6fdf", "#e07b39", "#2a9d8f", "#d1495b", "#8c5ad1", "#c9a227", "#4f9d3a", "#b5589c", "#5b6577", "#0f8ea8"];

const W = 600;
const H = 200;
const LEFT = 52;
const RIGHT = 14;
const TOP = 12;
const BOTTOM = 40;

export function BarChart({
  id,
  title,
  since,
  stepS,
  buckets,
  series,
  empty,
  note,
}: {
  id: string;
  title: string;
  /** The first bucket's start (ISO). */
  since: string;
  stepS: number;
  buckets: number;
  series: ChartSeries[];
  /** What to say when every count is zero. */
  empty: string;
  /** A sentence more under the chart (what is counted). */
  note?: string;
}) {
  const start = Date.parse(since);
  const stepMs = stepS * 1000;
  const end = start + buckets * stepMs;
  const zone = shownZone();
  const totals = series.map((s) => s.values.reduce((a, b) => a + b, 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const range = `from ${when(since)} to ${when(new Date(end).toISOString())}`;
  if (total === 0) {
    return (
      <figure class="chart" data-chart={id}>
        <figcaption class="chart-title">{title}</figcaption>
        <p class="empty" data-empty>
          {empty} {range} (times in {zoneWords(zone)}).{note ? ` ${note}` : ""}
        </p>
      </figure>
    );
  }
  const stacks = Array.from({ length: buckets }, (_, i) => series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const ticks = niceTicks(Math.max(...stacks));
  const top = ticks[ticks.length - 1]!;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const bw = plotW / buckets;
  const gap = Math.min(4, bw * 0.2);
  const y = (v: number) => TOP + plotH - (v / top) * plotH;
  const labelled = labelledBuckets(buckets, 8);
  return (
    <figure class="chart" data-chart={id}>
      <figcaption class="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} class="plot" role="img" aria-label={`${title}: ${total} in all, ${range}`}>
        {ticks.map((t) => (
          <g key={`y${t}`}>
            <line x1={LEFT} x2={W - RIGHT} y1={y(t)} y2={y(t)} class={t === 0 ? "axis" : "grid"} />
            <text x={LEFT - 8} y={y(t) + 4} text-anchor="end" class="y-tick">
              {tickLabel(t)}
            </text>
          </g>
        ))}
        {stacks.map((sum, i) => {
          let base = 0;
          const x = LEFT + i * bw + gap / 2;
          const from = start + i * stepMs;
          const parts = series.filter((s) => (s.values[i] ?? 0) > 0).map((s) => `${s.label} ${s.values[i]}`);
          return (
            <g key={`b${i}`} data-bucket={i} data-count={sum}>
              <title>{`${when(new Date(from).toISOString())} (${stepWords(stepS)}): ${sum}${parts.length ? ` (${parts.join(", ")})` : ""}`}</title>
              <rect x={LEFT + i * bw} y={TOP} width={bw} height={plotH} class="hover" />
              {series.map((s) => {
                const v = s.values[i] ?? 0;
                if (v === 0) return null;
                const y0 = y(base);
                base += v;
                const h = Math.max(1, y0 - y(base));
                return <rect key={s.name} x={x} y={y0 - h} width={Math.max(1, bw - gap)} height={h} fill={s.color} />;
              })}
            </g>
          );
        })}
        <line x1={LEFT} x2={LEFT} y1={TOP} y2={TOP + plotH} class="axis" />
        {labelled.map((i, k) => {
          const at = start + i * stepMs;
          const previous = k === 0 ? null : start + labelled[k - 1]! * stepMs;
          const label = timeLabel(at, previous, stepS, zone);
          const x = LEFT + i * bw;
          return (
            <g key={`x${i}`}>
              <line x1={x} x2={x} y1={TOP + plotH} y2={TOP + plotH + 5} class="axis" />
              <text x={x} y={TOP + plotH + 18} text-anchor="middle" class="x-tick">
                {label.time}
              </text>
              {label.date ? (
                <text x={x} y={TOP + plotH + 32} text-anchor="middle" class="x-date">
                  {label.date}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        {series.map((s, i) =>
          totals[i]! > 0 ? (
            <li key={s.name} data-series={s.name}>
              <svg viewBox="0 0 10 10" class="swatch" aria-hidden="true">
                <rect width="10" height="10" rx="2" fill={s.color} />
              </svg>
              {s.label} <span class="legend-count">{count(totals[i]!)}</span>
            </li>
          ) : null,
        )}
      </ul>
      <p class="chart-note muted">
        {count(total)} in all; each bar is {stepWords(stepS)}, {range}; times in {zoneWords(zone)}.{note ? ` ${note}` : ""}
      </p>
    </figure>
  );
}
