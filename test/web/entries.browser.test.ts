/**
 * Entries without a usable jid, acted on from the Dead page in Chromium: an entry whose bytes are
 * not UTF-8 is opened (its page shows its bytes) and deleted there, and an `order 42` entry is
 * retried from its row; each time exactly that entry leaves the set.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import * as Payload from "../../packages/core/src/Payload.ts"
import * as EntryRef from "../../packages/node/src/EntryRef.ts"
import { quietLogs } from "../runtime/support.ts"
import { describeWithChromium } from "../support/chromium.ts"
import { launchBrowser, redisKind, serveWeb, storeOf } from "./support.ts"

let browser: Browser
const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const openPage = Effect.acquireRelease(
  promise(async () => (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage()),
  (page) => promise(() => page.context().close()),
)

const notUtf8 = Payload.fromBytes(
  Buffer.concat([
    Buffer.from('{"class":"Mailer","queue":"mail","args":["caf'),
    Buffer.from([0xe9, 0xff]),
    Buffer.from('"]}'),
  ]),
)
const order42 = JSON.stringify({ class: "Billing", queue: "billing", args: [42], jid: "order 42", error_class: "Boom" })
const neighbour = JSON.stringify({ class: "Mailer", queue: "mail", args: [1], jid: "n1", error_class: "Boom" })
const NoLimits = { maxJobs: 1000, maxAgeSeconds: 1e12 }

describeWithChromium("Verk Web in Chromium: entries by reference", () => {
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it.live("an entry that is not UTF-8 is deleted from its page, an 'order 42' entry retried from its row", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const at = Date.now() / 1000
      yield* store.kill("q", "n", "none", neighbour, at - 30, NoLimits)
      yield* store.kill("q", "n", "none", notUtf8, at - 20, NoLimits)
      yield* store.kill("q", "n", "none", order42, at - 10, NoLimits)
      const binaryRef = EntryRef.of({ raw: notUtf8, score: at - 20 })
      const base = yield* serveWeb(testStore, { pollMillis: 0 })
      const page = yield* openPage

      yield* promise(() => page.goto(`${base}/dead`))
      // The malformed entry's row offers no retry (it cannot run); its link opens its page.
      const row = page.locator(`tr:has(input[value="${binaryRef}"])`)
      assert.strictEqual(yield* promise(() => row.locator("button", { hasText: "Retry" }).count()), 0)
      yield* promise(() => row.locator("a").click())
      yield* promise(() => page.waitForSelector("[data-bytes]"))
      assert.strictEqual(
        (yield* promise(() => page.locator("[data-bytes]").textContent()))?.trim(),
        Payload.base64(notUtf8),
      )
      yield* promise(() => page.locator("button", { hasText: "Delete" }).click())
      yield* promise(() => page.waitForURL(`${base}/dead`))
      assert.sameMembers(
        (yield* store.setRange("dead", 0, -1)).map(({ payload }) => payload),
        [neighbour, order42],
      )

      yield* promise(() => page.locator('tr[data-jid="order 42"] button', { hasText: "Retry" }).click())
      yield* promise(() => page.waitForFunction(() => !document.querySelector('tr[data-jid="order 42"]')))
      assert.deepStrictEqual(
        (yield* store.setRange("dead", 0, -1)).map(({ payload }) => payload),
        [neighbour],
      )
      const [queued] = yield* store.queueRange("billing", 0, -1)
      assert.strictEqual(JSON.parse(queued ?? "{}").jid, "order 42")
    }).pipe(quietLogs),
  )
})
