/**
 * Whether Ruby Sidekiq is here for the interop tests, checked as `.ci/run` does: `sidekiq` is on
 * PATH and `ruby -e 'require "sidekiq"'` succeeds. Without it, `describeWithSidekiq` skips its tests
 * and prints why; with `VERK_REQUIRE_SIDEKIQ=1` (which `.ci/run` sets) each of them fails with that
 * reason instead, so a CI machine cannot pass by silently skipping them.
 */
import { spawnSync } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"
import { beforeEach, describe } from "vitest"

export const RequireSidekiqVariable = "VERK_REQUIRE_SIDEKIQ"

const DetectTimeoutMillis = 30_000

/** Where `command` is on PATH (the first executable of that name), like `command -v`. */
export const whichCommand = (command: string): string | undefined =>
  (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, command))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK)
        return true
      } catch {
        return false
      }
    })

/** Why Ruby Sidekiq cannot be used here; undefined when it can. */
const detect = (): string | undefined => {
  const check = `ruby -e 'require "sidekiq"'`
  const result = spawnSync("ruby", ["-e", 'require "sidekiq"'], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
    timeout: DetectTimeoutMillis,
  })
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code
    return `${check} failed: ${code === "ENOENT" ? "ruby is not on PATH" : result.error.message}`
  }
  if (result.status !== 0) {
    const firstLine = result.stderr.split("\n").find((line) => line.trim() !== "")
    return `${check} failed: ${firstLine?.trim() ?? `exit status ${result.status ?? result.signal}`}`
  }
  return whichCommand("sidekiq") === undefined ? "the sidekiq command is not on PATH" : undefined
}

let detected: { readonly missing: string | undefined } | undefined

/** Why Ruby Sidekiq is missing (undefined when it is here); detected once per test process. */
export const sidekiqMissing = (): string | undefined => {
  detected ??= { missing: detect() }
  return detected.missing
}

/** Whether a missing Ruby Sidekiq must fail the interop tests rather than skip them. */
export const sidekiqRequired = (): boolean => process.env[RequireSidekiqVariable] === "1"

/**
 * `describe` for tests that need Ruby Sidekiq: runs them when it is here; otherwise skips them and
 * prints one line saying why, or, with `VERK_REQUIRE_SIDEKIQ=1`, fails each of them with that reason.
 */
export const describeWithSidekiq = (name: string, body: () => void): void => {
  const missing = sidekiqMissing()
  if (missing === undefined) {
    describe(name, body)
  } else if (sidekiqRequired()) {
    const reason = `Ruby Sidekiq not found (${missing}) and ${RequireSidekiqVariable}=1 requires it; install ruby-sidekiq`
    describe(name, () => {
      beforeEach(() => {
        throw new Error(reason)
      })
      body()
    })
  } else {
    console.warn(
      `interop tests skipped: Ruby Sidekiq not found (${missing}); install ruby-sidekiq, or set ${RequireSidekiqVariable}=1 to make this a failure`,
    )
    describe.skip(name, body)
  }
}
