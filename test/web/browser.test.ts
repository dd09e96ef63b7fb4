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
import { launchBrowser, redisKind, screenshotDir, serveWeb, storeOf, wireJob } from "./support.ts"

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
