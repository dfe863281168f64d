/**
 * How cost grows with the work: `npx tsx bench/growth.ts` (short, a few minutes on an idle machine) or
 * `GROWTH_LONG=1 npx tsx bench/growth.ts` (the full ranges). Writes bench/results/growth.json and one SVG per
 * curve in docs/images/ (bench/results/ with GROWTH_OUT=results), which docs/benchmarks.md shows.
 *
 * - The Conductor listing rewrite (the real `ConductorUpstream.listRewritten`, bench/growthListing.ts), each size in
 *   a process of its own: CPU per rewrite and peak memory against the answer's size (0.1 to 30 MB), and against the
 *   number of tenants whose definitions one answer of 1,000 holds.
 * - The GraphQL guard (read, parse, decide, uncached) against the document's size, and the worst shapes
 *   (bench/graphqlShapes.ts) at each size bound.
 * - Key lookup against stored keys (1k to 1M rows, inserted with generate_series into the local database, PGlite or
 *   GROWTH_DATABASE_URL): the database tier's time per lookup (the memory and KV tiers do not depend on the number of
 *   keys: a map look-up and one KV read), and EXPLAIN ANALYZE of the lookup, of the admin API's key and audit
 *   listings, and of the cron's audit purge, captured from the store's own functions (a logging drizzle), so the
 *   plans are those of the queries the gateway sends.
 *
 * Each curve is fitted to a line (least squares); the report says its slope, its R², and where it bends (the first
 * point more than 25% off the line through the points before it).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { DEFAULT_GRAPHQL_LIMITS } from "../src/constants.ts";
import { schema } from "../src/db/schema.ts";
import { decidePrefectRequest } from "../src/engines/prefect/decide.ts";
import { readTransport } from "../src/engines/prefect/transport.ts";
import type { ScopePattern } from "../src/formats/scopes.ts";
import { listAuditEvents, pruneAuditEvents } from "../src/store/audit.ts";
import { findKeyByHash, listKeys } from "../src/store/keys.ts";
import { startLocalDatabase, type LocalDatabase } from "../scripts/local-db.ts";
import { graphqlBody } from "./fixtures.ts";
import { graphqlShapes } from "./graphqlShapes.ts";
import type { ListingFigures } from "./growthListing.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LONG = process.env.GROWTH_LONG === "1";
const OUT_DIR = process.env.GROWTH_OUT === "results" ? `${ROOT}bench/results` : `${ROOT}docs/images`;
/** Bytes of one definition of bench/fixtures.ts `conductorWorkflowDef` (6 tasks), for sizes in MB. */
const DEFINITION_BYTES = 2_868;

export interface Point {
  x: number;
  y: number;
}

export interface Curve {
  name: string;
  xLabel: string;
  yLabel: string;
  points: Point[];
  /** Least-squares line through the points: y = slope·x + intercept. */
  slope: number;
  intercept: number;
  r2: number;
  /** The first x more than 25% off the line through the points before it (null: none; linear over the range). */
  bendsAt: number | null;
}

export function fitLine(points: Point[]): { slope: number; intercept: number; r2: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, intercept: points[0]?.y ?? 0, r2: 1 };
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  const ssTot = points.reduce((a, p) => a + (p.y - my) ** 2, 0);
  const ssRes = points.reduce((a, p) => a + (p.y - (slope * p.x + intercept)) ** 2, 0);
  return { slope, intercept, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot };
}

export function curve(name: string, xLabel: string, yLabel: string, points: Point[]): Curve {
  let bendsAt: number | null = null;
  for (let i = 3; i < points.length && bendsAt === null; i++) {
    const before = fitLine(points.slice(0, i));
    const expected = before.slope * points[i]!.x + before.intercept;
    if (expected > 0 && Math.abs(points[i]!.y - expected) / expected > 0.25) bendsAt = points[i]!.x;
  }
  return { name, xLabel, yLabel, points, ...fitLine(points), bendsAt };
}

