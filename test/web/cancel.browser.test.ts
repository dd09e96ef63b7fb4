/**
 * The Cancel buttons of Verk Web in Chromium: a scheduled job is cancelled from its page (after the
 * confirmation) and leaves the schedule set; a running job is cancelled from the Busy page, and its
 * cancel is recorded for the node that runs it.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { quietLogs } from "../runtime/support.ts"
import { describeWithChromium } from "../support/chromium.ts"
import { launchBrowser, redisKind, serveWeb, storeOf, wireJob } from "./support.ts"

let browser: Browser
const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const openPage = Effect.acquireRelease(
  promise(async () => (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage()),
  (page) => promise(() => page.context().close()),
)

describeWithChromium("Verk Web in Chromium: Cancel buttons", () => {
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it.live("a scheduled job is cancelled from its page, a running one from the Busy page", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const now = Date.now()
      yield* store.addScheduled("schedule", [{ payload: wireJob("later1"), score: now / 1000 + 600 }])
      const running = wireJob("run1")
      yield* store.enqueue("default", [running])
      yield* store.fetch("default", "node-a", 1)
      const work = [
        ["w0", JSON.stringify({ queue: "default", payload: JSON.parse(running), run_at: now / 1000 })],
      ] as const
      yield* store.heartbeat({ node: "node-a", ttlMillis: 60_000, now, info: "{}", busy: 1, work })
      const base = yield* serveWeb(testStore, { pollMillis: 0 })
      const page = yield* openPage
      const questions: Array<string> = []
      page.on("dialog", (dialog) => {
        questions.push(dialog.message())
        void dialog.accept()
      })

      yield* promise(() => page.goto(`${base}/scheduled/later1`))
      yield* promise(() => page.locator("button", { hasText: "Cancel" }).click())
      yield* promise(() => page.waitForURL(`${base}/scheduled`))
      assert.strictEqual(yield* store.setSize("schedule"), 0)

      yield* promise(() => page.goto(`${base}/busy`))
      yield* promise(() => page.locator("tr:has-text('run1') button", { hasText: "Cancel" }).click())
      yield* promise(() => page.waitForLoadState("load"))
      // The node running it reads the marker (and hears the notification): here, the marker is there.
      yield* Effect.gen(function* () {
        while (!(yield* store.cancelledJids(Date.now())).includes("run1")) yield* Effect.sleep("20 millis")
      }).pipe(Effect.timeout("10 seconds"))
      assert.deepStrictEqual(questions, ["Cancel TestWorker later1?", "Cancel TestWorker run1?"])
    }).pipe(quietLogs),
  )
})
