/**
 * How cost grows with the work: `npm run bench -- growth` (short: a few minutes) or `npm run bench -- growth long`
 * (the full ranges, GROWTH_LONG=1). Writes bench/results/growth.json and one SVG chart per figure into docs/images/
 * (no dependency: plain SVG elements), which docs/benchmarks.md shows.
 *
 * On the gateway itself (the deployable bundle on workerd, one runtime per point: bench/growthWorkerd.ts), CPU per
 * request and the peak memory one request adds:
 * - the Conductor definition listing against its size (0.1 to 30 MB, the bound raised to 64 MiB so the rewrite
 *   itself is measured), and against the number of tenants whose definitions an answer of 1,000 holds;
 * - the GraphQL guard against the document's size (the limits raised, the analysis cache off) and, at the default
 *   limits, against the worst shapes we can build (bench/graphqlShapes.ts).
 * The stored data (bench/growthStore.ts): key lookup by tier, the admin API's list endpoints, the cron, and the plan
 * of every query they send, with 1k to 1M stored keys. GROWTH_DATABASE_URL (a PostgreSQL server; the bench makes a
 * scratch database on it and drops it after) instead of PGlite, which runs one query at a time in WebAssembly.
 *
 * Each curve is summed up by its growth exponent (the slope of log y against log x: 0 flat, 1 linear, 2 quadratic)
 * over the whole range and between neighbouring points; it "bends" where the exponent between two neighbours moves
 * by more than 0.5 from the one before.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { DEFAULT_GRAPHQL_LIMITS } from "../src/constants.ts";
import { schema } from "../src/db/schema.ts";
import { createKey } from "../src/store/keys.ts";
import { startLocalDatabase } from "../scripts/local-db.ts";
import { conductorDefinitionListing, graphqlBody } from "./fixtures.ts";
import { graphqlShapes } from "./graphqlShapes.ts";
import { storeCurves, type Explained, type StoreStep } from "./growthStore.ts";
import { measurePoint, send, startGateway, startStandIn, type PointFigures } from "./growthWorkerd.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LONG = process.env.GROWTH_LONG === "1";
const OUT_DIR = `${ROOT}docs/images`;
const RESULTS = `${ROOT}bench/results/growth.json`;
/**
 * GROWTH_ONLY=workerd or =store: measure that section again, the other's figures taken from bench/results/growth.json
 * (of a run of the same length); GROWTH_ONLY=charts measures nothing and draws the charts again from that file.
 */
const ONLY = process.env.GROWTH_ONLY?.split(",").map((x) => x.trim());
const wants = (section: "workerd" | "store") => !ONLY || ONLY.includes(section);

interface Shape {
  name: string;
  bytes: number;
  status: number;
  cpuUs: number;
  peakAddedMb: number;
}

/** What bench/results/growth.json holds (the parts read back when a section is not measured again). */
interface GrowthResults {
  machine: Record<string, unknown>;
  startedAt: string;
  endedAt: string | null;
  long: boolean;
  sections: { workerd: string | null; store: string | null };
  database: string;
  listing: { workerd: WorkerdPoint[] };
  tenants: WorkerdPoint[];
  graphql: { workerd: WorkerdPoint[]; shapes: Shape[] };
  store: StoreStep[];
  explained: Explained[];
}
/** Bytes of one definition of bench/fixtures.ts `conductorWorkflowDef` (6 tasks), for sizes in MB. */
const DEFINITION_BYTES = 2_868;
const log = (m: string) => process.stderr.write(`${m}\n`);

export interface Point {
  x: number;
  y: number;
}

export interface Curve {
  name: string;
  xLabel: string;
  yLabel: string;
  points: Point[];
  /** Growth exponent over the whole range: slope of log y against log x (0 flat, 1 linear). */
  exponent: number | null;
  /** Growth exponents between neighbouring points. */
  localExponents: (number | null)[];
  /** The first x where the exponent between neighbours moves by more than 0.5 from the one before (null: none). */
  bendsAt: number | null;
}

