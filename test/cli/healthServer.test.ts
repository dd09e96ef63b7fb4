/**
 * HealthServer.layer in-process, on the in-memory store: the thread answers /healthz from the
 * snapshot the node writes (its health, its running jobs, the loop's limit), HEAD too, 404 elsewhere.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Schedule, Schema } from "effect"
import * as Client from "../../packages/core/src/Client.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as HealthServer from "../../packages/node/src/HealthServer.ts"
import { freePort } from "../support/redisServer.ts"

const Started = Deferred.makeUnsafe<void>()
const Release = Deferred.makeUnsafe<void>()
const Held = Worker.make({
  name: "HealthServerHeld",
  args: Schema.Tuple([]),
  perform: () => Deferred.succeed(Started, undefined).pipe(Effect.andThen(Deferred.await(Release))),
})

interface Body {
  readonly nodeId: string
  readonly healthy: boolean
  readonly running: ReadonlyArray<{ queue: string; class: string; jid: string; startedAt: string }>
  readonly eventLoop: { readonly blockedMillis: number; readonly limitMillis: number }
  readonly reason?: string
}

const get = (url: string, method = "GET") =>
  Effect.promise(async () => {
    const response = await fetch(url, { method, signal: AbortSignal.timeout(2_000) })
    return { status: response.status, text: await response.text() }
  })

it.live("answers from the node's snapshot: health, running jobs and the loop's limit", () =>
  Effect.gen(function* () {
    const port = yield* Effect.promise(freePort)
    const url = `http://127.0.0.1:${port}/healthz`
    yield* Layer.build(HealthServer.layer({ port, loopBlockedLimit: "2 seconds" }))
    const verk = yield* Verk.Verk
    const first = yield* get(url)
    assert.strictEqual(first.status, 200)
    const body = JSON.parse(first.text) as Body
    assert.strictEqual(body.nodeId, verk.nodeId)
    assert.isTrue(body.healthy)
    assert.deepStrictEqual(body.running, [])
    assert.strictEqual(body.eventLoop.limitMillis, 2_000)
    assert.isBelow(body.eventLoop.blockedMillis, 2_000)
    assert.isUndefined(body.reason)

    const job = yield* Client.enqueue(Held, [])
    yield* Deferred.await(Started)
    // Listed once the next snapshot is taken (every 250 ms).
    const listed = yield* get(url).pipe(
      Effect.map((answer) => JSON.parse(answer.text) as Body),
      Effect.repeat({ until: (answer) => answer.running.length > 0, schedule: Schedule.spaced("50 millis") }),
      Effect.timeout("5 seconds"),
    )
    assert.deepInclude(listed.running[0], { queue: "default", class: "HealthServerHeld", jid: job.jid })
    assert.isFalse(Number.isNaN(Date.parse(listed.running[0]?.startedAt ?? "")))
    yield* Deferred.succeed(Release, undefined)

    const head = yield* get(url, "HEAD")
    assert.strictEqual(head.status, 200)
    assert.strictEqual(head.text, "")
    assert.strictEqual((yield* get(`http://127.0.0.1:${port}/elsewhere`)).status, 404)
  }).pipe(Effect.scoped, Effect.provide(Testing.layerReal([Held], { queues: { default: 2 } }))),
)

it.live("a taken port fails the layer with the thread's error", () =>
  Effect.gen(function* () {
    const port = yield* Effect.promise(freePort)
    yield* Layer.build(HealthServer.layer({ port }))
    const error = yield* Layer.build(HealthServer.layer({ port })).pipe(Effect.flip)
    assert.strictEqual(error._tag, "HealthThreadFailed")
    assert.strictEqual((error.cause as { code?: string }).code, "EADDRINUSE")
  }).pipe(Effect.scoped, Effect.provide(Testing.layerReal([Held], { queues: { default: 1 } }))),
)
