/**
 * The Limits page in a real browser (Debian's headless Chromium, via playwright-core), with a
 * node whose limits are in use: reached from the nav, each budget against its limit (a meter),
 * the concurrency budget's holders; it fits a 390 px phone without horizontal scroll, and follows
 * the system's dark mode (a dark screenshot, light text).
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { quietLogs } from "../runtime/support.ts"
import { describeWithChromium } from "../support/chromium.ts"
import { Crm, Pdf, startLimitedNode } from "./limitsSupport.ts"
import { launchBrowser, measureFit, redisKind, screenshotDir, serveWeb } from "./support.ts"

let browser: Browser

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const newPage = (width: number, colorScheme: "light" | "dark" = "light") =>
  Effect.acquireRelease(
    promise(() => browser.newContext({ viewport: { width, height: 844 }, colorScheme })),
    (context) => promise(() => context.close()),
  ).pipe(Effect.flatMap((context) => promise(() => context.newPage())))

/** The mean relative luminance (0 black, 1 white) of the page's screenshot, decoded by the browser. */
const luminance = (page: Page, png: Buffer) =>
  promise(() =>
    page.evaluate(async (data) => {
      const image = new Image()
      image.src = `data:image/png;base64,${data}`
      await image.decode()
      const canvas = document.createElement("canvas")
      canvas.width = image.width
      canvas.height = image.height
      const context = canvas.getContext("2d")
      if (context === null) return -1
      context.drawImage(image, 0, 0)
      const pixels = context.getImageData(0, 0, image.width, image.height).data
      let sum = 0
      for (let i = 0; i < pixels.length; i += 4)
        sum += (0.2126 * (pixels[i] ?? 0) + 0.7152 * (pixels[i + 1] ?? 0) + 0.0722 * (pixels[i + 2] ?? 0)) / 255
      return sum / (pixels.length / 4)
    }, png.toString("base64")),
  )

describeWithChromium("the Limits page in Chromium", () => {
  beforeAll(async () => {
    mkdirSync(screenshotDir, { recursive: true })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it.live(
    "from the nav: each budget against its limit, the holders of the concurrency budget",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        const started = yield* startLimitedNode(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 0, limits: [Pdf, Crm] })
        const page = yield* newPage(1280)
        yield* promise(() => page.goto(`${base}/`))
        yield* promise(() => page.locator("header nav a", { hasText: "Limits" }).click())
        yield* promise(() => page.waitForSelector('tr[data-budget="pdf"]'))
        assert.strictEqual(page.url(), `${base}/limits`)
        const budgets = yield* promise(() =>
          page.locator("tr[data-budget]").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-budget"))),
        )
        assert.deepStrictEqual(budgets, ["crm:acme", "crm:globex", "pdf"])
        const meters = yield* promise(() =>
          page
            .locator("tr[data-budget] meter")
            .evaluateAll((found) =>
              found.map((meter) => [(meter as HTMLMeterElement).value, (meter as HTMLMeterElement).max]),
            ),
        )
        assert.deepStrictEqual(meters, [
          [2, 5],
          [1, 5],
          [2, 2],
        ])
        const holders = page.locator('tr[data-budget="pdf"] li[data-holder]')
        assert.strictEqual(yield* promise(() => holders.count()), 2)
        const held = yield* promise(() => page.locator('tr[data-budget="pdf"]').textContent())
        for (const jid of started.running) assert.include(held ?? "", jid)
        assert.include(held ?? "", started.node.verk.nodeId)
        yield* promise(() => page.screenshot({ path: join(screenshotDir, "limits.png"), fullPage: true }))

        // The snoozed job, marked on the Scheduled page.
        yield* promise(() => page.locator("header nav a", { hasText: "Scheduled" }).click())
        yield* promise(() => page.waitForSelector(`tr[data-jid="${started.snoozed.jid}"] [data-snoozed]`))
        assert.strictEqual(yield* promise(() => page.locator("[data-snoozed]").count()), 1)
        yield* started.release
      }).pipe(Effect.scoped, quietLogs),
    60_000,
  )

  it.live(
    "the Limits page fits a 390 px phone (the nav inside the header) and follows dark mode",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        const started = yield* startLimitedNode(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 0, limits: [Pdf, Crm] })
        const phone = yield* newPage(390)
        const response = yield* promise(() => phone.goto(`${base}/limits`))
        assert.strictEqual(response?.status(), 200)
        const fit = yield* promise(() => measureFit(phone))
        assert.isAtMost(fit.scroll, fit.client, `${fit.scroll} px wide at 390 px`)
        assert.deepStrictEqual(fit.outside, [])
        assert.strictEqual(yield* promise(() => phone.locator("li[data-holder]").count()), 2)
        yield* promise(() => phone.screenshot({ path: join(screenshotDir, "fit-390-limits.png"), fullPage: true }))

        const dark = yield* newPage(1280, "dark")
        yield* promise(() => dark.goto(`${base}/limits`))
        const shot = yield* promise(() => dark.screenshot({ path: join(screenshotDir, "dark-limits.png") }))
        const mean = yield* luminance(dark, shot)
        assert.isBelow(mean, 0.25, `the page is dark (${mean.toFixed(2)})`)
        const color = yield* promise(() => dark.evaluate(() => getComputedStyle(document.body).color))
        const [r = 0, g = 0, b = 0] = (color.match(/\d+/g) ?? []).slice(0, 3).map(Number)
        assert.isAbove((0.2126 * r + 0.7152 * g + 0.0722 * b) / 255, 0.7, `light text (${color})`)
        yield* started.release
      }).pipe(Effect.scoped, quietLogs),
    60_000,
  )
})
