/**
 * Verk Web's periodic entries through the JSON API and the Periodic page: the listing (cron, time
 * zone, worker, last and next run, paused), pause, resume and run now with the CSRF token, an
 * unknown entry a 404, a bad name a 400, a POST without the token a 403.
 */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import type { PeriodicView } from "../../packages/node/src/web/PeriodicApi.ts"
import { forJid, quietLogs } from "../runtime/support.ts"
import { startPeriodicNode } from "./periodicSupport.ts"
import { redisKind, webHandler } from "./support.ts"

const json = (response: Response) => Effect.promise(() => response.json() as Promise<unknown>)
const text = (response: Response) => Effect.promise(() => response.text())

it.live("the periodic entries: listed, paused, resumed and run now through the API; the page shows them", () =>
  Effect.gen(function* () {
    const testStore = yield* redisKind.open
    const events = yield* startPeriodicNode(testStore)
    const fetch = yield* webHandler(testStore)
    const list = Effect.flatMap(fetch("/api/periodic"), json) as Effect.Effect<ReadonlyArray<PeriodicView>>
    const { token } = (yield* Effect.flatMap(fetch("/api/csrf"), json)) as { token: string }
    const post = (path: string, headers: Record<string, string> = { "x-csrf-token": token }) =>
      fetch(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" })

    const before = yield* list
    assert.deepStrictEqual(before.map((entry) => entry.name).sort(), ["minutely", "nightly"])
    const nightly = before.find((entry) => entry.name === "nightly")
    assert.deepInclude(nightly, {
      cron: "0 3 * * *",
      timeZone: "Europe/Paris",
      class: "Report",
      queue: "default",
      missed: "skip",
      paused: false,
    })
    assert.isAbove(nightly?.nextRun ?? 0, Date.now())
    // 03:00 in Paris is 01:00 or 02:00 UTC.
    assert.include([1, 2], new Date(nightly?.nextRun ?? 0).getUTCHours())

    // Without the CSRF token: refused, nothing paused.
    assert.strictEqual((yield* post("/api/periodic/nightly/pause", {})).status, 403)
    assert.isFalse((yield* list).find((entry) => entry.name === "nightly")?.paused)

    const paused = yield* post("/api/periodic/nightly/pause")
    assert.strictEqual(paused.status, 200)
    assert.deepStrictEqual(yield* json(paused), { ok: true })
    assert.isTrue((yield* list).find((entry) => entry.name === "nightly")?.paused)
    const page = yield* Effect.flatMap(fetch("/periodic"), text)
    assert.include(page, '<a href="/periodic" class="on">Periodic</a>')
    assert.include(page, '<button data-post="api/periodic/nightly/resume">Resume</button>')
    assert.include(page, '<button data-post="api/periodic/minutely/pause">Pause</button>')
    assert.include(page, '<span class="mono">0 3 * * *</span> <span class="muted"><bdi>Europe/Paris</bdi></span>')
    assert.strictEqual((yield* post("/api/periodic/nightly/resume")).status, 200)
    assert.isFalse((yield* list).find((entry) => entry.name === "nightly")?.paused)

    // Run now: a node enqueues it within its poll interval, and it runs.
    const ran = (yield* Effect.flatMap(post("/api/periodic/nightly/run-now"), json)) as { ok: boolean; jid: string }
    assert.isTrue(ran.ok)
    assert.match(ran.jid, /^periodic-nightly-now-\d+$/)
    yield* events.await(forJid("JobFinished", ran.jid), 1, { timeout: "10 seconds" })

    const unknown = yield* post("/api/periodic/weekly/pause")
    assert.strictEqual(unknown.status, 404)
    assert.include(((yield* json(unknown)) as { message: string }).message, "weekly")
    assert.strictEqual((yield* post("/api/periodic/a%20b/run-now")).status, 400)
    assert.strictEqual((yield* post("/api/periodic/a%20b/pause")).status, 400)
  }).pipe(Effect.scoped, quietLogs),
)
