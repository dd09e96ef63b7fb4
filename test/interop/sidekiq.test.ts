/**
 * Interop with real Sidekiq 6 (Ruby) on one private Redis: Sidekiq's client pushes jobs we run;
 * Sidekiq's API reads the jobs, retries, stats and processes we write; a Sidekiq server runs a
 * job we enqueued. Needs `ruby` with the `sidekiq` gem (Debian: ruby-sidekiq), which .ci/run installs.
 */
import { execFile, spawn } from "node:child_process"
import { promisify } from "node:util"
import { assert, it } from "@effect/vitest"
import { Client, Inspection, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Deferred, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { describeWithSidekiq } from "../support/sidekiq.ts"

const exec = promisify(execFile)
let server: RedisServer

beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

/** Runs Ruby with Sidekiq loaded against the private Redis; returns what the script prints. */
const ruby = (script: string) =>
  Effect.promise(async () => {
    const { stdout } = await exec("ruby", ["-rsidekiq", "-rsidekiq/api", "-rjson", "-e", script], {
      env: { ...process.env, REDIS_URL: server.url },
    })
    return stdout.trim()
  })

const Args = Schema.Array(Schema.Unknown)
const seen: Array<{ readonly className: string; readonly args: ReadonlyArray<unknown> }> = []
const HardWorker = Worker.make({
  name: "HardWorker",
  args: Args,
  perform: (args) => Effect.sync(() => seen.push({ className: "HardWorker", args })),
})
let failures = 0
const Failing = Worker.make({
  name: "Failing",
  args: Args,
  perform: () => Effect.suspend(() => (failures++ === 0 ? Effect.fail(new Error("first run fails")) : Effect.void)),
})

const runtime = () =>
  Verk.layer({
    workers: [HardWorker, Failing],
    queues: { default: 5 },
    pollInterval: "100 millis",
    logLevels: { start: "None", done: "None", fail: "None" },
  }).pipe(Layer.provideMerge(RedisStore.layer({ url: server.url })))

const waitFor = <A>(effect: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 100; attempt++) {
      const value = yield* effect
      if (done(value)) return value
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.die(new Error("timed out waiting"))
  })

