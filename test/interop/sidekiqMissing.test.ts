/**
 * The interop tests without Ruby Sidekiq: runs vitest on `sidekiq.test.ts` with a PATH that has
 * redis-server but neither `ruby` nor `sidekiq`. Plain, its tests are skipped and it prints why;
 * with `VERK_REQUIRE_SIDEKIQ=1` (as `.ci/run` sets) they fail with that reason.
 */
import { execFile } from "node:child_process"
import { mkdtemp, rm, symlink } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import { redisUrl } from "../support/redis.ts"
import { whichCommand } from "../support/sidekiq.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))

interface Run {
  readonly code: number
  readonly output: string
}

/** The `Tests  3 skipped (3)` line of vitest's summary, when all its tests ended that way. */
const allTests = (output: string, outcome: "skipped" | "failed"): boolean => {
  const match = new RegExp(String.raw`Tests\s+(\d+) ${outcome} \((\d+)\)`).exec(output)
  return match !== null && Number(match[1]) > 0 && match[1] === match[2]
}

/** vitest on the interop file, with only redis-server on PATH (so no `ruby`, no `sidekiq`). */
const runWithoutRuby = async (extraEnv: Record<string, string>): Promise<Run> => {
  const dir = await mkdtemp(join(tmpdir(), "verk-no-ruby-"))
  try {
    const redisServer = whichCommand("redis-server")
    if (redisServer !== undefined) await symlink(redisServer, join(dir, "redis-server"))
    const args = [
      join(root, "node_modules/vitest/vitest.mjs"),
      "run",
      "test/interop/sidekiq.test.ts",
      "--no-cache",
      // Only the console reporter: the config's JSON report is the outer run's.
      "--reporter=default",
    ]
    const env = { PATH: dir, HOME: process.env.HOME ?? dir, NO_COLOR: "1", REDIS_URL: redisUrl(), ...extraEnv }
    return await new Promise<Run>((resolve) => {
      execFile(process.execPath, args, { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ code, output: `${stdout}\n${stderr}` })
      })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe("interop tests without Ruby Sidekiq", () => {
  it("are skipped with a printed reason, or fail with it when VERK_REQUIRE_SIDEKIQ=1", async () => {
    const [skipped, required] = await Promise.all([runWithoutRuby({}), runWithoutRuby({ VERK_REQUIRE_SIDEKIQ: "1" })])

    assert.strictEqual(skipped.code, 0, skipped.output)
    assert.include(
      skipped.output,
      `interop tests skipped: Ruby Sidekiq not found (ruby -e 'require "sidekiq"' failed: ruby is not on PATH); install ruby-sidekiq, or set VERK_REQUIRE_SIDEKIQ=1 to make this a failure`,
    )
    assert.isTrue(allTests(skipped.output, "skipped"), skipped.output)

    assert.strictEqual(required.code, 1, required.output)
    assert.include(
      required.output,
      `Error: Ruby Sidekiq not found (ruby -e 'require "sidekiq"' failed: ruby is not on PATH) and VERK_REQUIRE_SIDEKIQ=1 requires it; install ruby-sidekiq`,
    )
    assert.notInclude(required.output, "interop tests skipped")
    assert.isTrue(allTests(required.output, "failed"), required.output)
  }, 30_000)
})