const exponentOf = (a: Point, b: Point) =>
  a.x > 0 && b.x > 0 && a.y > 0 && b.y > 0 && a.x !== b.x ? Math.log(b.y / a.y) / Math.log(b.x / a.x) : null;

export function curve(name: string, xLabel: string, yLabel: string, points: Point[]): Curve {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  const localExponents = sorted.slice(1).map((p, i) => exponentOf(sorted[i]!, p));
  let bendsAt: number | null = null;
  for (let i = 1; i < localExponents.length && bendsAt === null; i++) {
    const [a, b] = [localExponents[i - 1], localExponents[i]];
    if (a != null && b != null && Math.abs(b - a) > 0.5) bendsAt = sorted[i]!.x;
  }
  const exponent = sorted.length > 1 ? exponentOf(sorted[0]!, sorted.at(-1)!) : null;
  return { name, xLabel, yLabel, points: sorted, exponent, localExponents, bendsAt };
}

export function describeCurve(c: Curve): string {
  const e = c.exponent;
  const shape = e === null ? "?" : e < 0.2 ? "flat" : e < 0.8 ? "sublinear" : e <= 1.2 ? "linear" : "superlinear";
  const locals = c.localExponents.map((x) => (x === null ? "-" : x.toFixed(2))).join(" ");
  return `${c.name}: ${shape} (exponent ${e?.toFixed(2) ?? "?"}; between points ${locals})${c.bendsAt === null ? "" : `, bends at ${c.bendsAt}`}`;
}

