import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./test/setup/global.ts"],
    testTimeout: 20_000,
    projects: [
      {
        // The Worker, inside workerd, with miniflare's KV and the run's real database.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DATABASE_URL: inject("databaseUrl"),
                DB_WS_PROXY: inject("wsProxy"),
                LOG_LEVEL: "error",
                // Every refusal is audited and a test waits for its request's work (the audit batch) to end: a
                // 200 ms batch wait would add 200 ms to each refusal of a sequential test. Batching and the
                // aggregation of identical refusals do not depend on it (test/audit/audit.test.ts).
                AUDIT_FLUSH_MS: "5",
                // Signs the Conductor SDK tokens; tests of an unset secret override it.
                GATEWAY_TOKEN_SECRET: "test-gateway-token-secret-0123456789abcdef",
              },
            },
          })),
        ],
        test: { name: "worker", include: ["test/**/*.test.ts"], exclude: ["test/node/**"], testTimeout: 20_000 },
      },
      {
        // The Node side: the database bridge, the operator CLI, and the Conductor SDK against the built Worker.
        // Their hooks start a real database (and a Worker build): on a loaded machine that takes more than 10 s.
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 120_000 },
      },
    ],
  },
});
