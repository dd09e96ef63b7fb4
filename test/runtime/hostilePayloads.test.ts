/**
 * Acceptance (issue 9): hostile payloads never stop a node or change a job in flight. A job nested
 * 10,000 deep gets its outcome like any other; a bad member of `schedule` does not stop promotion;
 * numbers beyond 2^53 and unknown keys survive schedule → promote → fail → retry → requeue → dead
 * byte for byte; `stat:processed` counts every run; a bad payload gets one log line that names it
 * without quoting it whole; dead-letter writes are retried; and a failure of Verk's own while
 * handling a job still ends in an outcome.
 */
import { assert, it } from "@effect/vitest"
import { Clock, DateTime, Effect, Exit, Logger, References, Schema, Scope } from "effect"
import { Redis } from "ioredis"
import type { JobDead, JobFailed } from "../../packages/core/src/Events.ts"
import * as Inspection from "../../packages/core/src/Inspection.ts"
import { StoreError, type StoreShape, context as storeContext } from "../../packages/core/src/Store.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import {
  eventually,
  forEachStore,
  forJid,
  is,
  parse,
  queueJobs,
  type StoreKind,
  setEntries,
  startNode,
  type TestStore,
} from "./support.ts"

const config = { queues: { default: 3 }, pollInterval: "200 millis", shutdownTimeout: "200 millis" } as const

const Depth = 10_000
const deepArgs = `[${"[".repeat(Depth)}${"]".repeat(Depth)}]`

/** A job whose args nest `Depth` arrays deep, as raw text. */
const deepJob = (jid: string, className: string, extra = "") =>
  `{"class":"${className}","queue":"default","args":${deepArgs},"jid":"${jid}"${extra}}`

/** The text of `raw` up to its closing brace: what a patched job must still start with. */
const body = (raw: string) => raw.slice(0, raw.lastIndexOf("}"))

// ---------------------------------------------------------------------------------------------
// Log lines
// ---------------------------------------------------------------------------------------------

interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Runs `effect` with every log line at Warn or above recorded in `lines` (and none printed). */
const withLogs = <A, E, R>(lines: Array<Line>, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(
      Logger.layer([
        Logger.make(({ logLevel, message, fiber }) => {
          lines.push({
            level: logLevel,
            message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
            annotations: { ...fiber.getRef(References.CurrentLogAnnotations) },
          })
        }),
      ]),
    ),
    Effect.provideService(References.MinimumLogLevel, "Warn"),
  )

// ---------------------------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------------------------

/** The members of a sorted set as stored: through a client of our own for Redis. */
const rawMembers = (testStore: TestStore, set: "schedule" | "retry" | "dead") =>
  testStore.redis === undefined
    ? Effect.map(testStore.store.setRange(set, 0, -1), (members) => members.map(({ payload }) => payload))
    : Effect.promise(async () => {
        const { url, namespace, keyScheme } = testStore.redis!
        const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
        try {
          await client.connect()
          // The cluster key scheme keeps each home queue's part of a set apart: these jobs' home is default.
          return await client.zrange(`${namespace}:${set}${keyScheme === "cluster" ? ":{default}" : ""}`, "0", "-1")
        } finally {
          client.disconnect()
        }
      })

/** The same store with some operations replaced. */
const withStore = (testStore: TestStore, change: (store: StoreShape) => Partial<StoreShape>): TestStore => {
  const store: StoreShape = { ...testStore.store, ...change(testStore.store) }
  return { ...testStore, store, context: storeContext(store) }
}

const nowSeconds = Effect.map(Clock.currentTimeMillis, (millis) => millis / 1000)

