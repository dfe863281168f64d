/**
 * Round trips counted, not guessed: for each kind of request, the longest chain of SEQUENTIAL remote calls the
 * Worker makes before it starts the upstream fetch, counted from the runtime's own doors: the env's KV binding and
 * Durable Object namespace (wrapped, as bindings passed in `env` may be), the global `fetch` (JWKS, upstream) and
 * the global `WebSocket` the Neon driver opens to the database (each query a call; the connection is folded into
 * the session's first query, as Neon's pipelined connect does). Every call gets a start and an end on one logical
 * clock (a counter: workerd's clock stands still during a request); a call is after another when it starts after
 * the other ended. Only calls that ended before the upstream fetch started held it up.
 *
 * The table this proves is in docs/benchmarks.md, "Round trips before the upstream".
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import worker from "../../src/index";
import type { Env } from "../../src/config";
import { hashApiKey } from "../../src/formats/apiKey";
import { forgetAllKeysInIsolate } from "../../src/identity/keyLookup";
import { forgetControlInIsolate } from "../../src/control";
import { newSession, sealSession } from "../../src/identity/session";
import { forgetLeasesInIsolate } from "../../src/ratelimit/enforce";
import { forgetLimitsInIsolate } from "../../src/ratelimit/limits";
import { asAdmin, baseEnv, createTestKey, envWith, stubUrl, uniqueTag } from "../helpers";
import { conductorStack } from "../engines/conductor/harness";

interface RemoteCall {
  door: "kv" | "durable-object" | "fetch" | "database";
  what: string;
  start: number;
  end: number | null;
}

let clock = 0;
const tick = () => ++clock;
/** The calls of the request being measured (null: not measuring). */
let recording: RemoteCall[] | null = null;
/** Where the upstream's URLs start: its fetch ends the measurement. */
let upstreamPrefix = "";
let upstreamStart: number | null = null;

function timed<T>(door: RemoteCall["door"], what: string, run: () => Promise<T>): Promise<T> {
  if (!recording) return run();
  const call: RemoteCall = { door, what, start: tick(), end: null };
  recording.push(call);
  return run().finally(() => (call.end = tick()));
}

/**
 * KV writes on a request's path are fills behind `waitUntil`, never waited for before the upstream: each is held
 * back WRITE_DELAY_MS, so one that ends before the upstream starts can only be one the request waited for (and a
 * fill's own follow-up read, after its write, comes after the upstream too).
 */
const WRITE_DELAY_MS = 300;
const later = () => new Promise((r) => setTimeout(r, WRITE_DELAY_MS));

function recordingKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      const write = prop === "put" || prop === "delete";
      return (...args: unknown[]) =>
        timed("kv", `${String(prop)} ${String(args[0]).slice(0, 40)}`, async () => {
          if (write) await later();
          return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        });
    },
  });
}

function recordingNamespace(ns: DurableObjectNamespace): DurableObjectNamespace {
  return new Proxy(ns, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      if (prop !== "get") return (v as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const stub = (v as (...a: unknown[]) => object).apply(target, args);
        return new Proxy(stub, {
          get(s, method) {
            const m = Reflect.get(s, method) as unknown;
            if (typeof m !== "function") return m;
            // Called on the stub itself: an RPC method applied with another `this` fails (the stub cannot be
            // serialized), and the gateway, failing open, would let every request through without a lease.
            return (...a: unknown[]) =>
              timed("durable-object", String(method), () =>
                Promise.resolve((s as Record<string | symbol, (...x: unknown[]) => unknown>)[method]!(...a)),
              );
          },
        });
      };
    },
  });
}

const realFetch = globalThis.fetch;
const RealWebSocket = globalThis.WebSocket;

/** The database's WebSocket, each query (Parse or Query message sent, until ReadyForQuery comes back) one call. */
class RecordingWebSocket extends RealWebSocket {
  private open: RemoteCall | null = null;
  private queried = false;
  constructor(url: string | URL, protocols?: string | string[]) {
    super(String(url), protocols);
    if (!recording) return;
    this.open = { door: "database", what: "connect + query", start: tick(), end: null };
    recording.push(this.open);
    this.addEventListener("message", (e: MessageEvent) => {
      if (!this.open || !this.queried || !(e.data instanceof ArrayBuffer)) return;
      const b = new Uint8Array(e.data);
      for (let i = 0; i + 4 < b.length; i++) {
        // ReadyForQuery: 'Z', length 5.
        if (b[i] === 0x5a && b[i + 1] === 0 && b[i + 2] === 0 && b[i + 3] === 0 && b[i + 4] === 5) {
          this.open.end = tick();
          this.open = null;
          this.queried = false;
          return;
        }
      }
    });
  }
  override send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (recording && typeof data !== "string") {
      const first = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, 1)[0] : new Uint8Array(data, 0, 1)[0];
      // 'P' (Parse) or 'Q' (simple query) starts a query; a new one after an answer is a new round trip.
      if (first === 0x50 || first === 0x51) {
        if (!this.open) {
          this.open = { door: "database", what: "query", start: tick(), end: null };
          recording.push(this.open);
        }
        this.queried = true;
      }
    }
    super.send(data);
  }
}

