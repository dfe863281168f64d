/**
 * `npm run bench -- latency` (`latency long` for more samples): what each kind of request waits for when KV, the
 * database and the rate-limit counters are as far away as in production. p50 and p99 per kind (the kinds of the
 * round-trip table, docs/benchmarks.md "Round trips before the upstream"), once with nothing delayed and once with
 * the production latencies simulated:
 * - the database (1 round trip = LATENCY_DB_MS, 20) and the identity provider's JWKS (LATENCY_JWKS_MS, 20) on their
 *   real sockets, through a relay that holds each chunk half a round trip in each direction (bench/latency/relay.ts):
 *   the kernel's `netem` would do it on a network namespace's link, but the machine this runs on has none
 *   (`tc qdisc ... netem` answers "Specified qdisc kind is unknown": CONFIG_NET_SCH_NETEM unset, no modules), and the
 *   bench says which it used;
 * - KV (LATENCY_KV_MS, 1) and the Durable Objects (LATENCY_DO_MS, 20), which live inside workerd with no socket of
 *   their own: delayed where the Worker calls them, by the bench's entry around the unchanged gateway
 *   (bench/latency/worker.ts). That is a simulation, said so in the results.
 * One client, one request at a time (each kind's samples in a row), against the gateway on workerd with
 * Miniflare's KV and Durable Objects and the real database path; a stand-in upstream on loopback answers at once.
 * "New isolate" kinds drop the isolate's caches first, as the round-trip test does.
 *
 * p99 is given raw (each request's own latency) and corrected as wrk corrects it (bench/drive.ts): every sample
 * slower than the kind's mean interval adds the samples a constant-rate client would have seen while it waited.
 * LATENCY_DATABASE_URL: a PostgreSQL server (a scratch database is made on it and dropped) instead of PGlite.
 * Writes bench/results/latency.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { cpus } from "node:os";
import { drizzle } from "drizzle-orm/node-postgres";
import { build } from "esbuild";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import pg from "pg";
import { createScratchDatabase, startLocalDatabase } from "../scripts/local-db.ts";
import { startRuntime } from "../scripts/worker-runtime.ts";
import { schema } from "../src/db/schema.ts";
import { hashApiKey } from "../src/formats/apiKey.ts";
import { cookieNamesFor, newSession, sealSession } from "../src/identity/session.ts";
import { createKey } from "../src/store/keys.ts";
import { workflowDefListing } from "./fixtures.ts";
import { startRelay } from "./latency/relay.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LONG = process.env.LATENCY_LONG === "1";
const SAMPLES = Number(process.env.LATENCY_SAMPLES ?? (LONG ? 400 : 100));
const DELAYS = {
  kv: Number(process.env.LATENCY_KV_MS ?? 1),
  database: Number(process.env.LATENCY_DB_MS ?? 20),
  durableObject: Number(process.env.LATENCY_DO_MS ?? 20),
  jwks: Number(process.env.LATENCY_JWKS_MS ?? 20),
};
const log = (m: string) => process.stderr.write(`${m}\n`);

/** Whether the kernel can delay a link with `netem` (tried on a namespace of the bench's own, removed after). */
function netemCheck(): { available: boolean; why: string } {
  const ns = `flowgate-bench-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", ns], { stdio: "pipe" });
  } catch (e) {
    return { available: false, why: `ip netns add: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}` };
  }
  try {
    execFileSync("ip", ["netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], { stdio: "pipe" });
    return { available: true, why: "netem available" };
  } catch (e) {
    return { available: false, why: `tc qdisc add ... netem: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}` };
  } finally {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return (server.address() as { port: number }).port;
}

interface Sample {
  path: string;
  method?: string;
  headers: Record<string, string>;
  body?: string;
}

interface Kind {
  name: string;
  /** The sequential chain the round-trip test counts for this kind (docs/benchmarks.md). */
  chain: ("kv" | "database" | "durable-object" | "jwks")[];
  /** Sent once before the samples (warms what the kind needs warm). */
  warm?: () => Sample;
  sample: (i: number) => Sample;
  /** Pause after each sample (its fills behind the answer settle before the next). */
  settleMs?: number;
}

export interface KindFigures {
  name: string;
  chain: string[];
  samples: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  /** wrk's correction (bench/drive.ts), with the kind's mean latency as the interval. */
  p99CorrectedMs: number;
  meanMs: number;
  maxMs: number;
}

const round = (x: number) => Math.round(x * 100) / 100;
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** HdrHistogram's recordValueWithExpectedInterval over the samples (what wrk's corrected percentiles use). */
function corrected(samples: number[], interval: number): number[] {
  const out: number[] = [];
  for (const v of samples) {
    out.push(v);
    if (interval > 0) for (let missing = v - interval; missing >= interval; missing -= interval) out.push(missing);
  }
  return out.sort((a, b) => a - b);
}

/** One request; a GraphQL answer that carries `errors` (Prefect answers them with 200) is counted apart. */
async function send(url: string, s: Sample): Promise<{ status: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url + s.path, { method: s.method ?? (s.body ? "POST" : "GET"), headers: s.headers, body: s.body });
  const text = await res.text();
  const ms = performance.now() - t0;
  return { status: res.status === 200 && text.startsWith('{"errors"') ? "200 errors" : String(res.status), ms };
}

function figures(k: Kind, times: number[], statuses: Record<string, number>): KindFigures {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    name: k.name,
    chain: k.chain,
    samples: times.length,
    statuses,
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    p99CorrectedMs: round(percentile(corrected(times, mean), 0.99)),
    meanMs: round(mean),
    maxMs: round(sorted.at(-1)!),
  };
}

/**
 * The kinds on both runtimes at once, sample by sample (the order alternating), so whatever else the machine does
 * meanwhile falls on both alike: the difference between them is what the latency adds.
 */
async function runPaired(urls: [string, string], kinds: [Kind[], Kind[]]): Promise<[KindFigures[], KindFigures[]]> {
  const out: [KindFigures[], KindFigures[]] = [[], []];
  for (let k = 0; k < kinds[0].length; k++) {
    const pair = [kinds[0][k]!, kinds[1][k]!] as const;
    for (const side of [0, 1] as const) {
      const warm = pair[side].warm;
      if (warm) {
        const w = await send(urls[side], warm());
        if (w.status !== "200") throw new Error(`${pair[side].name}: warm-up answered ${w.status}`);
      }
    }
    const times: [number[], number[]] = [[], []];
    const statuses: [Record<string, number>, Record<string, number>] = [{}, {}];
    for (let i = 0; i < SAMPLES; i++) {
      for (const side of i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        const r = await send(urls[side], pair[side].sample(i));
        statuses[side][r.status] = (statuses[side][r.status] ?? 0) + 1;
        times[side].push(r.ms);
        if (pair[side].settleMs) await new Promise((res) => setTimeout(res, pair[side].settleMs));
      }
    }
    for (const side of [0, 1] as const) out[side].push(figures(pair[side], times[side], statuses[side]));
    const [off, on] = [out[0].at(-1)!, out[1].at(-1)!];
    log(`  ${pair[0].name}: p50 ${off.p50Ms} -> ${on.p50Ms} ms, p99 ${off.p99Ms} -> ${on.p99Ms} ms ${JSON.stringify(on.statuses)}`);
  }
  return out;
}

/** What the chain alone should add, ms: KV and Durable Objects one round trip a call; a database session three. */
function modelled(chain: Kind["chain"]): number {
  // A database session here: the WebSocket upgrade, the start-up (authentication), the query (the driver's
  // pipelined connect is off for the local bridge); each one round trip across the relay.
  const per = { kv: DELAYS.kv, database: 3 * DELAYS.database, "durable-object": DELAYS.durableObject, jwks: DELAYS.jwks };
  return chain.reduce((a, d) => a + per[d], 0);
}

async function main() {
  const netem = netemCheck();
  log(`netem: ${netem.why}${netem.available ? "" : "; delaying the database's and the JWKS's sockets with the bench's relay"}`);
  const startedAt = new Date().toISOString();
  const outfile = `${ROOT}bench/.build/latency/index.js`;
  await build({
    entryPoints: [`${ROOT}bench/latency/worker.ts`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["node:*", "cloudflare:*"],
    outfile,
    logLevel: "warning",
  });

  const serverUrl = process.env.LATENCY_DATABASE_URL;
  const scratch = serverUrl ? await createScratchDatabase(serverUrl, "latency") : null;
  const db = await startLocalDatabase(scratch ? { databaseUrl: scratch.url } : {});
  const client = new pg.Client({ connectionString: db.nodeDatabaseUrl });
  await client.connect();
  const store = drizzle(client, { schema });
  const key = (subject: string, extra: Partial<Parameters<typeof createKey>[1]> = {}) =>
    createKey(store, { tenant: "bench", subject, scopes: ["query/*", "mutation/create_flow_run"], createdBy: "bench", ...extra });
  log(`creating ${6 * SAMPLES + 4} keys...`);
  const warmKey = (await key("latency-warm")).key;
  const limited = await key("latency-limited");
  const admin = (await key("latency-admin", { admin: true, scopes: [] })).key;
  const conductorKey = (await key("latency-conductor", { scopes: ["conductor"], roles: ["OWNER"] })).key;
  const fresh = async (label: string) => {
    const out: string[] = [];
    for (let i = 0; i < SAMPLES; i++)
      out.push((await key(`latency-${label}-${i}`, label.startsWith("listing") ? { scopes: ["conductor"], roles: ["OWNER"] } : {})).key);
    return out;
  };
  const freshSets = {
    warm: await fresh("first-warm"),
    cold: await fresh("first-cold"),
    session: await fresh("session"),
    sessionCold: await fresh("session-cold"),
    listing: await fresh("listing"),
    listingCold: await fresh("listing-cold"),
  };
  await client.end();

  // The stand-in upstream (answers at once), the identity provider's JWKS, and the relays.
  const listing = workflowDefListing(100);
  const upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const body = req.url?.startsWith("/api/metadata/workflow") ? listing : '{"data":{"flow":[]}}';
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
  });
  const upstreamUrl = `http://127.0.0.1:${await listen(upstream)}`;
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: "latency-1", alg: "RS256", use: "sig" };
  const jwksServer = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  const jwksPort = await listen(jwksServer);
  const wsPort = Number(db.wsProxy.split(":").pop());
  const dbRelay = await startRelay({ host: "127.0.0.1", port: wsPort }, DELAYS.database / 2);
  const jwksRelay = await startRelay({ host: "127.0.0.1", port: jwksPort }, DELAYS.jwks / 2);

  const sessionSecret = "latency-bench-session-secret-0123456789abcdef";
  const sessionConfig = { secrets: [sessionSecret], idleTtlS: 900, maxTtlS: 28_800, keyExchange: true };
  const sessionFor = async (k: string) => {
    const claims = newSession(
      { src: "key", sub: "latency-session", keyHash: hashApiKey(k), roles: [], groups: [], scopes: ["query/*"] },
      sessionConfig,
      Date.now() / 1000,
    );
    return { value: await sealSession(claims, sessionConfig), csrf: claims.csrf };
  };
  const sessions = await Promise.all(freshSets.session.map(sessionFor));
  const sessionsCold = await Promise.all(freshSets.sessionCold.map(sessionFor));
  const warmSession = await sessionFor(warmKey);
  const jwt = (i: number) =>
    new SignJWT({ sub: `latency-jwt-${i}`, scope: "query/*", jti: `latency-${process.pid}-${i}-${Math.random()}` })
      .setProtectedHeader({ alg: "RS256", kid: "latency-1" })
      .setExpirationTime("2h")
      .sign(rsa.privateKey);
  const jwtsFirst: string[] = [];
  for (let i = 0; i < 2 * SAMPLES; i++) jwtsFirst.push(await jwt(i));
  const jwtWarm = await jwt(-1);

  /** A runtime of the bench's Worker: with the production latencies (`delayed`), or without. */
  const start = async (delayed: boolean) => {
    const runtime = await startRuntime({
      scriptPath: outfile,
      port: 0,
      compatibilityDate: "2026-04-20",
      onStdout: () => {},
      onStderr: (l) => {
        if (!/Connection reset by peer|^stack: |Broken pipe/.test(l)) process.stderr.write(`[workerd] ${l}\n`);
      },
      bindings: {
        DATABASE_URL: db.workerDatabaseUrl,
        DB_WS_PROXY: delayed ? `127.0.0.1:${dbRelay.port}` : db.wsProxy,
        LOG_LEVEL: "error",
        PREFECT_GRAPHQL_URL: `${upstreamUrl}/graphql`,
        TENANT_ID: "6f0c2b8e-1d3a-4c5e-9f7a-2b4c6d8e0f12",
        CONDUCTOR_URL: upstreamUrl,
        JWT_JWKS_URL: `http://127.0.0.1:${delayed ? jwksRelay.port : jwksPort}/jwks/warm.json`,
        SESSION_SECRETS: sessionSecret,
        BENCH_KV_DELAY_MS: String(delayed ? DELAYS.kv : 0),
        BENCH_DO_DELAY_MS: String(delayed ? DELAYS.durableObject : 0),
      },
    });
    const limit = await fetch(`${runtime.url}/admin/limits`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "key", target: limited.row.id, routeGroup: "prefect", rate: { limit: 100_000, windowS: 60 } }),
    });
    if (limit.status !== 201 && limit.status !== 200) throw new Error(`limit: ${limit.status} ${await limit.text()}`);
    return runtime;
  };

  /** The kinds as sent to the runtime at `url`. */
  const kindsFor = (url: string, delayed: boolean): Kind[] => {
    const origin = new URL(url).origin;
    const cookieName = cookieNamesFor(new URL(url))!.session;
    const jwksBase = `http://127.0.0.1:${delayed ? jwksRelay.port : jwksPort}/jwks`;
    const FLOWS = JSON.stringify({ query: "query Flows { flow(limit: 1) { id } }" });
    const MUTATION = JSON.stringify({ query: 'mutation Run { create_flow_run(input: {flow_id: "f1"}) { id } }' });
    const gql = (headers: Record<string, string>, body = FLOWS): Sample => ({
      path: "/prefect/graphql",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const byKey = (k: string, extra: Record<string, string> = {}) => gql({ authorization: `Bearer ${k}`, ...extra });
    const bySession = (s: { value: string; csrf: string }) => gql({ cookie: `${cookieName}=${s.value}`, origin, "x-csrf-token": s.csrf });
    const listingBy = (k: string): Sample => ({ path: "/conductor/api/metadata/workflow", headers: { authorization: `Bearer ${k}` } });
    const settleMs = 2 * DELAYS.database + 20;
    return [
      { name: "API key, memory hit", chain: [], warm: () => byKey(warmKey), sample: () => byKey(warmKey) },
      { name: "API key, KV hit", chain: ["kv"], warm: () => byKey(warmKey), sample: () => byKey(warmKey, { "x-bench-forget": "keys" }) },
      {
        name: "API key, first use anywhere (warm isolate)",
        chain: ["kv", "database"],
        warm: () => byKey(warmKey),
        sample: (i) => byKey(freshSets.warm[i]!),
        settleMs,
      },
      {
        name: "API key, KV hit, new isolate",
        chain: ["kv", "kv"],
        sample: () => byKey(warmKey, { "x-bench-forget": "isolate" }),
      },
      {
        name: "API key, first use anywhere, new isolate",
        chain: ["kv", "kv", "database"],
        sample: (i) => byKey(freshSets.cold[i]!, { "x-bench-forget": "isolate" }),
        settleMs,
      },
      {
        name: "JWT, first use (JWKS fetch)",
        chain: ["jwks", "kv"],
        warm: () => byKey(warmKey),
        sample: (i) => gql({ authorization: `Bearer ${jwtsFirst[i]}`, "x-bench-jwks": `${jwksBase}/${delayed ? "d" : "n"}${i}.json` }),
      },
      {
        name: "JWT, first use, new isolate",
        chain: ["kv", "jwks", "kv"],
        sample: (i) =>
          gql({
            authorization: `Bearer ${jwtsFirst[SAMPLES + i]}`,
            "x-bench-jwks": `${jwksBase}/${delayed ? "dc" : "nc"}${i}.json`,
            "x-bench-forget": "isolate",
          }),
      },
      {
        name: "JWT, cached keys and revocation",
        chain: [],
        warm: () => gql({ authorization: `Bearer ${jwtWarm}` }),
        sample: () => gql({ authorization: `Bearer ${jwtWarm}` }),
      },
      {
        name: "Browser session from a key, first use anywhere",
        chain: ["kv", "database"],
        warm: () => byKey(warmKey),
        sample: (i) => bySession(sessions[i]!),
        settleMs,
      },
      {
        name: "Browser session from a key, first use anywhere, new isolate",
        chain: ["kv", "kv", "database"],
        sample: (i) => ({
          ...bySession(sessionsCold[i]!),
          headers: { ...bySession(sessionsCold[i]!).headers, "x-bench-forget": "isolate" },
        }),
        settleMs,
      },
      { name: "Browser session, warm", chain: [], warm: () => bySession(warmSession), sample: () => bySession(warmSession) },
      {
        name: "Rate-limited key, warm (lease held)",
        chain: [],
        warm: () => byKey(limited.key),
        sample: () => byKey(limited.key),
      },
      {
        name: "Rate-limited key, lease spent or older than RATE_LEASE_TTL_MS",
        chain: ["durable-object"],
        warm: () => byKey(limited.key),
        sample: () => byKey(limited.key, { "x-bench-forget": "leases" }),
      },
      {
        name: "Rate-limited key, limit table not in memory (after a purge)",
        chain: ["kv", "durable-object"],
        warm: () => byKey(limited.key),
        sample: () => byKey(limited.key, { "x-bench-forget": "limits" }),
      },
      {
        name: "Rate-limited key, KV hit, new isolate",
        chain: ["kv", "kv", "durable-object"],
        warm: () => byKey(limited.key),
        sample: () => byKey(limited.key, { "x-bench-forget": "isolate" }),
      },
      {
        name: "Audited write (Prefect mutation), warm key",
        chain: [],
        warm: () => byKey(warmKey),
        sample: () => gql({ authorization: `Bearer ${warmKey}` }, MUTATION),
        settleMs: 5,
      },
      {
        name: "Conductor listing, first use of the key",
        chain: ["kv", "database"],
        warm: () => listingBy(conductorKey),
        sample: (i) => listingBy(freshSets.listing[i]!),
        settleMs,
      },
      {
        name: "Conductor listing, first use of the key, new isolate",
        chain: ["kv", "kv", "database"],
        sample: (i) => {
          const l = listingBy(freshSets.listingCold[i]!);
          return { ...l, headers: { ...l.headers, "x-bench-forget": "isolate" } };
        },
        settleMs,
      },
      { name: "Conductor listing, warm", chain: [], warm: () => listingBy(conductorKey), sample: () => listingBy(conductorKey) },
    ];
  };

  log(
    `without added latency, and with it (KV ${DELAYS.kv} ms, database ${DELAYS.database} ms, Durable Objects ${DELAYS.durableObject} ms, JWKS ${DELAYS.jwks} ms a round trip), paired:`,
  );
  const runtimes = [await start(false), await start(true)] as const;
  let off: KindFigures[];
  let on: KindFigures[];
  try {
    [off, on] = await runPaired([runtimes[0].url, runtimes[1].url], [kindsFor(runtimes[0].url, false), kindsFor(runtimes[1].url, true)]);
  } finally {
    for (const r of runtimes) await r.mf.dispose();
  }
  await dbRelay.close();
  await jwksRelay.close();
  await new Promise((r) => upstream.close(r));
  await new Promise((r) => jwksServer.close(r));
  await db.close();
  await scratch?.drop();

  const rows = on.map((k, i) => ({
    kind: k.name,
    chain: k.chain,
    modelledAddedMs: modelled(k.chain as Kind["chain"]),
    without: { p50Ms: off[i]!.p50Ms, p99Ms: off[i]!.p99Ms },
    with: k,
    addedP50Ms: round(k.p50Ms - off[i]!.p50Ms),
  }));
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(
    `${ROOT}bench/results/latency.json`,
    `${JSON.stringify(
      {
        startedAt,
        endedAt: new Date().toISOString(),
        samplesPerKind: SAMPLES,
        delays: DELAYS,
        how: {
          database: netem.available ? "netem available but not used: the relay" : "relay on the WebSocket socket (no netem in this kernel)",
          jwks: "relay on the HTTP socket",
          kv: "simulated: a delay around each KV call inside the Worker (bench/latency/worker.ts)",
          durableObject: "simulated: a delay around each counter call inside the Worker",
          netem: netem.why,
        },
        machine: {
          cpus: cpus().length,
          node: process.version,
          loadavg: (await import("node:fs")).readFileSync("/proc/loadavg", "utf8").trim(),
        },
        database: scratch ? "PostgreSQL (LATENCY_DATABASE_URL)" : "PGlite",
        rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log("\nkind | chain | modelled added | p50 without | p50 with | added p50 | p99 raw | p99 corrected | statuses");
  for (const r of rows)
    console.log(
      `${r.kind} | ${r.chain.join(" -> ") || "none"} | ${r.modelledAddedMs} | ${r.without.p50Ms} | ${r.with.p50Ms} | ${r.addedP50Ms} | ${r.with.p99Ms} | ${r.with.p99CorrectedMs} | ${JSON.stringify(r.with.statuses)}`,
    );
  console.log("written to bench/results/latency.json");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