const hostile = (kind: StoreKind) => {
  it.live("a job with args nested 10,000 deep gets its outcome (retry or dead), byte for byte, and runs once", () => {
    const lines: Array<Line> = []
    return Effect.gen(function* () {
      const store = yield* kind.open
      const Deep = Worker.make({
        name: "Deep",
        args: Schema.Array(Schema.Unknown),
        perform: () => Effect.fail("deep fails"),
      })
      const Ok = Worker.make({ name: "Ok", args: Schema.Tuple([]), perform: () => Effect.void })
      const node = yield* startNode(store, { ...config, logLevels: { fail: "Warn" } }, [Deep, Ok])
      const toRetry = deepJob("deep-retry", "Deep")
      const toDead = deepJob("deep-dead", "Nobody", ',"retry":false')
      yield* store.store.enqueue("default", [toRetry, toDead])

      const [failed] = yield* node.events.await<JobFailed>(forJid("JobFailed", "deep-retry"))
      assert.match(failed?.error ?? "", /deep fails/)
      assert.isDefined(failed?.retryAt)
      const [dead] = yield* node.events.await<JobDead>(forJid("JobDead", "deep-dead"))
      assert.match(dead?.reason ?? "", /UnknownJobClass/)

      const [retried] = yield* rawMembers(store, "retry")
      assert.isTrue(retried?.startsWith(body(toRetry)), "the retry entry is the job's own text, args included")
      assert.strictEqual(parse(retried ?? "{}").retry_count, 0)
      const [buried] = yield* rawMembers(store, "dead")
      assert.isTrue(buried?.startsWith(body(toDead)), "the dead entry is the job's own text, args included")
      assert.strictEqual(parse(buried ?? "{}").error_class, "UnknownJobClass")

      // The outcomes took both jobs out of progress in the same write: nothing is left to re-run.
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      assert.strictEqual(yield* store.store.queueSize("default"), 0)
      const later = yield* node.client.enqueue(Ok, [])
      yield* node.events.await(forJid("JobFinished", later.jid))
      assert.strictEqual(node.events.count(forJid("JobStarted", "deep-retry")), 1)
      assert.strictEqual(node.events.count(forJid("JobStarted", "deep-dead")), 1)

      assert.isTrue(lines.some((line) => /^fail Deep deep-retry /.test(line.message)))
      assert.isTrue(lines.some((line) => /^dead Nobody deep-dead/.test(line.message)))
      assert.isFalse(
        lines.some((line) => line.level === "Error"),
        lines.map((line) => line.message).join("\n"),
      )
    }).pipe((effect) => withLogs(lines, effect))
  })

  it.live(
    "bad members of schedule do not stop promotion: the good job runs, the bad are handled, later jobs run",
    () => {
      const lines: Array<Line> = []
      return Effect.gen(function* () {
        const store = yield* kind.open
        const Ok = Worker.make({ name: "Ok", args: Schema.Tuple([]), perform: () => Effect.void })
        const node = yield* startNode(store, { ...config, logLevels: { fail: "Warn" } }, [Ok])
        const deep = deepJob("deep-scheduled", "Nobody", ',"retry":false')
        const good = JSON.stringify({ class: "Ok", queue: "default", args: [], jid: "good-scheduled" })
        const notJson = '{"class":"Ok","queue":"default","jid":"cut-short","args":['
        const deepClass = `{"class":${deepArgs},"queue":"default","args":[],"jid":"deep-class"}`
        const due = (yield* nowSeconds) - 1
        yield* store.store.addScheduled(
          "schedule",
          [deep, good, notJson, deepClass].map((payload) => ({ payload, score: due })),
        )

        yield* node.events.await(forJid("JobFinished", "good-scheduled"))
        // The deep job is a job: promoted, run, and dead (unknown class, no retries).
        yield* node.events.await(forJid("JobDead", "deep-scheduled"))
        // The two that are not jobs go from the schedule to dead, each with an event.
        const malformed = yield* node.events.await<JobDead>(
          is("JobDead", (event) => event.jid === undefined),
          2,
        )
        for (const event of malformed) assert.match(event.reason, /Malformed job payload/)

        const later = yield* node.client.schedule(Ok, [], "200 millis")
        yield* node.events.await(forJid("JobFinished", later.jid))
        assert.strictEqual(yield* store.store.setSize("schedule"), 0)
        assert.isTrue((yield* node.verk.health).loops.scheduler)

        const dead = yield* setEntries(store, "dead")
        assert.strictEqual(dead.length, 3)
        assert.isTrue(dead.some((entry) => entry.raw.startsWith(body(deep))))
        assert.deepStrictEqual(
          dead
            .map((entry) => entry.job.payload)
            .filter((payload) => payload !== undefined)
            .sort(),
          [notJson, deepClass].sort(),
          "what is not a job is kept byte for byte",
        )

        const named = lines.filter((line) =>
          line.message.startsWith("Malformed job payload in queue default from schedule"),
        )
        assert.strictEqual(named.length, 2, lines.map((line) => line.message).join("\n"))
        assert.isTrue(named.some((line) => line.message.includes("(jid cut-short)")))
        for (const line of named) assert.isBelow(line.message.length, 1_000, "never the whole payload")
      }).pipe((effect) => withLogs(lines, effect))
    },
  )

  it.live("numbers beyond 2^53 and unknown keys survive schedule, promote, fail, retry, requeue-now and dead", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const Big = Worker.make({
        name: "Big",
        args: Schema.Array(Schema.Unknown),
        // An hour away: the retry entry stays in the set to be read, until requeued by hand.
        retryPolicy: { retryAt: (failedAt) => DateTime.add(failedAt, { hours: 1 }) },
        perform: () => Effect.fail("big fails"),
      })
      const node = yield* startNode(store, config, [Big])
      const args = '"args":[9223372036854775807,9007199254740993,1234567890123456789,1e400]'
      const extra = '"extra":{"n":12345678901234567890}'
      const raw = `{"class":"Big","queue":"default",${args},"jid":"big-1","retry":1,${extra},"created_at":1700000000.50}`
      yield* store.store.addScheduled("schedule", [{ payload: raw, score: (yield* nowSeconds) - 1 }])

      const [failed] = yield* node.events.await<JobFailed>(forJid("JobFailed", "big-1"))
      assert.isDefined(failed?.retryAt)
      const [retried] = yield* rawMembers(store, "retry")
      assert.isTrue(retried?.startsWith(body(raw)), `the retry entry keeps the job's text: ${retried}`)
      assert.include(retried, args)
      assert.include(retried, extra)

      assert.isTrue(yield* Inspection.RetrySet.requeueNow("big-1").pipe(Effect.provideContext(store.context)))
      yield* node.events.await(forJid("JobDead", "big-1"))
      const [buried] = yield* rawMembers(store, "dead")
      assert.isTrue(buried?.startsWith(body(raw)), `the dead entry keeps the job's text: ${buried}`)
      assert.include(buried, args)
      assert.include(buried, extra)
      const entry = parse(buried ?? "{}")
      assert.strictEqual(entry.retry_count, 1)
      assert.strictEqual(entry.error_class, "Error")
    }),
  )

  it.live("stat:processed counts every run: 10 runs with 3 failures are 10 processed and 3 failed", () =>
    Effect.gen(function* () {
      const store = yield* kind.open
      const Flaky = Worker.make({
        name: "Flaky",
        args: Schema.Tuple([Schema.Int]),
        retry: false,
        perform: ([n]) => (n < 3 ? Effect.fail(`run ${n} fails`) : Effect.void),
      })
      const dayOf = (millis: number) => new Date(millis).toISOString().slice(0, 10)
      const firstDay = dayOf(yield* Clock.currentTimeMillis)
      const scope = yield* Scope.make()
      const node = yield* startNode(store, config, [Flaky], scope)
      yield* node.client.enqueueMany(
        Flaky,
        Array.from({ length: 10 }, (_, n) => [n] as const),
      )
      yield* node.events.await(is("JobFinished"), 7)
      yield* node.events.await(is("JobDead"), 3)
      // Closing the node flushes what is pending.
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* store.store.stats(), { processed: 10, failed: 3 })
      const lastDay = dayOf(yield* Clock.currentTimeMillis)
      const daily = yield* store.store.stats(firstDay)
      const next = lastDay === firstDay ? { processed: 0, failed: 0 } : yield* store.store.stats(lastDay)
      assert.deepStrictEqual(
        { processed: daily.processed + next.processed, failed: daily.failed + next.failed },
        { processed: 10, failed: 3 },
      )
    }),
  )

  it.live("a malformed payload gets one log line: queue, jid, a short escaped excerpt and its dead entry", () => {
    const lines: Array<Line> = []
    return Effect.gen(function* () {
      const store = yield* kind.open
      const node = yield* startNode(store, config, [])
      // No class, and a megabyte of args: the line names it without quoting it.
      const raw = JSON.stringify({ queue: "default", jid: "no-class", args: ['\u0000\n"'.repeat(400_000)] })
      yield* store.store.enqueue("default", [raw])
      const [dead] = yield* node.events.await<JobDead>(is("JobDead"))
      assert.strictEqual(dead?.queue, "default")

      const named = lines.filter((line) => line.message.startsWith("Malformed job payload"))
      assert.strictEqual(named.length, 1, lines.map((line) => line.message).join("\n"))
      const line = named[0]!
      assert.strictEqual(line.level, "Warn")
      const [entry] = yield* setEntries(store, "dead")
      assert.strictEqual(entry?.job.payload, raw)
      assert.include(line.message, "Malformed job payload in queue default (jid no-class)")
      assert.include(line.message, `payload ${JSON.stringify(raw.slice(0, 120))}... (${raw.length} chars)`)
      assert.include(line.message, `moved to the dead set as ${entry?.job.jid} (score ${entry?.score})`)
      assert.isBelow(line.message.length, 1_000)
      assert.deepInclude(line.annotations, {
        queue: "default",
        jid: "no-class",
        dead_jid: entry?.job.jid,
        dead_score: entry?.score,
        payload_length: raw.length,
      })
    }).pipe((effect) => withLogs(lines, effect))
  })

  it.live("moving a malformed payload to dead is retried when the store fails, like every outcome write", () =>
    Effect.gen(function* () {
      const opened = yield* kind.open
      let refused = 0
      let taken = 0
      const store = withStore(opened, (inner) => ({
        fetch: (...args) =>
          Effect.tap(inner.fetch(...args), ({ jobs }) =>
            Effect.sync(() => {
              taken += jobs.filter(({ raw }) => raw === "{not json").length
            }),
          ),
        kill: (...args) =>
          Effect.suspend(() =>
            refused < 2
              ? Effect.fail(new StoreError({ operation: "kill", cause: `refused ${++refused}` }))
              : inner.kill(...args),
          ),
      }))
      const node = yield* startNode(store, config, [])
      yield* store.store.enqueue("default", ["{not json"])
      yield* node.events.await(is("JobDead"))
      assert.strictEqual(refused, 2)
      assert.strictEqual(taken, 1, "the write was retried, not the payload fetched again")
      assert.strictEqual((yield* setEntries(store, "dead"))[0]?.job.payload, "{not json")
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
    }).pipe(Effect.provideService(References.MinimumLogLevel, "None")),
  )

  it.live(
    "shutdown does not wait for a dead-set write the store keeps refusing: the payload goes back to its queue",
    () =>
      Effect.gen(function* () {
        const opened = yield* kind.open
        let refused = 0
        const store = withStore(opened, () => ({
          kill: () =>
            Effect.suspend(() => Effect.fail(new StoreError({ operation: "kill", cause: `refused ${++refused}` }))),
        }))
        const scope = yield* Scope.make()
        const node = yield* startNode(store, config, [], scope)
        yield* store.store.enqueue("default", ["{not json"])
        yield* eventually(
          "the write was refused twice",
          Effect.sync(() => refused >= 2),
        )
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(yield* store.store.queueRange("default", 0, -1), ["{not json"])
        assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
        assert.strictEqual(node.events.count(is("JobDead")), 0)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "None")),
  )

  it.live("a failure of Verk's own while recording an outcome still ends in one: dead, saying what failed", () => {
    const lines: Array<Line> = []
    return Effect.gen(function* () {
      const store = yield* kind.open
      const Broken = Worker.make({
        name: "BrokenPolicy",
        args: Schema.Tuple([]),
        retryPolicy: {
          retryAt: () => {
            throw new Error("policy bug")
          },
        },
        perform: () => Effect.fail("fails"),
      })
      const node = yield* startNode(store, config, [Broken])
      const job = yield* node.client.enqueue(Broken, [])
      const [dead] = yield* node.events.await<JobDead>(forJid("JobDead", job.jid))
      assert.match(dead?.reason ?? "", /policy bug/)
      const [entry] = yield* setEntries(store, "dead")
      assert.strictEqual(entry?.job.jid, job.jid)
      assert.strictEqual(entry?.job.error_class, "Verk::ProcessingFailed")
      assert.match(entry?.job.error_message ?? "", /policy bug/)
      assert.deepStrictEqual(yield* store.store.inProgress("default", node.verk.nodeId), [])
      assert.deepStrictEqual(yield* queueJobs(store, "default"), [])
      assert.isTrue(
        lines.some((line) => line.level === "Error" && line.message.startsWith(`dead BrokenPolicy ${job.jid}`)),
      )
    }).pipe((effect) => withLogs(lines, effect))
  })
}

forEachStore(hostile)
