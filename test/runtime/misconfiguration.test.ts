/**
 * Issue 18, no silent misconfiguration: a worker whose queue this node does not serve is warned
 * about at start, two workers with one name are refused, a bad queue name is refused where it is
 * written (`Worker.make`, the client), and the testing kit's real mode serves its workers' queues.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Layer, Logger, References, Schema } from "effect"
import { Client, InvalidQueueName } from "../../packages/core/src/Client.ts"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import { MalformedJob } from "../../packages/core/src/Job.ts"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import * as Settings from "../../packages/core/src/Settings.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

const Plain = Worker.make({ name: "Plain", args: Schema.Tuple([]), perform: () => Effect.void })
const Mailer = Worker.make({ name: "Mailer", args: Schema.Tuple([]), queue: "mail", perform: () => Effect.void })

/** The warnings logged while `Verk.layer` is built: building it is the fence, its start is done. */
const warningsAtStart = (workers: ReadonlyArray<Worker.AnyWorker<never>>, queues: Readonly<Record<string, number>>) =>
  Effect.gen(function* () {
    const warnings: Array<{ readonly message: string; readonly worker: unknown; readonly queue: unknown }> = []
    const capture = Logger.make(({ logLevel, message, fiber }) => {
      if (logLevel !== "Warn") return
      const annotations = fiber.getRef(References.CurrentLogAnnotations)
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      warnings.push({ message: text, worker: annotations.worker, queue: annotations.queue })
    })
    yield* Layer.build(Verk.layer({ workers, queues }).pipe(Layer.provide(MemoryStore.layer))).pipe(
      Effect.scoped,
      Effect.provide(Logger.layer([capture])),
    )
    return warnings
  })

describe("a worker whose queue no pool of this node serves", () => {
  it.effect("is named in one warning at start, with its queue and how to serve it", () =>
    Effect.gen(function* () {
      const warnings = yield* warningsAtStart([Plain, Mailer], { default: 5 })
      const unserved = warnings.filter(({ message }) => message.includes("does not serve"))
      assert.lengthOf(unserved, 1, JSON.stringify(warnings))
      const [warning] = unserved
      assert.include(warning?.message, 'Worker Mailer uses queue "mail", which this node does not serve')
      assert.include(warning?.message, "VERK_QUEUES=default:5,mail:25")
      assert.include(warning?.message, "`queues` setting")
      assert.strictEqual(warning?.worker, "Mailer")
      assert.strictEqual(warning?.queue, "mail")
    }),
  )

  it.effect("no warning when every worker's queue is served", () =>
    Effect.gen(function* () {
      // The start that warned above is done once the layer is built: the same fence here.
      const warnings = yield* warningsAtStart([Plain, Mailer], { default: 5, mail: 1 })
      assert.deepStrictEqual(
        warnings.filter(({ message }) => message.includes("does not serve")),
        [],
      )
    }),
  )
})

describe("duplicate worker names", () => {
  const Twin = Worker.make({ name: "Twin", args: Schema.Tuple([]), perform: () => Effect.void })
  const OtherTwin = Worker.make({
    name: "Twin",
    args: Schema.Tuple([Schema.Int]),
    queue: "mail",
    perform: () => Effect.void,
  })

  const defectOf = <E>(exit: Exit.Exit<unknown, E>): unknown => {
    assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause), String(exit))
    return Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  }

  it.effect("two different workers with one name are a defect when Verk.layer is built, naming it", () =>
    Effect.gen(function* () {
      const layer = Verk.layer({ workers: [Twin, OtherTwin], queues: { default: 1, mail: 1 } }).pipe(
        Layer.provide(MemoryStore.layer),
      )
      const defect = defectOf(yield* Effect.exit(Effect.scoped(Layer.build(layer))))
      assert.instanceOf(defect, Worker.DuplicateWorkerName)
      assert.include((defect as Error).message, 'Two different workers are named "Twin" (queues default and mail)')
    }),
  )

  it.effect("Worker.layerRegistry refuses them too", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(Worker.layerRegistry([Twin, Plain, OtherTwin]))))
      assert.instanceOf(defectOf(exit), Worker.DuplicateWorkerName)
    }),
  )

  it.effect("the same worker listed twice counts once", () =>
    Effect.gen(function* () {
      const names = yield* Effect.gen(function* () {
        return (yield* Worker.WorkerRegistry).names
      }).pipe(Effect.provide(Worker.layerRegistry([Twin, Plain, Twin])))
      assert.deepStrictEqual(names, ["Twin", "Plain"])
    }),
  )
})

