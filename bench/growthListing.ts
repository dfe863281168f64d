/**
 * One listing rewrite, measured in a process of its own (so its peak is its own): the real
 * `ConductorUpstream.listRewritten` over an answer of `count` definitions (bench/fixtures.ts
 * `conductorDefinitionListing`), the upstream stood in by a client answering those bytes.
 *
 * Run by bench/growth.ts as `node --import tsx --expose-gc bench/growthListing.ts <count> <tenants> [maxBytes]`;
 * prints one JSON line: the answer's bytes, CPU µs of the rewrite (the first, uncached one), the peak resident
 * memory it added (maxRSS after minus RSS before: V8 heap plus the answer's and the output's buffers, what a Worker
 * isolate's 128 MB counts), V8's heap peak, the status and, when refused, the error code.
 */
import { getHeapStatistics } from "node:v8";
import { ConductorUpstream } from "../src/engines/conductor/upstream.ts";
import { SubrequestBudget } from "../src/proxy/budget.ts";
import { stripWorkflowDef } from "../src/engines/conductor/workflowDefs.ts";
import { mayUseWorkflowDef } from "../src/engines/conductor/rbac.ts";
import { GatewayError } from "../src/errors.ts";
import type { TenantName } from "../src/identity/principal.ts";
import type { UpstreamClient } from "../src/services.ts";
import type { ScopePattern } from "../src/formats/scopes.ts";
import { conductorDefinitionListing } from "./fixtures.ts";

export interface ListingFigures {
  definitions: number;
  tenants: number;
  answerBytes: number;
  outputBytes: number;
  cpuUs: number;
  /** Peak resident memory added by the rewrite, bytes (includes the answer's own bytes once read). */
  peakAddedBytes: number;
  /** V8's largest total heap during the run, bytes. */
  heapPeakBytes: number;
  /** V8's total heap just before the rewrite (after a collection), bytes: the peak minus this is the rewrite's. */
  heapBeforeBytes: number;
  status: "rewritten" | "refused";
  code?: string;
}

async function measure(count: number, tenants: number, maxBytes?: number): Promise<ListingFigures> {
  const answer = Buffer.from(conductorDefinitionListing(count, tenants));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().rss;
  const heapBefore = getHeapStatistics().total_heap_size;
  let heapPeak = 0;
  const sample = setInterval(() => (heapPeak = Math.max(heapPeak, getHeapStatistics().total_heap_size)), 1);
  const client = {
    base: "http://conductor.bench",
    // With its length, as Conductor sends a listing: read natively (the stream path reads with workerd's readAtLeast).
    send: async () =>
      new Response(answer, { headers: { "content-type": "application/json", "content-length": String(answer.byteLength) } }),
  } as unknown as UpstreamClient;
  const upstream = new ConductorUpstream(() => client, "bench" as TenantName, new SubrequestBudget(50), maxBytes);
  const caller = { kind: "api_key" as const, subject: "u", roles: [], groups: ["OPS"], scopes: [] as ScopePattern[] };
  const cpu0 = process.cpuUsage();
  let out: Uint8Array | null = null;
  let code: string | undefined;
  try {
    out = await upstream.listRewritten(["api", "metadata", "workflow"], 'labels:["ops"]', (d) => {
      const def = stripWorkflowDef(d, "bench" as TenantName, false);
      return def && mayUseWorkflowDef(caller, def.description) ? def : undefined;
    });
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    code = e.code;
  }
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sample);
  heapPeak = Math.max(heapPeak, getHeapStatistics().total_heap_size);
  const peak = process.resourceUsage().maxRSS * 1024;
  return {
    definitions: count,
    tenants,
    answerBytes: answer.byteLength,
    outputBytes: out?.byteLength ?? 0,
    cpuUs: cpu.user + cpu.system,
    peakAddedBytes: Math.max(0, peak - before),
    heapPeakBytes: heapPeak,
    heapBeforeBytes: heapBefore,
    status: out ? "rewritten" : "refused",
    ...(code ? { code } : {}),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [count = "1000", tenants = "1", maxBytes] = process.argv.slice(2);
  console.log(JSON.stringify(await measure(Number(count), Number(tenants), maxBytes ? Number(maxBytes) : undefined)));
}
