import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/formats/apiKey";
import { call, createTestKey, envWith, errorOf, uniqueTag, wsProxy } from "../helpers";

/** The bridge accepts and then never answers on a `stall` tag: a database that hangs. */
const hangingDb = () => envWith({ DB_WS_PROXY: `${wsProxy()}/stall${uniqueTag("")}` });
/** Nothing listens on port 9: a database that refuses connections. */
const downDb = () => envWith({ DB_WS_PROXY: "127.0.0.1:9" });

describe("database unavailable", () => {
  it("an uncached key gets 503 AUTH_BACKEND_UNAVAILABLE when the database refuses connections", async () => {
    const { key } = generateApiKey();
    const res = await call("/whoami", { headers: { "x-api-key": key }, env: downDb() });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("AUTH_BACKEND_UNAVAILABLE");
  });

  it("an uncached key gets 503 when the database hangs (lookup timeout), never access", async () => {
    const { key } = generateApiKey();
    // The stalled bridge never answers: only the lookup timeout can produce this 503.
    const res = await call("/whoami", { headers: { "x-api-key": key }, env: hangingDb() });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("AUTH_BACKEND_UNAVAILABLE");
  });

  it("a key cached in memory keeps working while the database is down", async () => {
    const { key } = await createTestKey({ subject: "cached-mem" });
    expect((await call("/whoami", { headers: { "x-api-key": key } })).status).toBe(200);
    expect((await call("/whoami", { headers: { "x-api-key": key }, env: downDb() })).status).toBe(200);
  });

  it("a key cached in KV keeps working while the database is down", async () => {
    const { key } = await createTestKey({ subject: "cached-kv" });
    const noMemory = envWith({ MEMORY_CACHE_TTL_S: "0" });
    expect((await call("/whoami", { headers: { "x-api-key": key }, env: noMemory })).status).toBe(200);
    const downNoMemory = envWith({ MEMORY_CACHE_TTL_S: "0", DB_WS_PROXY: "127.0.0.1:9" });
    expect((await call("/whoami", { headers: { "x-api-key": key }, env: downNoMemory })).status).toBe(200);
  });

  it("admin calls that need the database answer 503, not a crash", async () => {
    const { key } = await createTestKey({ subject: "admin-when-down", admin: true });
    await call("/whoami", { headers: { "x-api-key": key } }); // cache the admin key
    const res = await call("/admin/keys", { headers: { "x-api-key": key }, env: downDb() });
    expect(res.status).toBe(503);
  });
});
