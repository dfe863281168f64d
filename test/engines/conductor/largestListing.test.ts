/**
 * The hard edge of the definition listing: Conductor's answer for 10,000 definitions (bench/fixtures.ts, as
 * Conductor's Jackson writes them: about 2.9 KB each, 28.7 MB in all) is more than a Worker isolate can parse and
 * rewrite in 128 MB (docs/benchmarks.md, "Hard edges: the largest listing"). The gateway refuses it whole and
 * cleanly, a 502 in Conductor's error shape naming MAX_UPSTREAM_ANSWER_BYTES, never a crash or half an answer;
 * anything within the bound is rewritten whole.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { conductorWorkflowDef } from "../../../bench/fixtures";
import { readAnswer } from "../../../src/engines/conductor/upstream";
import { GatewayError } from "../../../src/errors";
import { DEFAULT_MAX_UPSTREAM_ANSWER_BYTES } from "../../../src/constants";
import { conductorStack, type ConductorStack } from "./harness";

const defs = (tenant: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => conductorWorkflowDef(tenant, from + i));

describe("the largest listing", () => {
  let big: ConductorStack;
  let bigAdmin: string;

  beforeAll(async () => {
    big = await conductorStack("largest");
    // 10,000 definitions: 9,000 of FACEBOOK's, 1,000 of another tenant's, as one Conductor holds them.
    for (let from = 0; from < 10_000; from += 2_500) {
      await big.seed({ workflowDefs: [...defs("FACEBOOK", from, 2_250), ...defs("OTHER", from + 2_250, 250)] });
    }
    bigAdmin = await big.key({ subject: "big-admin", roles: ["OWNER"] });
  }, 120_000);

  it("refuses Conductor's answer for 10,000 definitions with a clean 502 naming the bound", async () => {
    const res = await big.as(bigAdmin, "/conductor/api/metadata/workflow");
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text.length).toBeLessThan(2_000);
    const body = JSON.parse(text) as Record<string, unknown>;
    // Conductor's error shape on Conductor routes.
    expect(body.status).toBe(502);
    expect(String(body.message)).toContain("MAX_UPSTREAM_ANSWER_BYTES");
    expect(String(body.message)).toContain(String(DEFAULT_MAX_UPSTREAM_ANSWER_BYTES));
    expect(text).not.toContain("workflow_");
    // Asked once, and the isolate still answers afterwards.
    const again = await big.as(bigAdmin, "/conductor/api/metadata/workflow/workflow_7");
    expect(again.status).toBe(200);
    expect(((await again.json()) as { name: string }).name).toBe("workflow_7");
  }, 60_000);

  it("rewrites the same 10,000-definition answer whole when the bound is raised above it", async () => {
    const raised = await conductorStack("largest-raised", { MAX_UPSTREAM_ANSWER_BYTES: String(40 * 1_048_576) });
    for (let from = 0; from < 10_000; from += 2_500) {
      await raised.seed({ workflowDefs: [...defs("FACEBOOK", from, 2_250), ...defs("OTHER", from + 2_250, 250)] });
    }
    const admin = await raised.key({ subject: "raised-admin", roles: ["OWNER"] });
    const res = await raised.as(admin, "/conductor/api/metadata/workflow");
    expect(res.status).toBe(200);
    const listing = (await res.json()) as { name: string }[];
    expect(listing).toHaveLength(9_000);
    expect(listing.every((d) => d.name.startsWith("workflow_") && !d.name.includes("___"))).toBe(true);
  }, 120_000);

  it("rewrites a listing just within the default bound whole", async () => {
    const s = await conductorStack("largest-within");
    // 2,700 definitions: about 7.8 MB, under the 8 MiB default.
    await s.seed({ workflowDefs: defs("FACEBOOK", 0, 2_700) });
    const admin = await s.key({ subject: "within-admin", roles: ["OWNER"] });
    const res = await s.as(admin, "/conductor/api/metadata/workflow");
    expect(res.status).toBe(200);
    expect((await res.json()) as unknown[]).toHaveLength(2_700);
  }, 60_000);
});

describe("readAnswer", () => {
  const chunked = (chunks: number, size: number, onCancel: () => void) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start() {},
        pull(controller) {
          if (chunks-- <= 0) return controller.close();
          controller.enqueue(new Uint8Array(size).fill(0x20));
        },
        cancel: onCancel,
      }),
    );

  it("counts an answer without a length as it arrives, refuses it past the bound and cancels the rest", async () => {
    let cancelled = false;
    const err = await readAnswer(
      chunked(1_000, 65_536, () => (cancelled = true)),
      1_048_576,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(502);
    expect((err as GatewayError).message).toContain("MAX_UPSTREAM_ANSWER_BYTES (1048576 bytes)");
    expect(cancelled).toBe(true);
  });

  it("refuses by Content-Length before reading", async () => {
    const res = new Response("[]", { headers: { "content-length": "9999999" } });
    await expect(readAnswer(res, 1_048_576)).rejects.toThrow(/MAX_UPSTREAM_ANSWER_BYTES/);
  });

  it("reads an answer within the bound whole, across chunks", async () => {
    const bytes = await readAnswer(
      chunked(16, 65_536, () => {}),
      1_048_576,
    );
    expect(bytes.byteLength).toBe(1_048_576);
  });
});
