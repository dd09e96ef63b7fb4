import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // Starts one throwaway redis-server (or uses REDIS_URL) and provides its URL as "redisUrl".
    globalSetup: ["test/support/globalSetup.ts"],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ["default", ["json", { outputFile: ".tmp/vitest-report.json" }]],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
