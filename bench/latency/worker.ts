/**
 * The gateway as bench/latency.ts runs it: src/index.ts unchanged, behind an entry that
 * - delays every call to the KV namespace by BENCH_KV_DELAY_MS and every call to a rate-limit counter (Durable
 *   Object) by BENCH_DO_DELAY_MS, before the call: KV and Durable Objects live inside
 *   workerd here, with no socket to delay, so their production latency is simulated where the Worker reaches them
 *   (the database and the JWKS are delayed on their real sockets, bench/latency/relay.ts);
 * - on `x-bench-forget`, drops the isolate's caches before the request, as the round-trip test does
 *   (test/resilience/roundTrips.test.ts): `keys` (the key lookups), `leases` (the rate-limit leases), `limits` (the
 *   limit table and leases), `isolate` (all of them and the control state: a new isolate, as far as the gateway's
 *   state goes);
 * - on `x-bench-jwks`, reads the JWKS from that URL (a URL the isolate has not fetched: a JWT's first use).
 * The `x-bench-*` headers are taken off before the gateway sees the request. Built by esbuild (bench/latency.ts),
 * never deployed.
 */
import type { Env } from "../../src/config";
import { forgetControlInIsolate } from "../../src/control";
import { forgetAllKeysInIsolate } from "../../src/identity/keyLookup";
import gateway, { RateLimitCounter } from "../../src/index";
import { forgetLeasesInIsolate } from "../../src/ratelimit/enforce";
import { forgetLimitsInIsolate } from "../../src/ratelimit/limits";

export { RateLimitCounter };

type BenchEnv = Env & { BENCH_KV_DELAY_MS?: string; BENCH_DO_DELAY_MS?: string };

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * One call across a link of `ms` round trip, the whole of it waited before the call (workerd's timers count whole
 * milliseconds, so a 1 ms trip cannot be split in two halves; for calls that overlap it makes no difference).
 */
async function across<T>(ms: number, call: () => Promise<T>): Promise<T> {
  await sleep(ms);
  return call();
}

function delayedKv(kv: KVNamespace, ms: number): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => across(ms, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

function delayedNamespace(ns: DurableObjectNamespace, ms: number): DurableObjectNamespace {
  return new Proxy(ns, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      if (prop !== "get" && prop !== "getByName") return (v as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const stub = (v as (...a: unknown[]) => object).apply(target, args);
        return new Proxy(stub, {
          get(s, method) {
            const m = Reflect.get(s, method) as unknown;
            if (typeof m !== "function") return m;
            // Called on the stub itself: an RPC method applied with another `this` fails (the stub cannot be
            // serialized), and the gateway, failing open, would then ask the counter on every request.
            return (...a: unknown[]) =>
              across(ms, () => Promise.resolve((s as Record<string | symbol, (...x: unknown[]) => unknown>)[method]!(...a)));
          },
        });
      };
    },
  });
}

/** One env object per JWKS URL (the gateway parses its configuration once per env object). */
const envs = new Map<string, Env>();
function benchEnv(env: BenchEnv, jwks: string | null): Env {
  const key = jwks ?? "";
  let e = envs.get(key);
  if (!e) {
    e = {
      ...env,
      KEY_CACHE: delayedKv(env.KEY_CACHE, Number(env.BENCH_KV_DELAY_MS ?? 0)),
      RATE_LIMITER: delayedNamespace(env.RATE_LIMITER as DurableObjectNamespace, Number(env.BENCH_DO_DELAY_MS ?? 0)),
      ...(jwks ? { JWT_JWKS_URL: jwks } : {}),
    } as Env;
    envs.set(key, e);
  }
  return e;
}

export default {
  fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> | Response {
    const forget = request.headers.get("x-bench-forget");
    if (forget === "keys" || forget === "isolate") forgetAllKeysInIsolate();
    if (forget === "limits" || forget === "isolate") forgetLimitsInIsolate();
    if (forget === "leases" || forget === "limits" || forget === "isolate") forgetLeasesInIsolate();
    if (forget === "isolate") forgetControlInIsolate();
    const jwks = request.headers.get("x-bench-jwks");
    const headers = new Headers(request.headers);
    for (const name of [...headers.keys()]) if (name.startsWith("x-bench-")) headers.delete(name);
    return gateway.fetch(new Request(request, { headers }), benchEnv(env, jwks), ctx);
  },
  scheduled(controller: ScheduledController, env: BenchEnv, ctx: ExecutionContext): Promise<void> {
    return gateway.scheduled(controller, benchEnv(env, null), ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
