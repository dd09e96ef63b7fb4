/**
 * Verk Web in a real browser (Debian's headless Chromium, driven by playwright-core): what the
 * pages show after a run, the clicks that change jobs and queues, job text that must stay text,
 * and the token. Each page is also saved as a screenshot under the OS temp directory (never in
 * the repository), for people to look at.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { assert, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forQueue, is, quietLogs, startNode } from "../runtime/support.ts"
import { describeWithChromium } from "../support/chromium.ts"
import { launchBrowser, measureFit, redisKind, screenshotDir, serveWeb, storeOf, wireJob } from "./support.ts"

let browser: Browser

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** A fresh page, closed with the scope; `window.alert` and a global flag record any script that runs. */
const openPage = Effect.acquireRelease(
  promise(async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
    await context.addInitScript(() => {
      const w = window as unknown as { __alerts: Array<string>; alert: (text: string) => void }
      w.__alerts = []
      w.alert = (text: string) => {
        w.__alerts.push(String(text))
      }
    })
    return context.newPage()
  }),
  (page) => promise(() => page.context().close()),
)

const shoot = (page: Page, name: string) =>
  promise(() => page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true }))

const Greet = Worker.make({
  name: "Greet",
  args: Schema.Tuple([Schema.String]),
  perform: () => Effect.void,
})

const config = {
  queues: { default: 2 },
  pollInterval: "200 millis",
  shutdownTimeout: "200 millis",
  statsFlushInterval: "100 millis",
  heartbeatInterval: "200 millis",
} as const

const nowSeconds = () => Date.now() / 1000