beforeAll(() => {
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (recording && upstreamPrefix && url.startsWith(upstreamPrefix) && upstreamStart === null) upstreamStart = tick();
    return timed("fetch", url.replace(/^https?:\/\/[^/]+/, "").slice(0, 60), () => realFetch(input, init));
  }) as typeof fetch;
  globalThis.WebSocket = RecordingWebSocket as unknown as typeof WebSocket;
});

afterAll(() => {
  globalThis.fetch = realFetch;
  globalThis.WebSocket = RealWebSocket;
});

/** The env with its KV and Durable Object bindings recorded. */
const recorded = (e: Env): Env =>
  ({ ...e, KEY_CACHE: recordingKv(e.KEY_CACHE), RATE_LIMITER: recordingNamespace(e.RATE_LIMITER as DurableObjectNamespace) }) as Env;

interface Chain {
  status: number;
  /** Sequential remote calls before the upstream fetch started. */
  sequential: number;
  chain: string[];
  /** Every call that held the upstream up, sequential or not. */
  calls: number;
}

/** The longest chain of calls, each starting after the previous one ended, among those that ended before `until`. */
function longestChain(calls: RemoteCall[], until: number): RemoteCall[] {
  const done = calls.filter((c) => c.end !== null && c.end < until).sort((a, b) => a.start - b.start);
  const best: RemoteCall[][] = [];
  for (let i = 0; i < done.length; i++) {
    let longest: RemoteCall[] = [];
    for (let j = 0; j < i; j++) if (done[j]!.end! < done[i]!.start && best[j]!.length > longest.length) longest = best[j]!;
    best.push([...longest, done[i]!]);
  }
  return best.reduce((a, b) => (b.length > a.length ? b : a), [] as RemoteCall[]);
}

/** Sends one request to the real Worker and counts what held its upstream up. */
async function measure(request: Request, env: Env, upstream: string): Promise<Chain> {
  recording = [];
  upstreamPrefix = upstream;
  upstreamStart = null;
  const ctx = createExecutionContext();
  let res: Response;
  let calls: RemoteCall[];
  try {
    res = await worker.fetch(request, env, ctx);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
  } finally {
    calls = recording;
    recording = null;
  }
  const until = upstreamStart;
  if (until === null) throw new Error("the upstream was not reached");
  const held = calls.filter((c) => c.end !== null && c.end < until);
  const chain = longestChain(calls, until);
  return { status: res.status, sequential: chain.length, chain: chain.map((c) => `${c.door}: ${c.what}`), calls: held.length };
}

const FLOWS = JSON.stringify({ query: "query Flows { flow(limit: 1) { id } }" });
const MUTATION = JSON.stringify({ query: "mutation { set_flow_run_states(input: {states: []}) { states { id } } }" });