describe("invalid queue names", () => {
  it("Worker.make throws InvalidQueueName, stating the rule", () => {
    assert.throws(
      () => Worker.make({ name: "Spaced", args: Schema.Tuple([]), queue: "mail box", perform: () => Effect.void }),
      `Invalid queue for Spaced: "mail box" is not a queue name: ${Settings.QueueNameRule}`,
    )
    assert.throws(
      () => Worker.make({ name: "Empty", args: Schema.Tuple([]), queue: "", perform: () => Effect.void }),
      Worker.InvalidQueueName,
    )
    assert.doesNotThrow(() =>
      Worker.make({ name: "Dotted", args: Schema.Tuple([]), queue: "mail.low-1", perform: () => Effect.void }),
    )
  })

  it.effect("enqueue, enqueueMany and schedule fail with InvalidQueueName, and write nothing", () =>
    Effect.gen(function* () {
      const client = yield* Client
      const bad = { queue: "mail box" }
      const errors = [
        yield* Effect.flip(client.enqueue(Mailer, [], bad)),
        yield* Effect.flip(client.enqueueMany(Mailer, [[], []], bad)),
        yield* Effect.flip(client.schedule(Mailer, [], "1 hour", bad)),
      ]
      for (const error of errors) {
        assert.instanceOf(error, InvalidQueueName)
        assert.strictEqual(error._tag, "InvalidQueueName")
        assert.strictEqual(
          error.message,
          `Invalid queue for Mailer: "mail box" is not a queue name: ${Settings.QueueNameRule}`,
        )
      }
      // The calls have returned: had any written, its job would be listed now.
      assert.deepStrictEqual(yield* Testing.enqueued(Mailer), [])
      // The same calls with a good queue do write.
      yield* client.enqueue(Mailer, [], { queue: "mail.low" })
      assert.deepStrictEqual(
        (yield* Testing.enqueued(Mailer)).map(({ job }) => job.queue),
        ["mail.low"],
      )
    }).pipe(Effect.provide(Testing.layerFake([Mailer]))),
  )

  it.effect("enqueueRaw and scheduleRaw fail with MalformedJob, stating the rule, and write nothing", () =>
    Effect.gen(function* () {
      const client = yield* Client
      const input = { class: "Mailer", args: [], queue: "mail box" }
      const errors = [
        yield* Effect.flip(client.enqueueRaw(input)),
        yield* Effect.flip(client.scheduleRaw(input, "1 hour")),
      ]
      for (const error of errors) {
        assert.instanceOf(error, MalformedJob)
        assert.include(error.message, `"mail box" is not a queue name: ${Settings.QueueNameRule}`)
      }
      assert.deepStrictEqual(yield* Testing.enqueued(Mailer), [])
    }).pipe(Effect.provide(Testing.layerFake([Mailer]))),
  )
})

describe("Testing.layerReal", () => {
  it.live("serves its workers' queues: a job of a worker on queue mail runs", () =>
    Effect.gen(function* () {
      const ran = yield* Deferred.make<string>()
      const OnMail = Worker.make({
        name: "OnMail",
        args: Schema.Tuple([]),
        queue: "mail",
        perform: () => Effect.flatMap(CurrentJob, (job) => Deferred.succeed(ran, job.queue)),
      })
      yield* Effect.gen(function* () {
        yield* Client.use((client) => client.enqueue(OnMail, []))
        // Our own push wakes the queue at once; unserved, the job would wait forever.
        const queue = yield* Deferred.await(ran).pipe(
          Effect.timeoutOrElse({
            duration: "5 seconds",
            orElse: () => Effect.die(new Error("the job on queue mail never ran")),
          }),
        )
        assert.strictEqual(queue, "mail")
      }).pipe(Effect.provide(Testing.layerReal([Plain, OnMail])))
    }),
  )
})
