/**
 * Issue 9, defect 7: an enqueue whose reply is lost is not pushed twice. ioredis resends a command
 * that got no reply once it has reconnected; when Redis had already run `enqueue.lua`, the resend
 * pushed the same job again (same jid: it ran twice). Here 16 loops enqueue through the library's
 * own store while every client connection is killed 15 times (`CLIENT KILL TYPE normal`, which
 * spares the test's admin connection that sends it), 0.25 s apart. Every jid must be in the queue
 * exactly once, and every enqueue that succeeded must be there.
 */
import { Effect, Fiber, Layer, Ref } from "effect"
import { describe, expect, it } from "vitest"
import * as Client from "../../packages/core/src/Client.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { parse, privateRedis, sleep } from "./support.ts"
import { Record } from "./workers.ts"

const Loops = 16
const Kills = 15
const KillEveryMillis = 250

const local = privateRedis()

describe("an enqueue resent after a lost reply", () => {
  it("pushes nothing twice: every jid is in the queue once", async () => {
    const enqueued = await Effect.runPromise(
      Effect.gen(function* () {
        const client = yield* Client.Client
        const stop = yield* Ref.make(false)
        const jids: Array<string> = []
        let failed = 0
        const loop = Effect.gen(function* () {
          while (!(yield* Ref.get(stop))) {
            const result = yield* Effect.result(client.enqueue(Record, [0]))
            if (result._tag === "Success") jids.push(result.success.jid)
            else failed++
          }
        })
        const fibers = yield* Effect.forEach(Array.from({ length: Loops }), () => Effect.forkChild(loop))
        let killed = 0
        for (let kill = 0; kill < Kills; kill++) {
          yield* Effect.promise(() => sleep(KillEveryMillis))
          killed += Number(yield* Effect.promise(() => local.redis.call("CLIENT", "KILL", "TYPE", "normal")))
        }
        yield* Ref.set(stop, true)
        yield* Fiber.joinAll(fibers)
        return { jids, failed, killed }
      }).pipe(Effect.provide(Client.layer.pipe(Layer.provide(RedisStore.layer({ url: local.server.url }))))),
    )

    const queued = (await local.redis.lrange("queue:default", 0, -1)).map((raw) => parse(raw).jid)
    const counts = new Map<string, number>()
    for (const jid of queued) counts.set(jid, (counts.get(jid) ?? 0) + 1)
    const twice = [...counts].filter(([, count]) => count > 1)
    const missing = enqueued.jids.filter((jid) => !counts.has(jid))
    console.log(
      `${Loops} enqueue loops, ${Kills} kills (${enqueued.killed} connections): ${enqueued.jids.length} enqueued, ` +
        `${enqueued.failed} failed, ${queued.length} in the queue, ${twice.length} pushed twice`,
    )
    // The kills did bite: the store's connection was among those killed each time.
    expect(enqueued.killed).toBeGreaterThanOrEqual(Kills)
    expect(enqueued.jids.length).toBeGreaterThan(1_000)
    expect(twice).toEqual([])
    expect(missing).toEqual([])
  }, 60_000)
})
