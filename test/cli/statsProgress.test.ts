/**
 * `verk stats` lists the jobs running now with their last progress report (`CurrentJob.progress`):
 * a node in this process runs a job that reports and waits; `verk stats` is a real process.
 */
import { assert, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Schema, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Client } from "../../packages/core/src/Client.ts"
import * as CurrentJob from "../../packages/core/src/CurrentJob.ts"
import { Events, type VerkEvent } from "../../packages/core/src/Events.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { StatsDocument } from "../../packages/node/src/cli/stats.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { verk } from "./support.ts"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server.stop()
})

it.live(
  "verk stats shows a running job's last progress report, in the table and in --json",
  () =>
    Effect.gen(function* () {
      const namespace = uniqueNamespace()
      const release = yield* Deferred.make<void>()
      const Import = Worker.make({
        name: "ImportFile",
        args: Schema.Tuple([]),
        perform: () =>
          Effect.gen(function* () {
            for (let step = 1; step <= 10; step++) yield* CurrentJob.progress(step * 4, `row ${step * 100}`)
            yield* Deferred.await(release)
          }),
      })
      const context = yield* Layer.build(
        Verk.layer({
          workers: [Import],
          queues: { default: 1 },
          pollInterval: "200 millis",
          shutdownTimeout: "200 millis",
          logLevels: { start: "None", done: "None", fail: "None" },
        }).pipe(Layer.provideMerge(RedisStore.layer({ url: server.url, namespace }))),
      )
      const events = yield* Context.get(context, Events).subscribe
      const { jid } = yield* Context.get(context, Client).enqueue(Import, [])
      const env = { REDIS_URL: server.url, VERK_NAMESPACE: namespace }
      // The last report is an event at once, and in the store within a progress interval.
      yield* Stream.runDrain(
        Stream.takeUntil(events, (event: VerkEvent) => event._tag === "JobProgress" && event.percent === 40),
      )
      let document = yield* read(env)
      for (let attempt = 0; attempt < 50 && document.running[0]?.progress?.percent !== 40; attempt++) {
        yield* Effect.sleep("100 millis")
        document = yield* read(env)
      }
      assert.strictEqual(document.running.length, 1)
      assert.deepInclude(document.running[0], { queue: "default", class: "ImportFile", jid })
      assert.deepStrictEqual(document.running[0]?.progress, { percent: 40, message: "row 1000" })
      const table = yield* Effect.promise(() => verk(["stats"], env))
      assert.strictEqual(table.code, 0, table.stderr)
      assert.match(table.stdout, /^RUNNING +QUEUE +JID +FOR +PROGRESS$/m)
      assert.match(table.stdout, new RegExp(`^ImportFile +default +${jid} +\\S+ +40% row 1000$`, "m"))
      yield* Deferred.succeed(release, undefined)
    }).pipe(Effect.scoped),
  60_000,
)

const read = (env: Record<string, string>) =>
  Effect.promise(async () => {
    const result = await verk(["stats", "--json"], env)
    assert.strictEqual(result.code, 0, result.stderr)
    return Schema.decodeUnknownSync(Schema.fromJsonString(StatsDocument))(result.stdout)
  })
