/**
 * Jobs in worker threads, the runtime's side (core's Threads.ts): a threaded worker on a node with
 * no thread pool is named at start and its jobs fail with `ThreadsUnavailable` (retried); the
 * plain-data path a thread's answer takes (`settle`, then `toExit` in the node) keeps the job's
 * result, its error class and message, and the worker's `retryable` verdict, as the testing kit's
 * real mode shows (it runs threaded workers in process through that path). The real threads are
 * tested under `verk run` (test/cli/threads.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Client from "../../packages/core/src/Client.ts"
import * as CurrentJob from "../../packages/core/src/CurrentJob.ts"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import { ResultStore } from "../../packages/core/src/Store.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

class Declined extends Schema.TaggedError<Declined>()("Declined", { card: Schema.String }) {}

const Charge = Worker.make({
  name: "Charge",
  thread: true,
  args: Schema.Tuple([Schema.String, Schema.Int]), // [card, cents]
  success: Schema.Struct({ card: Schema.String, cents: Schema.Int }),
  error: Declined,
  retryable: (error) => error._tag !== "Declined",
  perform: ([card, cents]) =>
    Effect.gen(function* () {
      yield* Effect.orDie(CurrentJob.progress(50, "authorizing"))
      if (card === "stolen") return yield* new Declined({ card })
      if (card === "flaky") return yield* Effect.die(new Error("gateway timeout"))
      return { card, cents }
    }),
})

describe("a threaded worker on a node without a thread pool", () => {
  it.effect("is named in a warning at start, and its jobs fail with ThreadsUnavailable and are retried", () =>
    Effect.gen(function* () {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const node = Verk.layer({ workers: [Charge], queues: { default: 2 }, pollInterval: "1 hour" }).pipe(
        Layer.provideMerge(Client.layer),
        Layer.provideMerge(MemoryStore.layer),
        Layer.provide(Logger.layer([capture])),
      )
      const retried = yield* Effect.gen(function* () {
        const job = yield* Client.enqueue(Charge, ["visa", 100])
        // The retry set is the fence: the job ran (or tried to) and its failure is written.
        for (let turn = 0; turn < 200; turn++) {
          const found = (yield* Testing.retries).find((entry) => entry.jid === job.jid)
          if (found !== undefined) return found
          yield* TestClock.adjust("10 millis")
        }
        return undefined
      }).pipe(Effect.provide(node))
      assert.include(
        warnings.join("\n"),
        "Worker Charge runs in worker threads (thread: true), but this node has no thread pool",
      )
      assert.strictEqual(retried?.error_class, "ThreadsUnavailable")
      assert.include(retried?.error_message ?? "", "Charge runs in worker threads")
    }),
  )
})

describe("the testing kit's real mode runs threaded workers through the threads' plain-data path", () => {
  const layer = Testing.layerReal([Charge])

  it.effect("a success comes back encoded, is kept as the job's result, and progress reaches the node", () =>
    Effect.gen(function* () {
      const job = yield* Client.enqueue(Charge, ["visa", 250])
      // The ack is written in a batch (Acker.ts): time passes until its event is there.
      for (let turn = 0; turn < 100; turn++) {
        const events = yield* Testing.events
        if (events.some((event) => event._tag === "JobFinished" && event.jid === job.jid)) break
        yield* TestClock.adjust("10 millis")
      }
      const events = yield* Testing.events
      assert.isTrue(
        events.some((event) => event._tag === "JobFinished" && event.jid === job.jid),
        JSON.stringify(events.map((event) => [event._tag, "error" in event ? event.error : ""])),
      )
      assert.isTrue(events.some((event) => event._tag === "JobFinished" && event.jid === job.jid))
      const record = yield* ResultStore.use((store) => store.readResult(job.jid))
      assert.deepStrictEqual(JSON.parse(record ?? "null"), { status: "succeeded", value: { card: "visa", cents: 250 } })
      const progress = events.find((event) => event._tag === "JobProgress" && event.jid === job.jid)
      assert.strictEqual(progress?._tag === "JobProgress" ? progress.message : undefined, "authorizing")
    }).pipe(Effect.provide(layer)),
  )

  it.effect(
    "a typed failure keeps its class, fields and encoded value; retryable's no, decided where the error is, buries it",
    () =>
      Effect.gen(function* () {
        const job = yield* Client.enqueue(Charge, ["stolen", 250])
        yield* TestClock.adjust("1 second")
        const [dead] = yield* Testing.dead
        assert.strictEqual(dead?.jid, job.jid)
        assert.strictEqual(dead?.error_class, "Declined")
        assert.include(dead?.error_message ?? "", "card: stolen")
        assert.lengthOf(yield* Testing.retries, 0)
        // The typed error crossed encoded by the worker's `error` schema, and is kept as such.
        const record = JSON.parse((yield* ResultStore.use((store) => store.readResult(job.jid))) ?? "null")
        assert.strictEqual(record?.status, "died")
        assert.strictEqual(record?.errorClass, "Declined")
        assert.deepStrictEqual(record?.error, { _tag: "Declined", card: "stolen" })
      }).pipe(Effect.provide(layer)),
  )

  it.effect("any other failure is retried with its own class and message", () =>
    Effect.gen(function* () {
      const job = yield* Client.enqueue(Charge, ["flaky", 250])
      yield* TestClock.adjust("1 second")
      const [retried] = yield* Testing.retries
      assert.strictEqual(retried?.jid, job.jid)
      assert.strictEqual(retried?.error_class, "Error")
      assert.strictEqual(retried?.error_message, "gateway timeout")
      assert.isNotEmpty(retried?.error_backtrace ?? [])
    }).pipe(Effect.provide(layer)),
  )
})
