import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

// `@verk/*` resolve to their sources (`src/*.ts`) through the `@verk/source` export condition, never to
// a built `dist/` (test/packaging builds one while the other tests run). Tests run in Vite's ssr
// environment, so `ssr.resolve.conditions` is the one that counts; `resolve` gets the same for any
// other. Setting conditions replaces the defaults, so they are spelled out (without "module", as
// Vitest's own defaults leave it out). Vitest passes them to its workers as `--conditions`; a node
// process a test spawns passes `--conditions=@verk/source` itself (test/fault/support.ts).
const conditions = ["@verk/source", ...defaultServerConditions.filter((condition) => condition !== "module")]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
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