const fmt = (v: number) => {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1_000_000) return `${Number((v / 1_000_000).toPrecision(3))}M`;
  if (Math.abs(v) >= 10_000 || (Math.abs(v) >= 1_000 && v % 1_000 === 0)) return `${Number((v / 1_000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
};

export interface ChartOptions {
  logX?: boolean;
  logY?: boolean;
  /** Horizontal reference lines (a limit), with their label. */
  lines?: { y: number; label: string }[];
  /** Vertical reference lines (a bound on the x axis), with their label. */
  vlines?: { x: number; label: string }[];
  /** Shown under the title (what was measured, where). */
  subtitle?: string;
}

/** A line chart of one or more curves sharing their axes, as SVG text. */
export function svgChart(title: string, curves: Curve[], o: ChartOptions = {}): string {
  const W = 720;
  const H = 380 + 18 * curves.length;
  const L = 78;
  const R = 36;
  const T = 58;
  const B = 56;
  const legendH = 18 * curves.length + 6;
  const all = curves.flatMap((c) => c.points).filter((p) => !o.logY || p.y > 0);
  const refs = o.lines ?? [];
  const fx = (x: number) => (o.logX ? Math.log10(Math.max(x, 1e-9)) : x);
  const fy = (y: number) => (o.logY ? Math.log10(Math.max(y, 1e-9)) : y);
  const xs = all.map((p) => fx(p.x));
  const x0 = o.logX ? Math.min(...xs) : Math.min(0, ...xs);
  const x1 = Math.max(...xs, x0 + 1e-9);
  const ys = [...all.map((p) => p.y), ...refs.map((r) => r.y)];
  const yStep = niceStep(Math.max(...ys) / 5);
  const yTop = o.logY ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.ceil((Math.max(...ys) * 1.02) / yStep) * yStep;
  const yBottom = o.logY ? 10 ** Math.floor(Math.log10(Math.min(...ys.filter((y) => y > 0)))) : 0;
  const plotTop = T + legendH;
  const px = (x: number) => L + ((fx(x) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (y: number) => H - B - ((fy(y) - fy(yBottom)) / (fy(yTop) - fy(yBottom) || 1)) * (H - plotTop - B);
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
  const dashes = ["", "7 3", "2 3", "9 3 2 3", "14 4", "4 2 1 2", "1 3", "10 2 2 2 2 2", "3 7"];
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  if (o.subtitle) parts.push(`<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">${esc(o.subtitle)}</text>`);
  // Gridlines and tick labels.
  const yTicks: number[] = [];
  if (o.logY) for (let e = Math.log10(yBottom); e <= Math.log10(yTop) + 1e-9; e++) yTicks.push(10 ** e);
  else for (let y = 0; y <= yTop + yStep / 2; y += yStep) yTicks.push(y);
  for (const y of yTicks) {
    parts.push(`<line x1="${L}" y1="${py(y)}" x2="${W - R}" y2="${py(y)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  const xTicks = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  let lastLabelX = -Infinity;
  for (const x of xTicks) {
    parts.push(`<line x1="${px(x)}" y1="${plotTop}" x2="${px(x)}" y2="${H - B}" stroke="#f0f0f0"/>`);
    if (px(x) - lastLabelX < 34) continue; // no overlapping labels
    lastLabelX = px(x);
    parts.push(`<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle">${fmt(Number(x.toPrecision(2)))}</text>`);
  }
  parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`);
  parts.push(`<line x1="${L}" y1="${plotTop}" x2="${L}" y2="${H - B}" stroke="black"/>`);
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 14}" text-anchor="middle">${esc(curves[0]?.xLabel ?? "")}${o.logX ? " (log scale)" : ""}</text>`,
  );
  const yMid = (plotTop + H - B) / 2;
  parts.push(
    `<text x="18" y="${yMid}" text-anchor="middle" transform="rotate(-90 18 ${yMid})">${esc(curves[0]?.yLabel ?? "")}${o.logY ? " (log scale)" : ""}</text>`,
  );
  for (const r of refs) {
    parts.push(`<line x1="${L}" y1="${py(r.y)}" x2="${W - R}" y2="${py(r.y)}" stroke="#444" stroke-dasharray="4 4"/>`);
    parts.push(`<text x="${W - R - 4}" y="${py(r.y) - 5}" text-anchor="end" fill="#444">${esc(r.label)}</text>`);
  }
  for (const v of o.vlines ?? []) {
    parts.push(`<line x1="${px(v.x)}" y1="${plotTop}" x2="${px(v.x)}" y2="${H - B}" stroke="#444" stroke-dasharray="4 4"/>`);
    parts.push(`<text x="${px(v.x) + 4}" y="${H - B - 6}" fill="#444">${esc(v.label)}</text>`);
  }
  curves.forEach((c, i) => {
    const colour = colours[i % colours.length]!;
    const pts = c.points.filter((p) => !o.logY || p.y > 0);
    const dash = dashes[i % dashes.length] ? ` stroke-dasharray="${dashes[i % dashes.length]}"` : "";
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`,
    );
    for (const p of pts) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${colour}"/>`);
    const ly = T + 4 + i * 18;
    parts.push(`<line x1="${L + 8}" y1="${ly - 4}" x2="${L + 34}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${L + 40}" y="${ly}" fill="#222">${esc(c.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** The step of 1, 2 or 5 times a power of ten at or above `v`: round tick labels. */
function niceStep(v: number): number {
  if (v <= 0) return 1;
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

interface WorkerdPoint extends PointFigures {
  x: number;
}

async function main() {
  mkdirSync(OUT_DIR, { recursive: true });
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  const startedAt = new Date().toISOString();
  const load0 = readFileSync("/proc/loadavg", "utf8").trim();
  const measured = wants("workerd") || wants("store");
  const buildDir = `${ROOT}bench/.build`;
  const script = `${buildDir}/index.js`;
  if (measured) {
    log(`growth (${LONG ? "long" : "short"}): building the bundle...`);
    execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", buildDir], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }

  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, "utf8")) as Partial<GrowthResults>) : null;
  const reuse = previous?.long === LONG ? previous : null;
  let listingWorkerd: WorkerdPoint[] = reuse?.listing?.workerd ?? [];
  let tenantsWorkerd: WorkerdPoint[] = reuse?.tenants ?? [];
  let graphqlWorkerd: WorkerdPoint[] = reuse?.graphql?.workerd ?? [];
  let shapes: Shape[] = reuse?.graphql?.shapes ?? [];
  if (wants("workerd")) {
    listingWorkerd = [];
    tenantsWorkerd = [];
    graphqlWorkerd = [];
    shapes = [];
    // The database of the workerd points (two keys): PGlite.
    const db = await startLocalDatabase();
    const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
    await client.connect();
    const store = drizzle(client, { schema });
    const conductorKey = (
      await createKey(store, { tenant: "bench", subject: "growth-ops", scopes: ["conductor"], roles: ["OWNER"], createdBy: "bench" })
    ).key;
    const prefectKey = (await createKey(store, { tenant: "bench", subject: "growth-gql", scopes: ["query/*"], createdBy: "bench" })).key;
    await client.end();
    const standIn = await startStandIn();
    const common = { DATABASE_URL: db.workerDatabaseUrl, DB_WS_PROXY: db.wsProxy, LOG_LEVEL: "error" };
    const cpuBudgetMs = LONG ? 2_000 : 700;

    // 1. The Conductor listing against its size, on workerd and in Node.
    const sizesMb = LONG ? [0.1, 0.5, 1, 2, 5, 8, 10, 20, 30] : [0.1, 1, 5, 10];
    const listingAuth = { authorization: `Bearer ${conductorKey}` };
    const gatewayUrl = { current: "" };
    const listingReq = () => send(gatewayUrl.current, { path: "/conductor/api/metadata/workflow", headers: listingAuth });
    const small = Buffer.from(conductorDefinitionListing(10));
    for (const mb of sizesMb) {
      const count = Math.max(1, Math.round((mb * 1_000_000) / DEFINITION_BYTES));
      log(`listing: ${mb} MB (${count} definitions)...`);
      const answer = Buffer.from(conductorDefinitionListing(count));
      const p = await pointWith(
        script,
        common,
        { CONDUCTOR_URL: standIn.url, MAX_UPSTREAM_ANSWER_BYTES: String(64 * 1_048_576) },
        gatewayUrl,
        {
          warm: () => standIn.set(small, true),
          target: () => standIn.set(answer, true),
          req: listingReq,
          cpuBudgetMs,
          x: answer.byteLength / 1_000_000,
        },
      );
      if (p.status !== 200) throw new Error(`listing of ${mb} MB: ${p.status}`);
      listingWorkerd.push(p);
    }

    // 2. 1,000 definitions over N tenants (the caller's share: 1/N of them).
    const tenantCounts = LONG ? [1, 10, 100, 1_000] : [1, 10, 100];
    for (const t of tenantCounts) {
      log(`listing: 1,000 definitions over ${t} tenants...`);
      const answer = Buffer.from(conductorDefinitionListing(1_000, t));
      tenantsWorkerd.push(
        await pointWith(script, common, { CONDUCTOR_URL: standIn.url }, gatewayUrl, {
          warm: () => standIn.set(small, true),
          target: () => standIn.set(answer, true),
          req: listingReq,
          cpuBudgetMs,
          x: t,
        }),
      );
    }

    // 3. The GraphQL guard against the document's size: limits raised, analysis cache off (every request parses).
    const graphqlSizes = LONG ? [1_000, 10_000, 64_000, 256_000, 1_000_000] : [1_000, 10_000, 64_000, 256_000];
    const gqlHeaders = { "content-type": "application/json", authorization: `Bearer ${prefectKey}` };
    const raised = {
      PREFECT_GRAPHQL_URL: `${standIn.url}/graphql`,
      TENANT_ID: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12",
      GRAPHQL_ANALYSIS_CACHE_ENTRIES: "0",
      MAX_BODY_BYTES: String(4 * 1_048_576),
      GRAPHQL_MAX_DOCUMENT_BYTES: String(4 * 1_048_576),
      GRAPHQL_MAX_TOKENS: "1000000",
      GRAPHQL_MAX_ALIASES: "100000",
      GRAPHQL_MAX_COST: "10000000",
    };
    const okAnswer = Buffer.from('{"data":{"ok":true}}');
    for (const bytes of graphqlSizes) {
      log(`graphql: ${bytes} bytes...`);
      const body = graphqlBody(bytes);
      const warmBody = graphqlBody(500);
      let current = warmBody;
      graphqlWorkerd.push(
        await pointWith(script, common, raised, gatewayUrl, {
          warm: () => {
            standIn.set(okAnswer, false);
            current = warmBody;
          },
          target: () => (current = body),
          req: () => send(gatewayUrl.current, { path: "/prefect/graphql", method: "POST", headers: gqlHeaders, body: current }),
          cpuBudgetMs,
          x: body.length / 1000,
        }),
      );
    }

    // 4. The worst shapes, at the default limits (each refused or decided within them): one runtime, CPU per request.
    log("graphql: the worst shapes...");
    {
      const gateway = await startGateway(script, { ...common, ...raised, ...defaultLimits() });
      gatewayUrl.current = gateway.url;
      try {
        for (const s of graphqlShapes()) {
          const body = JSON.stringify({ query: s.query, operationName: s.operationName });
          const warmBody = graphqlBody(500);
          let current = warmBody;
          const p = await measurePoint(
            gateway,
            async () => {
              current = warmBody;
              await send(gateway.url, { path: "/prefect/graphql", method: "POST", headers: gqlHeaders, body: current });
            },
            async () => {
              current = body;
              return send(gateway.url, { path: "/prefect/graphql", method: "POST", headers: gqlHeaders, body: current });
            },
            LONG ? 500 : 200,
            400,
          );
          shapes.push({
            name: s.name,
            bytes: s.query.length,
            status: p.status,
            cpuUs: Math.round(p.cpuMsPerRequest * 1000),
            peakAddedMb: Math.round(p.peakAddedMb * 10) / 10,
          });
        }
      } finally {
        await gateway.stop();
      }
    }
    await standIn.close();
    await db.close();
    // Kept at once, so a failure in the store section does not lose them (GROWTH_ONLY=store picks them up).
    writeFileSync(
      RESULTS,
      `${JSON.stringify(
        {
          ...reuse,
          long: LONG,
          sections: { workerd: startedAt, store: reuse?.sections?.store ?? null },
          listing: { workerd: listingWorkerd },
          tenants: tenantsWorkerd,
          graphql: { workerd: graphqlWorkerd, shapes },
        },
        null,
        2,
      )}\n`,
    );
  }

  // 5. The stored data.
  const storeRows = LONG ? [1_000, 10_000, 100_000, 1_000_000] : [1_000, 10_000, 100_000];
  const measuredStore = wants("store")
    ? await storeCurves({
        scriptPath: script,
        rowCounts: storeRows,
        freshKeys: LONG ? 2_000 : 1_000,
        kvFillMax: Number(process.env.GROWTH_KV_FILL_MAX ?? (LONG ? 100_000 : 10_000)),
        serverUrl: process.env.GROWTH_DATABASE_URL,
        log,
      })
    : null;
  const stored =
    measuredStore ??
    (reuse?.store && reuse.explained && reuse.database
      ? { steps: reuse.store, explained: reuse.explained, database: reuse.database }
      : null);
  if (!stored) throw new Error("no store figures: run with the store section (GROWTH_ONLY unset or naming store)");
  if (listingWorkerd.length === 0)
    throw new Error("no workerd figures: run with the workerd section (GROWTH_ONLY unset or naming workerd)");

  // Curves and charts.
  const c = {
    listingCpu: [
      curve(
        "workerd: CPU per request",
        "listing MB",
        "ms",
        listingWorkerd.map((p) => ({ x: p.x, y: p.cpuMsPerRequest })),
      ),
    ],
    listingMemory: [
      curve(
        "workerd: peak resident memory one request adds",
        "listing MB",
        "MB",
        listingWorkerd.map((p) => ({ x: p.x, y: p.peakAddedMb })),
      ),
    ],
    tenants: [
      curve(
        "workerd: CPU per request",
        "tenants in the answer",
        "ms",
        tenantsWorkerd.map((p) => ({ x: p.x, y: p.cpuMsPerRequest })),
      ),
      curve(
        "workerd: peak memory one request adds",
        "tenants in the answer",
        "MB",
        tenantsWorkerd.map((p) => ({ x: p.x, y: p.peakAddedMb })),
      ),
    ],
    graphql: [
      curve(
        "workerd: CPU per request",
        "document KB",
        "ms",
        graphqlWorkerd.map((p) => ({ x: p.x, y: p.cpuMsPerRequest })),
      ),
      curve(
        "workerd: peak memory one request adds",
        "document KB",
        "MB",
        graphqlWorkerd.map((p) => ({ x: p.x, y: p.peakAddedMb })),
      ),
    ],
    keyTiers: (["memory", "kv", "database"] as const).map((tier) =>
      curve(
        `${tier === "kv" ? "KV" : tier} tier`,
        "stored keys",
        "µs of workerd CPU per request",
        stored.steps.map((s) => ({ x: s.keys, y: s.tiers[tier].cpuUs })),
      ),
    ),
    keyLatency: [
      ...(["memory", "kv", "database"] as const).map((tier) =>
        curve(
          `${tier === "kv" ? "KV" : tier} tier, p50`,
          "stored keys",
          "ms per request (one client)",
          stored.steps.map((s) => ({ x: s.keys, y: s.tiers[tier].p50Ms })),
        ),
      ),
      curve(
        "findKeyByHash from Node",
        "stored keys",
        "ms",
        stored.steps.map((s) => ({ x: s.keys, y: s.queriesMs["key lookup by hash (findKeyByHash)"]! })),
      ),
    ],
    admin: [
      ...Object.keys(stored.steps[0]?.adminMs ?? {}).map((what) =>
        curve(
          what,
          "stored keys (audit events, usage cells alike)",
          "ms per call (one client)",
          stored.steps.map((s) => ({ x: s.keys, y: s.adminMs[what]! })),
        ),
      ),
    ],
    cron: [
      curve(
        "cron run, first at the size (deletes what is past retention)",
        "stored keys (audit events, usage cells alike)",
        "ms",
        stored.steps.map((s) => ({ x: s.keys, y: s.cronMs.first })),
      ),
      curve(
        "cron run, steady",
        "stored keys",
        "ms",
        stored.steps.map((s) => ({ x: s.keys, y: s.cronMs.steady })),
      ),
      ...[
        "cron audit prune (pruneAuditEvents)",
        "cron usage prune, minutes (pruneUsage)",
        "cron revocation prune (pruneRevocations)",
        "cron identity check, whole (storedIdentityCollisions)",
      ].map((what) =>
        curve(
          `${what.replace(/^cron /, "")}, from Node`,
          "stored keys",
          "ms",
          stored.steps.map((s) => ({ x: s.keys, y: s.queriesMs[what]! })),
        ),
      ),
    ],
  };
  const where = `${cpus().length} shared cores, ${LONG ? "long" : "short"} run`;
  const database = /^\S+ [\d.]+/.exec(stored.database)?.[0] ?? stored.database;
  const charts: [string, string, Curve[], ChartOptions][] = [
    [
      "growth-listing-cpu.svg",
      "Conductor listing: CPU against its size",
      c.listingCpu,
      { subtitle: `every answer rewritten (none reused); ${where}`, vlines: [{ x: 8.388608, label: "default bound: 8 MiB" }] },
    ],
    [
      "growth-listing-memory.svg",
      "Conductor listing: peak memory against its size",
      c.listingMemory,
      {
        subtitle: `MAX_UPSTREAM_ANSWER_BYTES raised to 64 MiB to measure past the default; ${where}`,
        lines: [{ y: 128, label: "a Worker isolate: 128 MB" }],
        vlines: [{ x: 8.388608, label: "default bound: 8 MiB" }],
      },
    ],
    [
      "growth-tenants.svg",
      "1,000 definitions over N tenants: the caller's share rewritten",
      c.tenants.slice(0, 1),
      { logX: true, subtitle: where },
    ],
    [
      "growth-graphql.svg",
      "GraphQL guard against the document's size",
      c.graphql.slice(0, 1),
      {
        logX: true,
        logY: true,
        subtitle: `analysis cache off, limits raised; ${where}`,
        vlines: [{ x: 65.536, label: "default bound: 64 KiB" }],
      },
    ],
    [
      "growth-keys.svg",
      "Key lookup: CPU by tier against stored keys",
      c.keyTiers,
      { logX: true, subtitle: `/whoami on workerd; ${where}` },
    ],
    [
      "growth-keys-latency.svg",
      "Key lookup: latency by tier against stored keys",
      c.keyLatency,
      { logX: true, logY: true, subtitle: `one client, loopback; ${database}` },
    ],
    [
      "growth-admin.svg",
      "Admin API list endpoints against table size",
      c.admin,
      { logX: true, logY: true, subtitle: `through the gateway, one client; ${database}` },
    ],
    ["growth-cron.svg", "The cron against table size", c.cron, { logX: true, logY: true, subtitle: `${database}; ${where}` }],
  ];
  for (const [file, title, curves, opts] of charts) writeFileSync(`${OUT_DIR}/${file}`, svgChart(title, curves, opts));
  writeFileSync(
    RESULTS,
    `${JSON.stringify(
      {
        // Redrawing the charts alone keeps when the figures were measured.
        startedAt: measured ? startedAt : (reuse?.startedAt ?? startedAt),
        endedAt: measured ? new Date().toISOString() : (reuse?.endedAt ?? null),
        sections: {
          workerd: wants("workerd") ? startedAt : (reuse?.sections?.workerd ?? null),
          store: wants("store") ? startedAt : (reuse?.sections?.store ?? null),
        },
        long: LONG,
        machine: measured
          ? {
              cpus: cpus().length,
              node: process.version,
              loadAvgAtStart: load0,
              loadAvgAtEnd: readFileSync("/proc/loadavg", "utf8").trim(),
            }
          : reuse?.machine,
        database: stored.database,
        listing: { workerd: listingWorkerd },
        tenants: tenantsWorkerd,
        graphql: { workerd: graphqlWorkerd, shapes },
        store: stored.steps,
        explained: stored.explained,
        curves: Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.map((x) => ({ ...x, summary: describeCurve(x) }))])),
      },
      null,
      2,
    )}\n`,
  );
  for (const group of Object.values(c)) for (const x of group) console.log(describeCurve(x));
  for (const s of shapes) console.log(`graphql shape ${s.name}: ${s.bytes} bytes, ${s.status}, ${s.cpuUs} µs workerd CPU`);
  for (const e of stored.explained)
    console.log(`${e.what} at ${e.rows} rows: ${e.usesIndex ? "index" : "no index"}${e.seqScan ? ", SEQ SCAN" : ""}, ${e.executionMs} ms`);
  for (const s of stored.steps as StoreStep[])
    console.log(`${s.keys} keys: admin ${JSON.stringify(s.adminMs)} cron ${JSON.stringify(s.cronMs)}`);
  console.log(`charts in ${OUT_DIR}, figures in bench/results/growth.json`);
}

/** The default GraphQL limits, as variables (the shapes are measured against them). */
function defaultLimits(): Record<string, string> {
  return {
    MAX_BODY_BYTES: String(1_048_576),
    GRAPHQL_MAX_DOCUMENT_BYTES: String(DEFAULT_GRAPHQL_LIMITS.maxDocumentBytes),
    GRAPHQL_MAX_TOKENS: String(DEFAULT_GRAPHQL_LIMITS.maxTokens),
    GRAPHQL_MAX_ALIASES: String(DEFAULT_GRAPHQL_LIMITS.maxAliases),
    GRAPHQL_MAX_COST: String(DEFAULT_GRAPHQL_LIMITS.maxCost),
  };
}

/** One workerd point in a runtime of its own. */
async function pointWith(
  script: string,
  common: Record<string, string>,
  bindings: Record<string, string>,
  gatewayUrl: { current: string },
  p: {
    warm: () => void;
    target: () => void;
    req: () => Promise<{ status: number; bytes: number; ms: number }>;
    cpuBudgetMs: number;
    x: number;
  },
): Promise<WorkerdPoint> {
  const gateway = await startGateway(script, { ...common, ...bindings });
  gatewayUrl.current = gateway.url;
  try {
    const figures = await measurePoint(
      gateway,
      async () => {
        p.warm();
        await p.req();
      },
      async () => {
        p.target();
        return p.req();
      },
      p.cpuBudgetMs,
    );
    return { x: p.x, ...figures };
  } finally {
    await gateway.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
