/**
 * Cancelling from Verk Web: `POST /api/jobs/cancel` removes a waiting job and says which jids
 * neither waited nor ran; the Busy page has a Cancel button for each running job, and a scheduled
 * or retrying job's page has one too. On a real Redis store.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { redisKind, storeOf, webHandler, wireJob } from "./support.ts"

const json = (response: Response) => Effect.promise(() => response.json() as Promise<Record<string, unknown>>)
const text = (response: Response) => Effect.promise(() => response.text())

describe("Verk Web: cancelling jobs", () => {
  it.live("the API cancels by jid; Busy and job pages carry Cancel buttons", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("mail", [wireJob("q1", { queue: "mail" })])
      yield* store.addScheduled("schedule", [{ payload: wireJob("s1"), score: Date.now() / 1000 + 600 }])
      const fetch = yield* webHandler(testStore)
      const { token } = (yield* json(yield* fetch("/api/csrf"))) as { token: string }
      const post = (body: unknown) =>
        fetch("/api/jobs/cancel", {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": token },
          body: JSON.stringify(body),
        })

      const cancelled = yield* post({ jids: ["q1", "gone"] })
      assert.strictEqual(cancelled.status, 200)
      const reply = yield* json(cancelled)
      assert.deepInclude(reply, { count: 1, missing: ["gone"] })
      assert.deepStrictEqual(
        (reply.results as Array<Record<string, unknown>>).map((result) => result.outcome),
        ["Removed", "Finished"],
      )
      assert.strictEqual(yield* store.queueSize("mail"), 0)
      // Cancelling again is harmless, and says so.
      const again = yield* json(yield* post({ jids: ["q1"] }))
      assert.deepInclude(again, { count: 0, missing: [] })
      assert.strictEqual((again.results as Array<Record<string, unknown>>)[0]?.outcome, "AlreadyCancelled")
      assert.strictEqual((yield* post({ jids: ["<bad>"] })).status, 400)
      assert.strictEqual((yield* post({ jids: [] })).status, 400)

      const work = [
        [
          "w0",
          JSON.stringify({
            queue: "mail",
            payload: JSON.parse(wireJob("run1")),
            run_at: Math.floor(Date.now() / 1000),
          }),
        ],
      ] as const
      yield* store.heartbeat({ node: "node-a", ttlMillis: 60_000, now: Date.now(), info: "{}", busy: 1, work })
      const busy = yield* text(yield* fetch("/busy"))
      assert.include(busy, 'data-post="api/jobs/cancel" data-jid="run1"')
      const scheduled = yield* text(yield* fetch("/scheduled/s1"))
      assert.include(scheduled, 'data-post="api/jobs/cancel" data-jid="s1"')
    }),
  )
})
