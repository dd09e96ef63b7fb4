/**
 * The Periodic page in a real browser (Debian's headless Chromium, via playwright-core): reached
 * from the nav, Pause, Resume and Run now clicked (POSTs with the page's CSRF token), and the page
 * fitting a 390 px phone without horizontal scroll.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { is, openRedisStore, quietLogs } from "../runtime/support.ts"
import { describeWithChromium } from "../support/chromium.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { startPeriodicNode } from "./periodicSupport.ts"
import { launchBrowser, measureFit, screenshotDir, serveWeb } from "./support.ts"

let browser: Browser
// A server of its own: nothing an earlier file left in the run's shared one reaches this page.
let server: RedisServer

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/**
 * A page in a context of its own. Its waits give up after 15 s, so a stuck one fails naming what it
 * waited for, well inside the test's time; its close is bounded, so that a stuck page cannot hold
 * the test's cleanup (and hide that failure) too.
 */
const newPage = (width: number) =>
  Effect.acquireRelease(
    promise(async () => {
      const context = await browser.newContext({ viewport: { width, height: 844 } })
      context.setDefaultTimeout(15_000)
      return context
    }),
    (context) =>
      Effect.ignore(
        Effect.timeout(
          promise(() => context.close()),
          "5 seconds",
        ),
      ),
  ).pipe(Effect.flatMap((context) => promise(() => context.newPage())))

const openStore = Effect.suspend(() => openRedisStore("sidekiq", server.url))

describeWithChromium("the Periodic page in Chromium", () => {
  beforeAll(async () => {
    mkdirSync(screenshotDir, { recursive: true })
    server = await startRedisServer()
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it.live(
    "from the nav: entries listed; Pause, Resume and Run now change them on every node",
    () =>
      Effect.gen(function* () {
        const testStore = yield* openStore
        const events = yield* startPeriodicNode(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 0 })
        const page = yield* newPage(1280)
        yield* promise(() => page.goto(`${base}/`))
        yield* promise(() => page.locator("header nav a", { hasText: "Periodic" }).click())
        yield* promise(() => page.waitForSelector('tr[data-periodic="nightly"]'))
        assert.strictEqual(page.url(), `${base}/periodic`)
        const rows = yield* promise(() =>
          page
            .locator("tr[data-periodic]")
            .evaluateAll((found) => found.map((row) => row.getAttribute("data-periodic"))),
        )
        assert.deepStrictEqual([...rows].sort(), ["minutely", "nightly"])
        const nightly = page.locator('tr[data-periodic="nightly"]')
        assert.include(yield* promise(async () => (await nightly.textContent()) ?? ""), "Europe/Paris")
        assert.match(
          yield* promise(async () => (await nightly.locator("[data-next-run]").textContent()) ?? ""),
          /^in \d+ (min|h|s)$/,
        )

        // The entries paused in the store, by name.
        const paused = () =>
          Effect.gen(function* () {
            const records = yield* testStore.store.periodicRecords
            const states = yield* testStore.store.periodicStates(records)
            return records.filter((_, index) => states[index]?.paused).map((record) => record.name)
          })
        yield* promise(() => nightly.locator("button", { hasText: "Pause" }).click())
        yield* promise(() => page.waitForSelector('tr[data-periodic="nightly"] .badge.paused'))
        assert.deepStrictEqual(yield* paused(), ["nightly"])
        yield* promise(() => page.screenshot({ path: join(screenshotDir, "periodic-paused.png"), fullPage: true }))
        yield* promise(() => nightly.locator("button", { hasText: "Resume" }).click())
        yield* promise(() => page.waitForSelector('tr[data-periodic="nightly"] .badge.live'))
        assert.deepStrictEqual(yield* paused(), [])

        yield* promise(() => nightly.locator("button", { hasText: "Run now" }).click())
        const [ran] = yield* events.await(
          is("JobFinished", (event) => event.jid.startsWith("periodic-nightly-now-")),
          1,
          { timeout: "10 seconds" },
        )
        assert.strictEqual(ran?.className, "Report")
      }).pipe(Effect.scoped, quietLogs),
    60_000,
  )

  it.live(
    "the Periodic page fits a 390 px phone: no horizontal scroll, the nav inside the header",
    () =>
      Effect.gen(function* () {
        const testStore = yield* openStore
        yield* startPeriodicNode(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 0 })
        const page = yield* newPage(390)
        const response = yield* promise(() => page.goto(`${base}/periodic`))
        assert.strictEqual(response?.status(), 200)
        const fit = yield* promise(() => measureFit(page))
        const buttons = yield* promise(() => page.locator("tr[data-periodic] button").count())
        assert.isAtMost(fit.scroll, fit.client, `${fit.scroll} px wide at 390 px`)
        assert.deepStrictEqual(fit.outside, [])
        assert.strictEqual(buttons, 4, "Pause and Run now on each entry")
        yield* promise(() => page.screenshot({ path: join(screenshotDir, "fit-390-periodic.png"), fullPage: true }))
      }).pipe(Effect.scoped, quietLogs),
    60_000,
  )
})
