/**
 * The browser tests need Debian's Chromium (`/usr/bin/chromium`, or `VERK_CHROMIUM`). Where it is
 * missing they are skipped with one printed line saying why, so that `npm ci && npm test` passes on
 * a fresh machine; `.ci/run` installs it and sets `VERK_REQUIRE_CHROMIUM=1`, which turns that skip
 * into a failure, so CI always runs them.
 */
import { accessSync, constants } from "node:fs"
import { describe, it } from "vitest"

export const ChromiumPath = process.env.VERK_CHROMIUM ?? "/usr/bin/chromium"
export const RequireChromiumVariable = "VERK_REQUIRE_CHROMIUM"

/** Why Chromium cannot be used here, or undefined when it can. */
export const chromiumMissing = (): string | undefined => {
  try {
    accessSync(ChromiumPath, constants.X_OK)
    return undefined
  } catch {
    return `${ChromiumPath} is not an executable`
  }
}

/** `describe` for browser tests: runs them, skips them saying why, or fails them when required. */
export const describeWithChromium = (name: string, body: () => void): void => {
  const missing = chromiumMissing()
  if (missing === undefined) {
    describe(name, body)
  } else if (process.env[RequireChromiumVariable] === "1") {
    const reason = `Chromium not found (${missing}) and ${RequireChromiumVariable}=1 requires it; install chromium`
    // One failing test instead of the suite: its hooks (the browser's launch) would fail first, less clearly.
    describe(name, () => {
      it("needs Chromium", () => {
        throw new Error(reason)
      })
    })
  } else {
    console.warn(
      `browser tests skipped: Chromium not found (${missing}); install chromium (Debian), or set ${RequireChromiumVariable}=1 to make this a failure`,
    )
    describe.skip(name, body)
  }
}