function prefectRequest(headers: Record<string, string>, body = FLOWS, origin = "http://gateway.test"): Request {
  return new Request(`${origin}/prefect/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

/** A new isolate, as far as this module can make one: every in-isolate cache these requests read is dropped. */
function coldIsolate(): void {
  forgetControlInIsolate();
  forgetAllKeysInIsolate();
  forgetLimitsInIsolate();
  forgetLeasesInIsolate();
}

/** Rows of the table in docs/benchmarks.md, printed by the run for checking it. */
const table: string[] = [];
function row(kind: string, c: Chain): Chain {
  expect(c.status, `${kind}: ${JSON.stringify(c)}`).toBe(200);
  table.push(
    `| ${kind} | ${c.sequential} | ${c.chain.map((x) => x.replace(/^(kv: \w+ [A-Za-z-]+).*$/, "$1").replace(/(fetch: \/[a-z]+)\/.*$/, "$1")).join(" -> ") || "none"} |`,
  );
  return c;
}
afterAll(() => console.log(table.join("\n")));

describe("sequential round trips before the upstream", () => {
  let upstream: string;
  let env: Env;

  beforeAll(() => {
    upstream = stubUrl(`/rec/${uniqueTag("trips")}`);
    env = recorded(envWith({ PREFECT_GRAPHQL_URL: `${upstream}/graphql` }));
  });

  it("an API key: memory hit 0, KV hit 1, first use anywhere (KV miss, database) 2; on a new isolate the control state's KV read comes first", async () => {
    const { key } = await createTestKey({ subject: uniqueTag("trips-key"), scopes: ["query/*"] });
    const req = () => prefectRequest({ "x-api-key": key });
    expect(row("API key, first use anywhere (warm isolate)", await measure(req(), env, upstream)).sequential).toBe(2);
    expect(row("API key, memory hit", await measure(req(), env, upstream)).sequential).toBe(0);
    forgetAllKeysInIsolate();
    expect(row("API key, KV hit", await measure(req(), env, upstream)).sequential).toBe(1);
    coldIsolate();
    expect(row("API key, KV hit, new isolate", await measure(req(), env, upstream)).sequential).toBe(2);
    const { key: fresh } = await createTestKey({ subject: uniqueTag("trips-fresh"), scopes: ["query/*"] });
    coldIsolate();
    const cold = row("API key, first use anywhere, new isolate", await measure(prefectRequest({ "x-api-key": fresh }), env, upstream));
    expect(cold.chain.map((c) => c.split(":")[0])).toEqual(["kv", "kv", "database"]);
  });

  it("a JWT: first use 2 (JWKS, then its revocation), cached 0", async () => {
    const jwtEnv = recorded(
      envWith({ PREFECT_GRAPHQL_URL: `${upstream}/graphql`, JWT_JWKS_URL: stubUrl(`/jwks/${uniqueTag("tripsjwks")}.json`) }),
    );
    const idpKey = (await importJWK(inject("idpPrivateJwk") as never, "RS256")) as CryptoKey;
    const token = await new SignJWT({
      sub: uniqueTag("jwt"),
      scope: "query/*",
      jti: uniqueTag("jti"),
      exp: Math.floor(Date.now() / 1000) + 300,
    })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .sign(idpKey);
    const req = () => prefectRequest({ authorization: `Bearer ${token}` });
    expect(row("JWT, first use (JWKS fetch)", await measure(req(), jwtEnv, upstream)).sequential).toBe(2);
    expect(row("JWT, cached keys and revocation", await measure(req(), jwtEnv, upstream)).sequential).toBe(0);
    // A new isolate: the control state's KV read first (every request of a new isolate waits for it), then as above.
    const coldEnv = recorded(
      envWith({ PREFECT_GRAPHQL_URL: `${upstream}/graphql`, JWT_JWKS_URL: stubUrl(`/jwks/${uniqueTag("tripsjwkscold")}.json`) }),
    );
    const coldToken = await new SignJWT({
      sub: uniqueTag("jwt"),
      scope: "query/*",
      jti: uniqueTag("jti"),
      exp: Math.floor(Date.now() / 1000) + 300,
    })
      .setProtectedHeader({ alg: "RS256", kid: "idp-1" })
      .sign(idpKey);
    coldIsolate();
    const cold = row(
      "JWT, first use, new isolate",
      await measure(prefectRequest({ authorization: `Bearer ${coldToken}` }), coldEnv, upstream),
    );
    expect(cold.sequential).toBe(3);
  });

  it("a browser session from a key: its revocation and its key read at once, 2 at most (KV miss, database), 0 warm", async () => {
    const secrets = "round-trips-session-secret-0123456789abcdef";
    const sEnv = recorded(envWith({ PREFECT_GRAPHQL_URL: `${upstream}/graphql`, SESSION_SECRETS: secrets }));
    const { key } = await createTestKey({ subject: uniqueTag("trips-session"), scopes: ["query/*"] });
    const config = { secrets: [secrets], idleTtlS: 900, maxTtlS: 28_800, keyExchange: true };
    const claims = newSession(
      { src: "key", sub: "s", keyHash: hashApiKey(key), roles: [], groups: [], scopes: ["query/*"] },
      config,
      Date.now() / 1000,
    );
    const cookie = `__Host-flowgate-session=${await sealSession(claims, config)}`;
    const req = () =>
      prefectRequest({ cookie, origin: "https://gateway.test", "x-csrf-token": claims.csrf }, FLOWS, "https://gateway.test");
    const first = row("session (from a key), first use anywhere", await measure(req(), sEnv, upstream));
    expect(first.sequential).toBe(2);
    expect(first.calls).toBe(4);
    expect(row("session, warm", await measure(req(), sEnv, upstream)).sequential).toBe(0);
    const { key: other } = await createTestKey({ subject: uniqueTag("trips-session-cold"), scopes: ["query/*"] });
    const coldClaims = newSession(
      { src: "key", sub: "s", keyHash: hashApiKey(other), roles: [], groups: [], scopes: ["query/*"] },
      config,
      Date.now() / 1000,
    );
    const coldCookie = `__Host-flowgate-session=${await sealSession(coldClaims, config)}`;
    coldIsolate();
    const cold = row(
      "session (from a key), first use anywhere, new isolate",
      await measure(
        prefectRequest(
          { cookie: coldCookie, origin: "https://gateway.test", "x-csrf-token": coldClaims.csrf },
          FLOWS,
          "https://gateway.test",
        ),
        sEnv,
        upstream,
      ),
    );
    expect(cold.sequential).toBe(3);
  });

  it("a rate-limited key: 0 warm (spent from the isolate's lease), 1 when the lease is gone; its limits' KV read before the counter when not in memory", async () => {
    const { id, key } = await createTestKey({ subject: uniqueTag("trips-limited"), scopes: ["query/*"] });
    const res = await asAdmin("/admin/limits", {
      method: "POST",
      json: { kind: "key", target: id, routeGroup: "prefect", rate: { limit: 1000, windowS: 600 } },
    });
    expect(res.status).toBe(201);
    const req = () => prefectRequest({ "x-api-key": key });
    const first = await measure(req(), env, upstream);
    // The counter granted a lease (a tenth of the bucket): it answered, rather than failing open.
    expect(first.chain.at(-1)).toBe("durable-object: acquire");
    expect(row("rate-limited key, warm (lease held)", await measure(req(), env, upstream)).sequential).toBe(0);
    forgetLeasesInIsolate();
    expect(row("rate-limited key, lease spent or older than RATE_LEASE_TTL_MS", await measure(req(), env, upstream)).chain).toEqual([
      "durable-object: acquire",
    ]);
    forgetLimitsInIsolate();
    forgetLeasesInIsolate();
    expect(row("rate-limited key, limits not in memory (after a purge)", await measure(req(), env, upstream)).sequential).toBe(2);
    coldIsolate();
    expect(row("rate-limited key, KV hit, new isolate", await measure(req(), env, upstream)).sequential).toBe(3);
  });

  it("an audited write (a Prefect mutation): the audit row is written after, 0 before the upstream", async () => {
    const { key } = await createTestKey({ subject: uniqueTag("trips-writer"), scopes: ["query/*", "mutation/*"] });
    await measure(prefectRequest({ "x-api-key": key }), env, upstream);
    expect(
      row("audited write (Prefect mutation), warm key", await measure(prefectRequest({ "x-api-key": key }, MUTATION), env, upstream))
        .sequential,
    ).toBe(0);
  });

  it("a Conductor listing: 0 warm, 2 at first use of the key", async () => {
    const stack = await conductorStack("trips-conductor");
    await stack.seed({ workflowDefs: [{ name: "FACEBOOK___wf", version: 1, tasks: [] }] });
    const key = await stack.key({ subject: uniqueTag("trips-conductor"), roles: ["OWNER"] });
    const cEnv = recorded(stack.env);
    const conductorUrl = stubUrl(`/conductor/${stack.tag}`);
    const req = () => new Request("http://gateway.test/conductor/api/metadata/workflow", { headers: { authorization: `Bearer ${key}` } });
    expect(row("Conductor listing, first use of the key", await measure(req(), cEnv, conductorUrl)).sequential).toBe(2);
    expect(row("Conductor listing, warm", await measure(req(), cEnv, conductorUrl)).sequential).toBe(0);
    const other = await stack.key({ subject: uniqueTag("trips-conductor-cold"), roles: ["OWNER"] });
    coldIsolate();
    const cold = row(
      "Conductor listing, first use of the key, new isolate",
      await measure(
        new Request("http://gateway.test/conductor/api/metadata/workflow", { headers: { authorization: `Bearer ${other}` } }),
        cEnv,
        conductorUrl,
      ),
    );
    expect(cold.chain.map((c) => c.split(":")[0])).toEqual(["kv", "kv", "database"]);
  });
});
