/**
 * Faults of the gateway's own dependencies and of the upstreams: the database cutting a session mid-query or
 * going down and coming back, a failing KV namespace, and answers far too large to buffer.
 */
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/formats/apiKey";
import { asAdmin, call, createTestKey, envWith, errorOf, stubUrl, uniqueTag, wsProxy } from "../helpers";
import type { Env } from "../../src/config";

const bridge = (path: string, init?: RequestInit) => fetch(`http://${wsProxy()}${path}`, init);

describe("the database", () => {
  it("cutting the session mid-query: 503 for an uncached key, never access, never a crash", async () => {
    const env = envWith({ DB_WS_PROXY: `${wsProxy()}/drop${uniqueTag("")}` });
    const res = await call("/whoami", { env, headers: { "x-api-key": generateApiKey().key } });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("AUTH_BACKEND_UNAVAILABLE");
  });

  it("going down and coming back: 503 meanwhile, then the same key works with no restart (a 503 is never cached)", async () => {
    const tag = uniqueTag("flap");
    const env = envWith({ DB_WS_PROXY: `${wsProxy()}/${tag}` });
    const { key } = await createTestKey({ subject: "flapping" });
    await bridge(`/down/${tag}?down=1`, { method: "POST" });
    const during = await call("/whoami", { env, headers: { "x-api-key": key } });
    expect(during.status).toBe(503);
    await bridge(`/down/${tag}?down=0`, { method: "POST" });
    expect((await call("/whoami", { env, headers: { "x-api-key": key } })).status).toBe(200);
  });
});

/** A KV namespace whose every operation fails, as during a platform incident. */
const failingKv = {
  get: () => Promise.reject(new Error("KV unavailable")),
  getWithMetadata: () => Promise.reject(new Error("KV unavailable")),
  put: () => Promise.reject(new Error("KV unavailable")),
  delete: () => Promise.reject(new Error("KV unavailable")),
  list: () => Promise.reject(new Error("KV unavailable")),
} as unknown as KVNamespace;

describe("a failing KV namespace", () => {
  it("key lookups fall through to the database; unknown keys are still refused", async () => {
    const env = envWith({ MEMORY_CACHE_TTL_S: "0", KEY_CACHE: failingKv });
    const { key } = await createTestKey({ subject: "kv-down" });
    const ok = await call("/whoami", { env, headers: { "x-api-key": key } });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await call("/whoami", { env, headers: { "x-api-key": generateApiKey().key } })).status).toBe(401);
  });

  it("a JWT whose revocation state cannot be read is refused (503), not let through", async () => {
    const pair = await generateKeyPair("RS256");
    const env = envWith({
      KEY_CACHE: failingKv,
      MEMORY_CACHE_TTL_S: "0",
      JWT_PUBLIC_KEYS: await exportSPKI(pair.publicKey),
      tag: uniqueTag("kvjwt"),
    });
    const jwt = await new SignJWT({ sub: "someone" }).setProtectedHeader({ alg: "RS256" }).setExpirationTime("5m").sign(pair.privateKey);
    const res = await call("/whoami", { env, headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("AUTH_BACKEND_UNAVAILABLE");
  });
});

/** Reads `bytes` of a streamed answer and cancels it. */
async function readAndCancel(res: Response, bytes: number): Promise<number> {
  const reader = res.body!.getReader();
  let got = 0;
  while (got < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.byteLength;
  }
  await reader.cancel();
  return got;
}

describe("answers too large to buffer stream through", () => {
  it("an endless Argo log stream: 16 MB arrive, and the stream can be cut (nothing waited for the end)", async () => {
    const tag = uniqueTag("stream");
    const env: Env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
    expect(
      (await asAdmin("/admin/workspaces/streamy", { method: "PUT", env, json: { roles: ["s"], hideForUnauthorized: false } })).status,
    ).toBeLessThan(300);
    const { key } = await createTestKey({ subject: "streamer", roles: ["s"] }, env);
    const res = await call("/argo/api/v1/workflows/streamy/endless/log", { env, headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(await readAndCancel(res, 16 * 1_048_576)).toBeGreaterThanOrEqual(16 * 1_048_576);
  });

  it("an endless FlowAPI result: 16 MB arrive through the gateway", async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    const env = envWith({
      FLOWAPI_URL: stubUrl(`/flowapi/${uniqueTag("fstream")}`),
      FLOWAPI_IDENTIFIER: "fs",
      FLOWAPI_PUBLIC_KEY: await exportSPKI(pair.publicKey),
    });
    const token = await new SignJWT({ aud: "fs", sub: "a", user_claims: { r: ["get_result"] } })
      .setProtectedHeader({ alg: "RS256" })
      .setExpirationTime("5m")
      .sign(pair.privateKey);
    const res = await call("/flowapi/api/0/get/endless", { env, headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await readAndCancel(res, 16 * 1_048_576)).toBeGreaterThanOrEqual(16 * 1_048_576);
  });
});
