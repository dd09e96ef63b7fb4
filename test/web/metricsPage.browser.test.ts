/**
 * The Metrics pages in Chromium: every class's row and one class's page fit a 390 px phone and a
 * 1366 px laptop (no horizontal scroll, the nav inside the header), class names are text (a name
 * with markup stays text, isolated), and a class's link opens its page with its chart and minutes.
 */
import { join } from "node:path"
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import * as ExecutionMetrics from "../../packages/core/src/ExecutionMetrics.ts"
import type { ClassMinute } from "../../packages/core/src/Store.ts"
import { quietLogs } from "../runtime/support.ts"
import { describeWithChromium } from "../support/chromium.ts"
import { launchBrowser, measureFit, redisKind, screenshotDir, serveWeb, storeOf } from "./support.ts"

let browser: Browser
const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const LongName = "Notifications::Transactional::HighPriority::WelcomeEmailDeliveryWorkerWithAVeryLongName"
const Markup = `<img src=x onerror="window.hacked=1">Report`
const Rtl = "גיבוי::Nightly"

/** `minutes` of `className` up to now: `runs` runs a minute, every fourth failing, durations spread. */
const seeded = (className: string, runs: number, minutes: number): ReadonlyArray<ClassMinute> => {
  const now = ExecutionMetrics.minuteOf(Date.now())
  return Array.from({ length: minutes }, (_, back) => {
    const failures = Math.floor(runs / 4)
    const buckets = ExecutionMetrics.BucketLimits.map(() => 0)
    buckets[2 + (back % 6)] = runs - failures
    return { minute: now - back * 60_000, className, runs, failures, millis: (runs - failures) * 40, buckets }
  })
}

describeWithChromium("Verk Web in Chromium: the Metrics pages", () => {
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it.live(
    "fit 390 px and 1366 px, keep class names as text, and link each class to its page",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        const store = storeOf(testStore)
        yield* store.recordMetrics([
          ...seeded(LongName, 1_234, 60),
          ...seeded(Markup, 7, 20),
          ...seeded(Rtl, 3, 5),
          ...seeded("other", 2, 2),
        ])
        const base = yield* serveWeb(testStore, { pollMillis: 0 })
        const paths = [
          "/job-metrics",
          "/job-metrics?period=8h",
          `/job-metrics/${encodeURIComponent(LongName)}`,
          `/job-metrics/${encodeURIComponent(Markup)}?period=8h`,
          "/job-metrics/NeverRan",
        ]
        const problems: Array<string> = []
        for (const width of [390, 1366]) {
          const context = yield* Effect.acquireRelease(
            promise(() => browser.newContext({ viewport: { width, height: 844 } })),
            (context) => promise(() => context.close()),
          )
          const page = yield* promise(() => context.newPage())
          for (const path of paths) {
            const response = yield* promise(() => page.goto(`${base}${path}`))
            assert.strictEqual(response?.status(), 200, path)
            const fit = yield* promise(() => measureFit(page))
            if (fit.scroll > fit.client) problems.push(`${path} at ${width} px: ${fit.scroll} px wide`)
            if (fit.outside.length > 0)
              problems.push(`${path} at ${width} px: nav links outside the header: ${fit.outside}`)
          }
        }
        assert.deepStrictEqual(problems, [])

        const page = yield* Effect.acquireRelease(
          promise(async () => (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage()),
          (page) => promise(() => page.context().close()),
        )
        yield* promise(() => page.goto(`${base}/job-metrics`))
        yield* promise(() => page.screenshot({ path: join(screenshotDir, "metrics-390.png"), fullPage: true }))
        const rows = yield* promise(() => page.locator("tbody tr td:first-child").allTextContents())
        assert.deepStrictEqual(rows, [LongName, Markup, Rtl, "other"], "most runs first, names as text")
        assert.isUndefined(yield* promise(() => page.evaluate(() => (window as { hacked?: number }).hacked)))
        assert.strictEqual(
          yield* promise(() => page.locator(`tr[data-class="${LongName}"] [data-runs]`).textContent()),
          "74,040",
        )
        yield* promise(() => page.locator("a", { hasText: "Report" }).click())
        yield* promise(() => page.waitForSelector("[data-totals]"))
        assert.strictEqual(decodeURIComponent(new URL(page.url()).pathname), `/job-metrics/${Markup}`)
        assert.strictEqual(yield* promise(() => page.locator("h1 bdi").textContent()), Markup)
        assert.strictEqual(yield* promise(() => page.locator("tr[data-minute]").count()), 20)
        yield* promise(() => page.screenshot({ path: join(screenshotDir, "metrics-class-390.png"), fullPage: true }))
        assert.isAtLeast(yield* promise(() => page.locator(".chart svg rect").count()), 20)
        yield* promise(() => page.locator("a.button", { hasText: "8h" }).click())
        yield* promise(() => page.waitForURL(/period=8h/))
        assert.strictEqual(yield* promise(() => page.locator("tr[data-minute]").count()), 20)
      }).pipe(quietLogs),
    60_000,
  )
})