/** A line chart of one or more curves sharing their axes, as SVG text (no dependency: plain elements). */
export function svgChart(title: string, curves: Curve[], opts: { logX?: boolean } = {}): string {
  const W = 640;
  const H = 360;
  const L = 70;
  const R = 20;
  const T = 40;
  const B = 50;
  const all = curves.flatMap((c) => c.points);
  const fx = (x: number) => (opts.logX ? Math.log10(Math.max(x, 1e-9)) : x);
  const xs = all.map((p) => fx(p.x));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1e-9);
  const y1 = Math.max(...all.map((p) => p.y), 1e-9) * 1.1;
  const px = (x: number) => L + ((fx(x) - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => H - B - (y / y1) * (H - T - B);
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">${esc(curves[0]?.xLabel ?? "")}${opts.logX ? " (log scale)" : ""}</text>`,
    `<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">${esc(curves[0]?.yLabel ?? "")}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (y1 * i) / 4;
    parts.push(`<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${Number(y.toPrecision(3))}</text>`);
    parts.push(`<line x1="${L}" y1="${py(y)}" x2="${W - R}" y2="${py(y)}" stroke="#ddd"/>`);
  }
  for (const p of [...new Set(all.map((q) => q.x))].sort((a, b) => a - b)) {
    parts.push(`<text x="${px(p)}" y="${H - B + 16}" text-anchor="middle">${Number(p.toPrecision(3))}</text>`);
  }
  curves.forEach((c, i) => {
    const colour = colours[i % colours.length]!;
    const pts = [...c.points].sort((a, b) => a.x - b.x);
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(" ")}"/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3" fill="${colour}"/>`);
    parts.push(`<text x="${L + 10}" y="${T + 14 + i * 16}" fill="${colour}">${esc(c.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** One rewrite in a process of its own (bench/growthListing.ts), the bound raised so the rewrite itself is measured. */
function listingRun(definitions: number, tenants: number, maxBytes = 1 << 30): ListingFigures {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "--expose-gc", `${ROOT}bench/growthListing.ts`, String(definitions), String(tenants), String(maxBytes)],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as ListingFigures;
}

function listingCurves(): { curves: Curve[]; runs: ListingFigures[] } {
  const sizesMb = LONG ? [0.1, 0.5, 1, 2, 5, 8, 10, 20, 30] : [0.1, 1, 5];
  const runs = sizesMb.map((mb) => listingRun(Math.max(1, Math.round((mb * 1_000_000) / DEFINITION_BYTES)), 1));
  const mb = (r: ListingFigures) => r.answerBytes / 1_000_000;
  return {
    runs,
    curves: [
      curve(
        "CPU per rewrite",
        "listing MB",
        "ms",
        runs.map((r) => ({ x: mb(r), y: r.cpuUs / 1000 })),
      ),
      curve(
        "V8 heap peak",
        "listing MB",
        "MB",
        runs.map((r) => ({ x: mb(r), y: r.heapPeakBytes / 1_000_000 })),
      ),
      curve(
        "heap peak + answer and output bytes",
        "listing MB",
        "MB",
        runs.map((r) => ({ x: mb(r), y: (r.heapPeakBytes + r.answerBytes + r.outputBytes) / 1_000_000 })),
      ),
    ],
  };
}

function tenantCurves(): { curves: Curve[]; runs: ListingFigures[] } {
  const counts = LONG ? [1, 10, 100, 1_000] : [1, 100];
  const runs = counts.map((t) => listingRun(1_000, t));
  return {
    runs,
    curves: [
      curve(
        "CPU per rewrite (1,000 definitions)",
        "tenants in the answer",
        "ms",
        runs.map((r) => ({ x: r.tenants, y: r.cpuUs / 1000 })),
      ),
      curve(
        "heap peak",
        "tenants in the answer",
        "MB",
        runs.map((r) => ({ x: r.tenants, y: r.heapPeakBytes / 1_000_000 })),
      ),
    ],
  };
}

/** Median µs of `once` over `calls` calls, after a warm-up. */
function medianUs(calls: number, once: () => unknown): number {
  for (let i = 0; i < Math.min(20, calls); i++) once();
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    once();
    samples.push((performance.now() - t0) * 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function graphqlCurves(): { curves: Curve[]; shapes: { name: string; bytes: number; us: number }[] } {
  const scopes = ["query/*"] as ScopePattern[];
  const limits = { ...DEFAULT_GRAPHQL_LIMITS, maxDocumentBytes: 10 * 1_048_576, maxTokens: 1_000_000 };
  const sizes = LONG ? [1_000, 10_000, 50_000, 100_000, 500_000, 1_000_000] : [1_000, 10_000, 100_000];
  const points = sizes.map((bytes) => {
    const body = graphqlBody(bytes);
    // The route's one decision function (src/engines/prefect/decide.ts), single-tenant: read, parse, decide.
    const guard = () =>
      decidePrefectRequest(
        { method: "POST", contentType: "application/json", body, params: new URLSearchParams() },
        { scopes, isolatedTenantId: null },
        limits,
      );
    return { x: bytes / 1000, y: medianUs(bytes > 200_000 ? 20 : 200, guard) };
  });
  const shapes = graphqlShapes().map((s) => {
    const body = JSON.stringify({ query: s.query, operationName: s.operationName });
    const request = { method: "POST", contentType: "application/json", body, params: new URLSearchParams() };
    return {
      name: s.name,
      bytes: s.query.length,
      us: medianUs(50, () => decidePrefectRequest(request, { scopes, isolatedTenantId: null }, DEFAULT_GRAPHQL_LIMITS)),
    };
  });
  return { curves: [curve("GraphQL guard (uncached)", "document KB", "µs per request", points)], shapes };
}

interface Explained {
  what: string;
  rows: number;
  sql: string;
  plan: string[];
  /** The plan uses an index (an Index Scan, Index Only Scan or Bitmap Index Scan), not only a Seq Scan. */
  usesIndex: boolean;
}

async function databaseCurves(): Promise<{ curves: Curve[]; explained: Explained[] }> {
  const rowCounts = LONG ? [1_000, 10_000, 100_000, 1_000_000] : [1_000, 10_000];
  const tenantCount = LONG ? 10_000 : 100;
  let local: LocalDatabase | null = null;
  const url = process.env.GROWTH_DATABASE_URL ?? (local = await startLocalDatabase()).nodeDatabaseUrl;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const captured: { query: string; params: unknown[] }[] = [];
  const db = drizzle(client, { schema, logger: { logQuery: (query, params) => void captured.push({ query, params }) } });
  const lookup: Point[] = [];
  const explained: Explained[] = [];
  const explain = async (what: string, rows: number, run: () => Promise<unknown>, analyze = true) => {
    captured.length = 0;
    await client.query("BEGIN");
    try {
      await run();
      const q = captured.at(-1)!;
      const plan = await client.query(`EXPLAIN (${analyze ? "ANALYZE, " : ""}COSTS OFF) ${q.query}`, q.params as unknown[]);
      const lines = plan.rows.map((r: Record<string, string>) => r["QUERY PLAN"]!);
      explained.push({
        what,
        rows,
        sql: q.query,
        plan: lines,
        usesIndex: lines.some((l) => /Index (Only )?Scan|Bitmap Index Scan/.test(l)),
      });
    } finally {
      await client.query("ROLLBACK");
    }
  };
  try {
    await client.query(`INSERT INTO tenants(name) SELECT 'GROWTH' || g FROM generate_series(1, ${tenantCount}) g ON CONFLICT DO NOTHING`);
    let stored = 0;
    for (const n of rowCounts) {
      await client.query(
        `INSERT INTO api_keys(id, prefix, secret_hash, tenant, subject, created_by, created_at)
         SELECT 'growth' || g, 'fgk_growth' || g, encode(sha256(('growth-key-' || g)::bytea), 'hex'),
                'GROWTH' || (g % ${tenantCount} + 1), 'user-' || (g % 5000), 'bench', now() - (g || ' seconds')::interval
         FROM generate_series($1::int, $2::int) g`,
        [stored + 1, n],
      );
      await client.query(
        `INSERT INTO audit_events(at, action, decision, actor_subject, tenant, target)
         SELECT now() - (g || ' minutes')::interval, 'key.create', 'done', 'user-' || (g % 5000), 'GROWTH' || (g % ${tenantCount} + 1), 'growth' || g
         FROM generate_series($1::int, $2::int) g`,
        [stored + 1, n],
      );
      stored = n;
      await client.query("ANALYZE api_keys; ANALYZE audit_events");
      const hashes = (
        await client.query(`SELECT encode(sha256(('growth-key-' || g)::bytea), 'hex') AS h FROM generate_series(1, 200) g`)
      ).rows.map((r: { h: string }) => r.h);
      const t0 = performance.now();
      for (const h of hashes) await findKeyByHash(db, h);
      lookup.push({ x: n, y: ((performance.now() - t0) * 1000) / hashes.length });
      await explain("key lookup by hash (findKeyByHash)", n, () => findKeyByHash(db, hashes[0]!));
      await explain("admin key list, one tenant (listKeys)", n, () => listKeys(db, { tenant: "GROWTH7", limit: 100, offset: 0 }));
      await explain("admin key list, all (listKeys)", n, () => listKeys(db, { limit: 100, offset: 0 }));
      await explain("admin audit list, one action (listAuditEvents)", n, () =>
        listAuditEvents(db, { action: "key.create", limit: 100, offset: 0 }),
      );
      await explain("cron audit purge (pruneAuditEvents)", n, () => pruneAuditEvents(db, new Date(Date.now() - 90 * 86_400_000)));
    }
  } finally {
    await client.end();
    await local?.close();
  }
  return {
    curves: [curve("key lookup, database tier (round trip to the local database included)", "stored keys", "µs per lookup", lookup)],
    explained,
  };
}

const describeCurve = (c: Curve) =>
  `${c.name}: ${c.slope.toPrecision(3)} ${c.yLabel} per ${c.xLabel}, R² ${c.r2.toFixed(3)}, ${c.bendsAt === null ? "linear over the range" : `bends at ${c.bendsAt}`}`;

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(OUT_DIR, { recursive: true });
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  const listing = listingCurves();
  const tenants = tenantCurves();
  const graphql = graphqlCurves();
  const database = await databaseCurves();
  const charts: [string, string, Curve[], boolean][] = [
    ["growth-listing-cpu.svg", "Conductor listing rewrite: CPU", listing.curves.slice(0, 1), false],
    ["growth-listing-memory.svg", "Conductor listing rewrite: peak memory", listing.curves.slice(1), false],
    ["growth-tenants.svg", "1,000 definitions over N tenants", tenants.curves, true],
    ["growth-graphql.svg", "GraphQL guard against document size", graphql.curves, true],
    ["growth-keys.svg", "Key lookup against stored keys", database.curves, true],
  ];
  for (const [file, title, curves, logX] of charts) writeFileSync(`${OUT_DIR}/${file}`, svgChart(title, curves, { logX }));
  const all = [...listing.curves, ...tenants.curves, ...graphql.curves, ...database.curves];
  writeFileSync(
    `${ROOT}bench/results/growth.json`,
    JSON.stringify({ at: new Date().toISOString(), long: LONG, listing, tenants, graphql, database }, null, 2),
  );
  for (const c of all) console.log(describeCurve(c));
  for (const s of graphql.shapes) console.log(`graphql shape ${s.name}: ${s.bytes} bytes, ${Math.round(s.us)} µs`);
  for (const e of database.explained) console.log(`${e.what} at ${e.rows} rows: ${e.usesIndex ? "index" : "NO INDEX"}: ${e.plan[0]}`);
  console.log(`charts in ${OUT_DIR}, figures in bench/results/growth.json`);
}
