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
              },
            },
          })),
        ],
        test: { name: "worker", include: ["test/**/*.test.ts"], exclude: ["test/node/**"], testTimeout: 20_000 },
      },
      {
        // The Node side: the database bridge and the operator CLI.
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 60_000 },
      },
    ],
  },
});
