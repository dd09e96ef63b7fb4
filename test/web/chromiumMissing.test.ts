/**
 * The browser tests without Chromium: vitest on `browser.test.ts` with `VERK_CHROMIUM` naming a
 * file that does not exist. Plain, its tests are skipped and it prints why; with
 * `VERK_REQUIRE_CHROMIUM=1` (as `.ci/run` sets) they fail with that reason.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, it } from "vitest"
import { redisUrl } from "../support/redis.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))
const absent = "/nonexistent/chromium"

const runWithoutChromium = (extraEnv: Record<string, string>) =>
  new Promise<{ readonly code: number; readonly output: string }>((resolve) => {
    const args = [
      "node_modules/vitest/vitest.mjs",
      "run",
      "test/web/browser.test.ts",
      "--no-cache",
      // Only the console reporter: the config's JSON report is the outer run's.
      "--reporter=default",
    ]
    const { VERK_REQUIRE_CHROMIUM: _, ...env } = process.env
    const childEnv = { ...env, NO_COLOR: "1", REDIS_URL: redisUrl(), VERK_CHROMIUM: absent, ...extraEnv }
    execFile(process.execPath, args, { cwd: root, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resolve({ code, output: `${stdout}\n${stderr}` })
    })
  })

it("browser tests are skipped with a printed reason, or fail with it when VERK_REQUIRE_CHROMIUM=1", async () => {
  const [skipped, required] = await Promise.all([
    runWithoutChromium({}),
    runWithoutChromium({ VERK_REQUIRE_CHROMIUM: "1" }),
  ])
  assert.strictEqual(skipped.code, 0, skipped.output)
  assert.include(
    skipped.output,
    `browser tests skipped: Chromium not found (${absent} is not an executable); install chromium (Debian), or set VERK_REQUIRE_CHROMIUM=1 to make this a failure`,
  )
  assert.match(skipped.output, /Tests\s+(\d+) skipped \(\1\)/)
  assert.strictEqual(required.code, 1, required.output)
  assert.include(required.output, `Chromium not found (${absent} is not an executable) and VERK_REQUIRE_CHROMIUM=1`)
  assert.match(required.output, /Tests\s+(\d+) failed \(\1\)/)
}, 60_000)
