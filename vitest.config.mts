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
