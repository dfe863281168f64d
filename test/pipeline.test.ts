import { afterEach, describe, expect, it, vi } from "vitest";
import { Hono } from "hono";
import type { AppEnv } from "../src/context";
import { engines } from "../src/engines";
import { frontDoor } from "../src/pipeline";
import { writeRateLimitHeaders } from "../src/ratelimit/enforce";
import { configFor } from "../src/readConfig";
import { upstreamTable } from "../src/services";
import { asAdmin, call, createTestKey, envWith } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("pipeline", () => {
  it("puts X-Request-Id on every response, keeping a plain client-sent id", async () => {
    for (const [path, status] of [
      ["/healthz", 200],
      ["/nope", 404],
      ["/whoami", 401],
      ["/conductor/api/workflow", 401],
    ] as const) {
      // an unknown Conductor path needs a credential first (issue 17); was 404
      const res = await call(path);
      expect(res.status).toBe(status);
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    const kept = await call("/healthz", { headers: { "x-request-id": "client-req-0001" } });
    expect(kept.headers.get("x-request-id")).toBe("client-req-0001");
    const forged = await call("/healthz", { headers: { "x-request-id": "bad\tid with spaces {}" } });
    // Replaced by a fresh id (a UUID's hex digits can spell "bad" by chance, so the check is on the whole value).
    expect(forged.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(forged.headers.get("x-request-id")).not.toBe("bad\tid with spaces {}");
  });

  it("puts X-Request-Id on an answer whose headers are immutable, instead of failing it", async () => {
    // No route of the app answers so today (forward() and the console copy theirs); a future one must not turn a
    // good answer into a 500 and lose its log line.
    const app = new Hono<AppEnv>();
    app.use("*", frontDoor({ configFor, upstreams: upstreamTable(engines), finish: writeRateLimitHeaders }));
    app.get("/moved", () => Response.redirect("https://example.com/elsewhere", 302));
    const res = await app.request("/moved", {}, envWith({}));
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://example.com/elsewhere");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers errors in one envelope", async () => {
    const res = await call("/nope");
    const body = (await res.json()) as { error: Record<string, string> };
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toMatchObject({ code: "NOT_FOUND", message: expect.any(String), requestId: res.headers.get("x-request-id") });
  });

  it("answers CORS preflights for listed origins without credentials, and nothing for others", async () => {
    const env = envWith({ CORS_ORIGINS: "https://ui.example.com, https://other.example.com" });
    const pre = await call("/admin/keys", {
      method: "OPTIONS",
      env,
      headers: {
        origin: "https://ui.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://ui.example.com");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const evil = await call("/admin/keys", {
      method: "OPTIONS",
      env,
      headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" },
    });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const actual = await call("/healthz", { env, headers: { origin: "https://ui.example.com" } });
    expect(actual.headers.get("access-control-allow-origin")).toBe("https://ui.example.com");
    const none = await call("/healthz", { headers: { origin: "https://ui.example.com" } });
    expect(none.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("never writes keys, tokens or Authorization headers to logs or error bodies", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
    const env = envWith({ LOG_LEVEL: "debug" });
    const { key } = await createTestKey({ subject: "logged" }, env);
    const ok = await call("/whoami", { headers: { authorization: `Bearer ${key}` }, env });
    const bad = await call("/whoami", { headers: { authorization: `Bearer ${key.slice(0, -1)}x` }, env });
    const jwtish = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const badJwt = await call("/whoami", { headers: { authorization: `Bearer ${jwtish}` }, env });
    const created = await asAdmin("/admin/keys", { method: "POST", json: { tenant: "acme", subject: "x" }, env });
    const newKey = ((await created.json()) as { key: string }).key;
    const bodies = [await ok.text(), await bad.text(), await badJwt.text()].join("\n");
    expect(lines.length).toBeGreaterThan(3);
    const all = lines.join("\n") + bodies;
    for (const secret of [key, key.slice(0, -1) + "x", jwtish, newKey, key.split("_")[2]!]) {
      expect(all).not.toContain(secret);
    }
    expect(lines.some((l) => l.includes('"event":"request"') && l.includes('"subject":"logged"'))).toBe(true);
  });
});