describeWithSidekiq("Sidekiq interop", () => {
  it.live("jobs pushed by Sidekiq's client run here with their args intact, scheduled ones too", () =>
    Effect.gen(function* () {
      yield* ruby(`
        Sidekiq::Client.push("class" => "HardWorker", "args" => [1, "two", {"three" => [4, {}]}, []])
        Sidekiq::Client.push("class" => "HardWorker", "args" => ["later"], "at" => Time.now.to_f + 0.5)
      `)
      yield* waitFor(
        Effect.sync(() => seen.length),
        (count) => count >= 2,
      )
      assert.deepStrictEqual(seen[0]?.args, [1, "two", { three: [4, {}] }, []])
      assert.deepStrictEqual(seen[1]?.args, ["later"])
    }).pipe(Effect.scoped, Effect.provide(runtime())),
  )

  it.live("Sidekiq's API reads our queue, retry set, stats and process registry", () =>
    Effect.gen(function* () {
      const verk = yield* Verk.Verk
      yield* verk.pause("sidekiq-api")
      const job = yield* Client.enqueue(HardWorker, [["nested"], { deep: true }], { queue: "sidekiq-api" })
      const queued = JSON.parse(
        yield* ruby(`
          job = Sidekiq::Queue.new("sidekiq-api").first
          puts JSON.generate([job.klass, job.args, job.jid, job.enqueued_at.class.name, Sidekiq::Queue.all.map(&:name)])
        `),
      )
      assert.deepStrictEqual(queued.slice(0, 3), ["HardWorker", [["nested"], { deep: true }], job.jid])
      assert.strictEqual(queued[3], "Time")
      assert.include(queued[4], "sidekiq-api")

      const events = yield* verk.subscribe
      const failed = yield* events.pipe(
        Stream.filter((event) => event._tag === "JobFailed"),
        Stream.take(1),
        Stream.runDrain,
        Effect.forkScoped,
      )
      const failing = yield* Client.enqueue(Failing, ["x"])
      yield* Fiber.join(failed)
      const retry = JSON.parse(
        yield* ruby(`
          job = Sidekiq::RetrySet.new.find_job("${failing.jid}")
          puts JSON.generate([job.klass, job["retry_count"], job["error_class"], job["error_message"], job.at.to_f > Time.now.to_f])
        `),
      )
      assert.deepStrictEqual(retry, ["Failing", 0, "Error", "first run fails", true])

      // Sidekiq's "retry now" puts it back on its queue, where we run it.
      yield* ruby(`Sidekiq::RetrySet.new.find_job("${failing.jid}").retry`)
      yield* waitFor(
        Effect.sync(() => failures),
        (count) => count >= 2,
      )
      assert.strictEqual(yield* Inspection.RetrySet.size, 0)

      const processes = JSON.parse(
        yield* ruby(
          `puts JSON.generate(Sidekiq::ProcessSet.new.map { |p| [p.identity, p["queues"], p["busy"], p["capsules"], p["weights"]] })`,
        ),
      )
      assert.deepInclude(processes, [
        verk.nodeId,
        ["default"],
        0,
        { default: { concurrency: 5, mode: "strict", weights: { default: 0 } } },
        [{ default: 0 }],
      ])

      yield* Effect.sleep("1100 millis") // one stats flush
      const stats = JSON.parse(yield* ruby(`s = Sidekiq::Stats.new; puts JSON.generate([s.processed, s.failed])`))
      assert.isAtLeast(stats[0], 1)
      assert.isAtLeast(stats[1], 1)
    }).pipe(Effect.scoped, Effect.provide(runtime())),
  )

  it.live("Sidekiq's web UI data: Workers lists our running job, ProcessSet shows our rss", () => {
    const release = Deferred.makeUnsafe<void>()
    const started = Deferred.makeUnsafe<void>()
    const Held = Worker.make({
      name: "HeldJob",
      args: Args,
      queue: "held",
      perform: () => Deferred.succeed(started, undefined).pipe(Effect.andThen(Deferred.await(release))),
    })
    const layer = Verk.layer({
      workers: [Held],
      queues: { held: 2 },
      heartbeatInterval: "100 millis",
      logLevels: { start: "None", done: "None", fail: "None" },
    }).pipe(Layer.provideMerge(RedisStore.layer({ url: server.url })))
    return Effect.gen(function* () {
      const verk = yield* Verk.Verk
      const job = yield* Client.enqueue(Held, ["held", 1])
      yield* Deferred.await(started)
      // What Sidekiq 6's Busy page lists: [process, thread, {queue, payload, run_at}].
      const workers = yield* waitFor(
        ruby(
          `puts JSON.generate(Sidekiq::Workers.new.map { |p, tid, w| [p, w["queue"], w["payload"]["class"], w["payload"]["jid"], w["payload"]["args"], w["run_at"].is_a?(Integer)] })`,
        ).pipe(Effect.map((text) => JSON.parse(text) as Array<Array<unknown>>)),
        (rows) => rows.some((row) => row[3] === job.jid),
      )
      assert.deepInclude(workers, [verk.nodeId, "held", "HeldJob", job.jid, ["held", 1], true])
      assert.strictEqual(yield* ruby(`puts Sidekiq::Workers.new.size`), "1")
      const rss = Number(yield* ruby(`puts Sidekiq::ProcessSet.new.find { |p| p.identity == "${verk.nodeId}" }["rss"]`))
      assert.isAbove(rss, 1024) // KB: a Node process is well over a megabyte
      assert.isBelow(rss, 16 * 1024 * 1024)
      yield* Deferred.succeed(release, undefined)
      // Once it is done the next beat empties the list.
      yield* waitFor(ruby(`puts Sidekiq::Workers.new.count`), (count) => count === "0")
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.live("big integers stay exact from Sidekiq's client through our promote and retry to a Sidekiq server", () =>
    Effect.gen(function* () {
      const exact = "[9223372036854775807,1234567890123456789]"
      const jid = yield* ruby(`
        puts Sidekiq::Client.push("class" => "BigNumbers", "queue" => "big", "args" => ${exact}, "at" => Time.now.to_f + 0.3)
      `)
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url)),
        (client) => Effect.sync(() => client.disconnect()),
      )
      // Our node promotes it from `schedule`, runs it, and its failure sends it to `retry`.
      const BigNumbers = Worker.make({
        name: "BigNumbers",
        args: Args,
        queue: "big",
        perform: () => Effect.fail(new Error("not here")),
      })
      yield* Effect.gen(function* () {
        const events = yield* (yield* Verk.Verk).subscribe
        yield* events.pipe(
          Stream.filter((event) => event._tag === "JobFailed" && event.jid === jid),
          Stream.take(1),
          Stream.runDrain,
        )
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Verk.layer({ workers: [BigNumbers], queues: { big: 1 }, pollInterval: "100 millis" }).pipe(
            Layer.provideMerge(RedisStore.layer({ url: server.url })),
          ),
        ),
      )
      const [retried] = yield* Effect.promise(() => admin.zrange("retry", "0", "-1"))
      assert.include(retried ?? "", `"args":${exact}`)
      // Sidekiq's "retry now", then a Sidekiq server runs it.
      yield* ruby(`Sidekiq::RetrySet.new.find_job("${jid}").retry`)
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn("sidekiq", ["-r", new URL("./rubyWorker.rb", import.meta.url).pathname, "-q", "big", "-c", "1"], {
            env: { ...process.env, REDIS_URL: server.url },
            stdio: "ignore",
          }),
        ),
        (child) => Effect.sync(() => child.kill("SIGKILL")),
      )
      const performed = yield* waitFor(
        Effect.promise(() => admin.lrange("interop:big-performed", 0, -1)),
        (list) => list.length > 0,
      )
      assert.deepStrictEqual(performed, [exact])
    }).pipe(Effect.scoped),
  )

  it.live("a Sidekiq server runs a job we enqueued", () =>
    Effect.gen(function* () {
      const RubyWorker = Worker.make({
        name: "RubyWorker",
        args: Schema.Tuple([Schema.String, Schema.Int]),
        queue: "ruby",
        perform: () => Effect.void,
      })
      yield* Client.enqueue(RubyWorker, ["from effect", 42])
      const sidekiq = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn("sidekiq", ["-r", new URL("./rubyWorker.rb", import.meta.url).pathname, "-q", "ruby", "-c", "1"], {
            env: { ...process.env, REDIS_URL: server.url },
            stdio: "ignore",
          }),
        ),
        (child) => Effect.sync(() => child.kill("SIGKILL")),
      )
      void sidekiq
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url)),
        (client) => Effect.sync(() => client.disconnect()),
      )
      const performed = yield* waitFor(
        Effect.promise(() => admin.lrange("interop:ruby-performed", 0, -1)),
        (list) => list.length > 0,
      )
      assert.deepStrictEqual(JSON.parse(performed[0] ?? "null"), ["from effect", 42])
    }).pipe(Effect.scoped, Effect.provide(Client.layer.pipe(Layer.provide(RedisStore.layer({ url: server.url }))))),
  )
})
