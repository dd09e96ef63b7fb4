import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // Starts one throwaway redis-server (or uses REDIS_URL) and provides its URL as "redisUrl".
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
