/**
 * A running job's progress reports: checked (clamped, cut, refused), kept on the lease, published,
 * and written by the heartbeat coalesced (a few writes a second, whatever the rate of reports).
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CurrentJob, checkProgress, InvalidProgress, MaxProgressMessage } from "../src/CurrentJob.ts"
import * as Events from "../src/Events.ts"
import * as Heartbeat from "../src/internal/Heartbeat.ts"
import type { Lease } from "../src/internal/Lease.ts"
import { Node } from "../src/internal/Node.ts"
import * as ProgressBoard from "../src/internal/ProgressBoard.ts"
import * as Job from "../src/Job.ts"
import * as MemoryStore from "../src/MemoryStore.ts"
import * as Settings from "../src/Settings.ts"
import { type Heartbeat as Beat, NodeStore } from "../src/Store.ts"

const raw = '{"class":"Resize","jid":"j1","queue":"default","args":[1],"enqueued_at":1}'
const job = Job.decodeResult(raw)

describe("checkProgress", () => {
  it("clamps a finite percent into 0-100, cuts the message, refuses NaN and infinities", () => {
    assert.deepStrictEqual(checkProgress(42.5, "half"), { percent: 42.5, message: "half" })
    assert.deepStrictEqual(checkProgress(100.4), { percent: 100, message: undefined })
    assert.deepStrictEqual(checkProgress(-3, "x"), { percent: 0, message: "x" })
    assert.strictEqual((checkProgress(1, "a".repeat(1000)) as { message: string }).message.length, MaxProgressMessage)
    assert.instanceOf(checkProgress(Number.NaN), InvalidProgress)
    assert.instanceOf(checkProgress(Number.POSITIVE_INFINITY), InvalidProgress)
  })

  it.effect("CurrentJob.progress fails with InvalidProgress and sends nothing for NaN", () =>
    Effect.gen(function* () {
      const sent: Array<unknown> = []
      if (job._tag !== "Success") return assert.fail("the job decodes")
      const current = CurrentJob.fromJob(job.success, (progress) => Effect.sync(() => sent.push(progress)))
      const exit = yield* Effect.exit(current.progress(Number.NaN, "bad"))
      assert.isTrue(Exit.isFailure(exit))
      yield* current.progress(7, "ok")
      assert.deepStrictEqual(sent, [{ percent: 7, message: "ok" }])
    }),
  )
})

describe("progress writes", () => {
  it.effect("1,000 reports in one second make at most 6 heartbeat writes, the last with the last report", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2025, 0, 1))
      const beats: Array<Beat> = []
      const memory = yield* MemoryStore.make
      const counting = {
        ...memory,
        heartbeat: (beat: Beat) =>
          Effect.andThen(
            Effect.sync(() => beats.push(beat)),
            memory.heartbeat(beat),
          ),
      }
      const lease = { queue: "default", raw, startedMillis: Date.UTC(2025, 0, 1), progress: undefined } as Lease
      const services = Layer.mergeAll(
        Settings.layer({ nodeId: "n1", queues: { default: 1 }, heartbeatInterval: "1 minute" }),
        Layer.succeed(NodeStore, counting),
        ProgressBoard.layer.pipe(Layer.provideMerge(Events.layer)),
      )
      const context = yield* Layer.build(Layer.provideMerge(Node.layer, services))
      const board = Context.get(context, ProgressBoard.ProgressBoard)
      const events = Context.get(context, Events.Events)
      const seen = yield* events.subscribe
      if (job._tag !== "Success") return assert.fail("the job decodes")
      const sink = board.sink(lease, job.success)
      yield* Heartbeat.run(
        Effect.sync(() => [lease]),
        Effect.succeed([]),
      ).pipe(Effect.provideContext(context))
      assert.strictEqual(beats.length, 1, "the first beat, at start")

      for (let report = 1; report <= 1000; report++) {
        yield* sink({ percent: report / 10, message: `report ${report}` })
        yield* TestClock.adjust("1 millis")
      }
      yield* TestClock.adjust("1 second")
      const progressBeats = beats.length - 1
      assert.isAtMost(progressBeats, 6, `${progressBeats} writes`)
      assert.isAtLeast(progressBeats, 2)
      const last = beats.at(-1)!
      const entry = JSON.parse(last.work[0]![1]) as { progress: unknown; payload: { jid: string } }
      assert.deepStrictEqual(entry.progress, { percent: 100, message: "report 1000" })
      assert.strictEqual(entry.payload.jid, "j1")
      // Every report is an event, in order.
      const published = yield* seen.pipe(Stream.take(1000), Stream.runCollect)
      assert.strictEqual(published.length, 1000)
      assert.deepInclude(published.at(-1), { _tag: "JobProgress", jid: "j1", percent: 100, message: "report 1000" })
    }).pipe(Effect.scoped),
  )
})