describeWithChromium("Verk Web in Chromium", () => {
  beforeAll(async () => {
    mkdirSync(screenshotDir, { recursive: true })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it.live(
    "the dashboard shows the queues and counters after a run, and every page renders",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        const store = storeOf(testStore)
        const node = yield* startNode(testStore, config, [Greet])
        yield* node.client.enqueueMany(Greet, [["ada"], ["grace"], ["alan"]])
        yield* eventually(
          "3 processed jobs counted",
          Effect.map(store.stats(), (totals) => totals.processed >= 3),
        )
        // Something in every list, for the screenshots.
        yield* store.enqueue("mail", [
          wireJob("m1", { queue: "mail", class: "Mailer", enqueued_at: nowSeconds() - 42 }),
        ])
        yield* store.setPaused("mail", true)
        const failed = (jid: string) =>
          wireJob(jid, {
            class: "Billing",
            queue: "billing",
            args: [{ invoice: 7 }],
            error_class: "Timeout",
            error_message: "gateway took 30 s",
            error_backtrace: ["billing.ts:12"],
            retry_count: 1,
            failed_at: nowSeconds() - 300,
          })
        yield* store.addScheduled("retry", [{ payload: failed("r1"), score: nowSeconds() + 120 }])
        yield* store.addScheduled("schedule", [{ payload: wireJob("s1"), score: nowSeconds() + 3600 }])
        const base = yield* serveWeb(testStore, { pollMillis: 500 })
        const page = yield* openPage

        yield* promise(() => page.goto(`${base}/`))
        assert.strictEqual(yield* promise(() => page.textContent('[data-stat="processed"]')), "3")
        assert.strictEqual(yield* promise(() => page.textContent('[data-stat="retries"]')), "1")
        assert.strictEqual(yield* promise(() => page.textContent('[data-stat="scheduled"]')), "1")
        assert.strictEqual(yield* promise(() => page.textContent('[data-stat="enqueued"]')), "1")
        const queues = yield* promise(() =>
          page.locator("tr[data-queue]").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-queue"))),
        )
        assert.includeMembers(queues, ["default", "mail"])
        assert.include(yield* promise(() => page.textContent('tr[data-queue="mail"]')), "paused")
        assert.strictEqual(yield* promise(() => page.locator("svg rect").count()), 60, "two bars a day for 30 days")
        // The live chart: one point a poll (from the second poll on), processed and failed per second.
        const chart = page.locator("svg[data-live-chart]")
        assert.strictEqual(yield* promise(() => chart.count()), 1)
        assert.strictEqual(yield* promise(() => chart.locator("polyline").count()), 2)
        const pointsOf = () =>
          promise(() =>
            chart.evaluate((svg) => ({
              points: Number(svg.getAttribute("data-points")),
              drawn: (svg.querySelector('polyline[data-series="processed"]')?.getAttribute("points") ?? "")
                .split(" ")
                .filter(Boolean).length,
              peak: Number(svg.getAttribute("data-peak")),
              max: document.querySelector("[data-live-max]")?.textContent ?? "",
            })),
          )
        yield* promise(() =>
          page.waitForFunction(
            () => Number(document.querySelector("[data-live-chart]")?.getAttribute("data-points")) >= 1,
          ),
        )
        const before = yield* pointsOf()
        assert.strictEqual(before.drawn, before.points, "a drawn point per sample")
        // Live: the figures follow the API without a reload.
        yield* node.client.enqueue(Greet, ["barbara"])
        yield* promise(() =>
          page.waitForFunction(
            () => document.querySelector('[data-stat="processed"]')?.textContent === "4",
            undefined,
            { timeout: 5000 },
          ),
        )
        // A few bursts over several polls: the chart gains points and its peak rises above zero.
        for (let burst = 0; burst < 4; burst++) {
          yield* node.client.enqueueMany(
            Greet,
            Array.from({ length: 10 + burst * 15 }, (_, i) => [`burst-${burst}-${i}`] as const),
          )
          yield* Effect.sleep("600 millis")
        }
        yield* promise(() =>
          page.waitForFunction(
            (count) => {
              const svg = document.querySelector("[data-live-chart]")
              return Number(svg?.getAttribute("data-points")) > count && Number(svg?.getAttribute("data-peak")) > 0
            },
            before.points,
            { timeout: 5000 },
          ),
        )
        const after = yield* pointsOf()
        assert.isAbove(after.drawn, before.drawn, "the processed line gains points")
        assert.isAbove(after.peak, 0)
        assert.match(after.max, /^[\d.,]+\/s$/, "the y axis shows its maximum")
        assert.isAtLeast(Number.parseFloat(after.max.replace(/,/g, "")), after.peak, "the maximum is above the peak")
        yield* shoot(page, "dashboard")

        for (const [path, name, text] of [
          ["/queues", "queues", "mail"],
          ["/queues/mail", "queue-mail", "Mailer"],
          ["/busy", "busy", node.verk.nodeId],
          ["/retries", "retries", "gateway took 30 s"],
          ["/retries/r1", "retry-detail", "billing.ts:12"],
          ["/scheduled", "scheduled", "TestWorker"],
          ["/dead", "dead", "No dead jobs"],
        ] as const) {
          const response = yield* promise(() => page.goto(`${base}${path}`))
          assert.strictEqual(response?.status(), 200, path)
          assert.include(yield* promise(() => page.textContent("main")), text, path)
          yield* shoot(page, name)
        }
      }).pipe(quietLogs),
    30_000,
  )

  /** A store with something long in every list: names, args, errors, a node and its work. */
  const seedLong = Effect.fnUntraced(function* (testStore: Parameters<typeof storeOf>[0]) {
    const store = storeOf(testStore)
    const longClass = "Billing::Invoices::MonthlyStatementRendererWithAVeryLongNameIndeed"
    const longQueue = "notifications-high-priority-transactional-email"
    const unbroken = "x".repeat(300)
    const job = (jid: string, extra: Record<string, unknown> = {}) =>
      wireJob(jid, {
        class: longClass,
        queue: longQueue,
        args: [{ customer: "ada@example.com", lines: Array.from({ length: 40 }, (_, n) => `line ${n}`) }, unbroken],
        error_class: "Net::ReadTimeoutWithAQuiteLongErrorClassName",
        error_message: `gateway took too long: ${"the upstream said no. ".repeat(200)}${unbroken}`,
        error_backtrace: Array.from({ length: 20 }, (_, n) => `app/services/billing/renderer.rb:${n}:in '${unbroken}'`),
        retry_count: 3,
        failed_at: nowSeconds() - 7369,
        enqueued_at: nowSeconds() - 7369,
        ...extra,
      })
    for (let n = 0; n < 30; n++) yield* store.enqueue(longQueue, [job(`q${n}`)])
    yield* store.enqueue("mail", [job("m1", { queue: "mail", class: "Mailer" })])
    yield* store.addScheduled("retry", [{ payload: job("r1"), score: nowSeconds() + 120 }])
    yield* store.addScheduled("schedule", [{ payload: job("s1"), score: nowSeconds() + 3600 }])
    const dead = job("d1")
    yield* store.addScheduled("retry", [{ payload: dead, score: nowSeconds() }])
    yield* store.promote("retry", [{ raw: dead, payload: dead, queue: undefined }], nowSeconds())
    const info = JSON.stringify({
      hostname: "worker-host-with-a-long-name.eu-west-1.compute.internal",
      pid: 123456,
      queues: [longQueue, "mail", "default", "reports", "exports"],
      concurrency: 25,
      started_at: nowSeconds() - 86_400,
    })
    const work = [
      ["w0", JSON.stringify({ queue: longQueue, payload: JSON.parse(job("busy1")), run_at: nowSeconds() - 95 })],
    ] as const
    yield* store.heartbeat({
      node: `worker-host-with-a-long-name.eu-west-1.compute.internal:123456:${"a1b2c3d4e5f6".repeat(2)}`,
      ttlMillis: 60_000,
      now: Date.now(),
      info,
      busy: 1,
      rss: 187_392,
      work,
    })
    yield* store.incrementStats(1_234_567, 8_901, new Date().toISOString().slice(0, 10))
  })

  const allPages = [
    "/",
    "/queues",
    "/queues/notifications-high-priority-transactional-email",
    "/busy",
    "/retries",
    "/retries/r1",
    "/scheduled",
    "/scheduled/s1",
    "/dead",
    "/dead/d1",
    "/limits",
  ] as const

  it.live(
    "every page fits a 390 px phone and a 1366 px laptop: no horizontal scroll, the nav inside the header",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        yield* seedLong(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 0 })
        const problems: Array<string> = []
        for (const width of [390, 1366]) {
          const context = yield* Effect.acquireRelease(
            promise(() => browser.newContext({ viewport: { width, height: 844 } })),
            (context) => promise(() => context.close()),
          )
          const page = yield* promise(() => context.newPage())
          for (const path of allPages) {
            const response = yield* promise(() => page.goto(`${base}${path}`))
            assert.strictEqual(response?.status(), 200, path)
            const fit = yield* promise(() => measureFit(page))
            if (fit.scroll > fit.client) problems.push(`${path} at ${width} px: ${fit.scroll} px wide`)
            if (fit.outside.length > 0)
              problems.push(`${path} at ${width} px: nav links outside the header: ${fit.outside}`)
            yield* shoot(page, `fit-${width}${path === "/" ? "-dashboard" : path.replace(/\//g, "-")}`)
          }
        }
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped, quietLogs),
    120_000,
  )

  it.live(
    "dark mode follows the system: a dark screenshot, light text, for every page",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        yield* seedLong(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 0 })
        const page = yield* openPage
        /** The mean relative luminance (0 black, 1 white) of a PNG, decoded by the browser itself. */
        const luminance = (png: Buffer) =>
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
        yield* promise(() => page.emulateMedia({ colorScheme: "light" }))
        yield* promise(() => page.goto(`${base}/`))
        const light = yield* luminance(yield* promise(() => page.screenshot()))
        assert.isAbove(light, 0.6, "the light theme is light")
        yield* promise(() => page.emulateMedia({ colorScheme: "dark" }))
        for (const path of allPages) {
          yield* promise(() => page.goto(`${base}${path}`))
          const shot = yield* promise(() =>
            page.screenshot({
              path: join(screenshotDir, `dark${path === "/" ? "-dashboard" : path.replace(/\//g, "-")}.png`),
            }),
          )
          const dark = yield* luminance(shot)
          assert.isBelow(dark, 0.25, `${path}: the page is dark (${dark.toFixed(2)})`)
          const colors = yield* promise(() =>
            page.evaluate(() => ({
              text: getComputedStyle(document.body).color,
              main: getComputedStyle(document.querySelector("main") ?? document.body).color,
            })),
          )
          const channels = (color: string) => (color.match(/\d+/g) ?? []).slice(0, 3).map(Number)
          for (const color of [colors.text, colors.main]) {
            const [r = 0, g = 0, b = 0] = channels(color)
            assert.isAbove((0.2126 * r + 0.7152 * g + 0.0722 * b) / 255, 0.7, `${path}: light text (${color})`)
          }
        }
      }).pipe(quietLogs),
    60_000,
  )

  it.live(
    "live updates: the nav's counts follow; no poll while the tab is hidden or the live switch is off",
    () =>
      Effect.gen(function* () {
        const testStore = yield* redisKind.open
        const store = storeOf(testStore)
        const base = yield* serveWeb(testStore, { pollMillis: 250 })
        const page = yield* openPage
        // Every fetch the page's script makes, counted in the page itself.
        yield* promise(() =>
          page.addInitScript(() => {
            const w = window as unknown as { __fetches: number; fetch: typeof fetch }
            const original = w.fetch.bind(window)
            w.__fetches = 0
            w.fetch = (...args: Parameters<typeof fetch>) => {
              w.__fetches++
              return original(...args)
            }
          }),
        )
        const counter = (name: "polls" | "skipped") =>
          promise(() => page.evaluate((key) => Number(document.body.dataset[key] ?? 0), name))
        const fetches = () => promise(() => page.evaluate(() => (window as unknown as { __fetches: number }).__fetches))
        /** Waits until the script's timer has skipped `more` more ticks: the fence that polls were due. */
        const skippedMore = (more: number) =>
          Effect.flatMap(counter("skipped"), (from) =>
            promise(() =>
              page.waitForFunction((target) => Number(document.body.dataset.skipped ?? 0) >= target, from + more, {
                timeout: 10_000,
              }),
            ),
          )

        yield* promise(() => page.goto(`${base}/retries`))
        assert.strictEqual(yield* promise(() => page.textContent('[data-count="dead"]')), "0")
        const dead = wireJob("d1", { error_class: "Boom", error_message: "no", failed_at: nowSeconds() })
        yield* store.addScheduled("retry", [{ payload: dead, score: nowSeconds() }])
        yield* store.promote("retry", [{ raw: dead, payload: dead, queue: undefined }], nowSeconds())
        yield* promise(() =>
          page.waitForFunction(() => document.querySelector('[data-count="dead"]')?.textContent === "1", undefined, {
            timeout: 10_000,
          }),
        )

        // Hidden: the timer still ticks, nothing is fetched; visible again: a poll at once.
        const atHide = yield* promise(() =>
          page.evaluate(() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" })
            document.dispatchEvent(new Event("visibilitychange"))
            return (window as unknown as { __fetches: number }).__fetches
          }),
        )
        yield* skippedMore(3)
        assert.strictEqual(yield* fetches(), atHide, "no fetch while hidden")
        yield* promise(() =>
          page.evaluate(() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" })
            document.dispatchEvent(new Event("visibilitychange"))
          }),
        )
        yield* promise(() =>
          page.waitForFunction((from) => (window as unknown as { __fetches: number }).__fetches > from, atHide),
        )

        // The live switch: off stops polling, and is remembered after a reload; on polls again.
        const toggle = page.locator("[data-live-toggle]")
        yield* promise(() => toggle.uncheck())
        const atOff = yield* fetches()
        yield* skippedMore(3)
        assert.strictEqual(yield* fetches(), atOff, "no fetch with the switch off")
        yield* promise(() => page.reload())
        assert.isFalse(yield* promise(() => toggle.isChecked()), "the switch stays off after a reload")
        yield* skippedMore(2)
        assert.strictEqual(yield* fetches(), 0, "no fetch after the reload either")
        const polls = yield* counter("polls")
        yield* promise(() => toggle.check())
        yield* promise(() =>
          page.waitForFunction((from) => Number(document.body.dataset.polls ?? 0) > from, polls, { timeout: 10_000 }),
        )
      }).pipe(quietLogs),
    60_000,
  )

  it.live("a dead job is retried with a click and lands in its queue", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const dead = wireJob("d1", {
        class: "Mailer",
        queue: "mail",
        error_class: "Boom",
        error_message: "no",
        failed_at: nowSeconds(),
      })
      yield* store.addScheduled("retry", [{ payload: dead, score: nowSeconds() }])
      yield* store.promote("retry", [{ raw: dead, payload: dead, queue: undefined }], nowSeconds())
      const base = yield* serveWeb(testStore)
      const page = yield* openPage
      yield* promise(() => page.goto(`${base}/dead`))
      yield* promise(() => page.locator('tr[data-jid="d1"] button', { hasText: "Retry" }).click())
      yield* promise(() => page.waitForSelector("text=No dead jobs"))
      assert.strictEqual(yield* store.setSize("dead"), 0)
      const [queued] = yield* store.queueRange("mail", 0, -1)
      assert.strictEqual(JSON.parse(queued ?? "{}").jid, "d1")
    }).pipe(quietLogs),
  )

  it.live("pause then resume from the Queues page reaches every node (two nodes on one store)", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const a = yield* startNode(testStore, config, [Greet])
      const b = yield* startNode(testStore, config, [Greet])
      yield* a.client.enqueue(Greet, ["first"])
      const base = yield* serveWeb(testStore, { pollMillis: 0 })
      const page = yield* openPage
      yield* promise(() => page.goto(`${base}/queues`))
      yield* promise(() => page.locator('tr[data-queue="default"] button', { hasText: "Pause" }).click())
      yield* a.events.await(forQueue("QueuePaused", "default"))
      yield* b.events.await(forQueue("QueuePaused", "default"))
      yield* promise(() => page.waitForSelector('tr[data-queue="default"] .badge.paused'))
      const startedBefore = a.events.count(is("JobStarted")) + b.events.count(is("JobStarted"))
      yield* a.client.enqueue(Greet, ["while paused"])
      yield* Effect.sleep("300 millis")
      assert.strictEqual(a.events.count(is("JobStarted")) + b.events.count(is("JobStarted")), startedBefore)
      const running = forQueue("QueueRunning", "default")
      const [runningA, runningB] = [a.events.count(running), b.events.count(running)]
      yield* promise(() => page.locator('tr[data-queue="default"] button', { hasText: "Resume" }).click())
      yield* a.events.await(running, runningA + 1)
      yield* b.events.await(running, runningB + 1)
      yield* eventually(
        "the job enqueued while paused ran",
        Effect.sync(() => a.events.count(is("JobFinished")) + b.events.count(is("JobFinished")) >= 2),
      )
    }).pipe(quietLogs),
  )

  it.live("args holding <script> and <img onerror> show as text and run no script", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const evil = ["<script>alert('script')</script>", "<img src=x onerror=\"alert('img')\">"]
      const job = wireJob("x1", {
        class: "Evil<script>alert('class')</script>",
        queue: "mail",
        args: evil,
        error_class: "<img src=x onerror=alert('error')>",
        error_message: "<script>alert('message')</script>",
        error_backtrace: ["<svg onload=alert('trace')>"],
        failed_at: nowSeconds(),
      })
      yield* store.addScheduled("retry", [{ payload: job, score: nowSeconds() + 60 }])
      yield* store.enqueue("mail", [job])
      const base = yield* serveWeb(testStore, { pollMillis: 0 })
      const page = yield* openPage
      for (const [path, name] of [
        ["/retries", "xss-retries"],
        ["/retries/x1", "xss-detail"],
        ["/queues/mail", "xss-queue"],
      ] as const) {
        yield* promise(() => page.goto(`${base}${path}`))
        const text = (yield* promise(() => page.textContent("main"))) ?? ""
        assert.include(text, "<script>alert('script')</script>", path)
        assert.include(text, "onerror=", path)
        assert.strictEqual(
          yield* promise(() => page.locator("main img, main svg[onload], main script").count()),
          0,
          path,
        )
        yield* shoot(page, name)
      }
      assert.deepStrictEqual(
        yield* promise(() => page.evaluate(() => (window as unknown as { __alerts: Array<string> }).__alerts)),
        [],
      )
    }).pipe(quietLogs),
  )

  it.live("with a token set, a page without it is refused; ?token= lets the browser in", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const base = yield* serveWeb(testStore, { token: "open-sesame", prefix: "/verk", pollMillis: 0 })
      const page = yield* openPage
      const refused = yield* promise(() => page.goto(`${base}/queues`))
      assert.strictEqual(refused?.status(), 401)
      const api = yield* promise(() => page.goto(`${base}/api/overview`))
      assert.strictEqual(api?.status(), 401)
      const admitted = yield* promise(() => page.goto(`${base}/queues?token=open-sesame`))
      assert.strictEqual(admitted?.status(), 200)
      assert.strictEqual(new URL(page.url()).search, "", "the token leaves the address bar")
      assert.include(yield* promise(() => page.textContent("h1")), "Queues")
      const cookies = yield* promise(() => page.context().cookies())
      assert.isTrue(cookies.some((cookie) => cookie.name === "verk_web_token" && cookie.httpOnly))
      const again = yield* promise(() => page.goto(`${base}/dead`))
      assert.strictEqual(again?.status(), 200)
      yield* shoot(page, "token-dead")
    }).pipe(quietLogs),
  )
})
