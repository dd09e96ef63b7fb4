/**
 * Redis Cluster topology changes while a Verk node runs and producers enqueue (issue 20): a live
 * migration of one queue's slot (`CLUSTER SETSLOT MIGRATING/IMPORTING`, keys moved in batches with
 * `MIGRATE ... KEYS`, then `SETSLOT NODE` on every primary), a slot left in migration longer than a
 * command may wait, and a graceful `CLUSTER FAILOVER`. The worker records when each job starts, so
 * pauses are measured as gaps between the starts of one queue's jobs.
 */
import { Context, Effect, Fiber, Layer, References, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, layer as clientLayer } from "../../packages/core/src/Client.ts"
import { CurrentJob } from "../../packages/core/src/CurrentJob.ts"
import { Store, StoreError } from "../../packages/core/src/Store.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"
import * as Slots from "../../packages/redis/src/Slots.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisCluster, startCluster } from "../support/redisCluster.ts"
import { command } from "../support/redisServer.ts"

const keys = Keys.make(undefined, "cluster")

/** Starts of each queue's jobs, and runs of each jid; one scenario at a time. */
const starts = new Map<string, Array<number>>()
const runs = new Map<string, number>()

const Record = Worker.make({
  name: "MigrationRecord",
  args: Schema.Tuple([Schema.Int]),
  perform: () =>
    Effect.gen(function* () {
      const job = yield* CurrentJob
      runs.set(job.jid, (runs.get(job.jid) ?? 0) + 1)
      starts.get(job.queue)?.push(Date.now())
      yield* Effect.sleep(2)
    }),
})

/** Each producer enqueues one job per queue every this many ms. */
const EnqueueEveryMillis = 150
/**
 * How long a call may wait for its slot (the store's `offlineTimeout`): longer than a migration of
 * the test takes on a loaded machine, so that its enqueues and fetches wait rather than fail.
 */
const OfflineTimeoutMillis = 10_000
/** A call that has not returned by then hangs: the store must end it within `OfflineTimeoutMillis`. */
const EnqueueTimeoutMillis = OfflineTimeoutMillis + 5_000
/** Keys moved per MIGRATE, and the pause between two (the migration takes a few seconds). */
const MigrateBatch = 10
const BetweenBatchesMillis = 200
/**
 * Graceful failovers in a row (each shard there and back): ioredis's auto-pipelines failed calls in
 * about half of the runs of four.
 */
const Failovers = 8
const BetweenFailoversMillis = 1_200
/** Keys added to the migrating slot besides the queue's own. */
const Fillers = 180

let cluster: RedisCluster | undefined

beforeAll(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1 })
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
}, 30_000)

const started = (): RedisCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start (see beforeAll)")
  return cluster
}

/** The primary port that owns each queue's slot now. */
const ownersOf = async (queues: ReadonlyArray<string>): Promise<Map<string, number>> => {
  const primaries = await started().primaries()
  return new Map(
    queues.map((queue) => {
      const slot = Slots.of(keys.queue(queue))
      const owner = primaries.find((p) => p.slots.some(([from, to]) => slot >= from && slot <= to))
      return [queue, owner?.port ?? -1] as const
    }),
  )
}

/** One enqueue call: when it began, how long it took, and how it ended. */
interface Call {
  readonly queue: string
  readonly at: number
  readonly millis: number
  readonly outcome: "acknowledged" | "failed" | "hung"
  readonly reason?: string
}

/** The longest gap between consecutive starts of `times` that overlaps [from, to]. */
const longestGap = (times: ReadonlyArray<number>, from: number, to: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let longest = 0
  for (let i = 1; i < sorted.length; i++) {
    const [previous, next] = [sorted[i - 1]!, sorted[i]!]
    if (next >= from && previous <= to) longest = Math.max(longest, next - previous)
  }
  return longest
}

const percentile = (values: ReadonlyArray<number>, share: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0
}

/**
 * A node serving `queues` and one producer per queue (Client.enqueue, or Client.schedule for every
 * other call when `schedule`) while `fault` runs; returns what happened, once every acknowledged
 * job ran.
 */
const runScenario = <A>(
  queues: ReadonlyArray<string>,
  fault: (fire: (queue: string) => void) => Promise<A>,
  options: { readonly schedule?: boolean } = {},
) => {
  starts.clear()
  runs.clear()
  for (const queue of queues) starts.set(queue, [])
  const program = Effect.gen(function* () {
    const context = yield* Layer.build(
      Verk.layer({
        workers: [Record],
        queues: Object.fromEntries(queues.map((queue) => [queue, 5])),
        pollInterval: "100 millis",
        heartbeatInterval: "1 second",
        shutdownTimeout: "1 second",
        logLevels: { start: "None", done: "None", fail: "None" },
      }).pipe(
        Layer.provideMerge(
          RedisStore.layer({
            url: "redis://127.0.0.1",
            namespace: uniqueNamespace(),
            cluster: { nodes: started().nodes },
            offlineTimeout: OfflineTimeoutMillis,
          }),
        ),
      ),
    )
    const client = Context.get(context, Client)
    const calls: Array<Call> = []
    const acknowledged = new Set<string>()
    let producing = true
    let n = 0
    /** One call, recorded once it returns (or hangs past the timeout). */
    const call = (queue: string) =>
      Effect.gen(function* () {
        const at = Date.now()
        const k = n++
        const sent =
          options.schedule === true && k % 2 === 1
            ? client.schedule(Record, [k], "100 millis", { queue })
            : client.enqueue(Record, [k], { queue })
        const outcome = yield* sent.pipe(Effect.timeoutOption(EnqueueTimeoutMillis), Effect.result)
        const millis = Date.now() - at
        if (outcome._tag === "Failure") {
          const error = outcome.failure
          const reason =
            error instanceof StoreError ? `${error.reason._tag}: ${error.message.slice(0, 120)}` : String(error)
          calls.push({ queue, at, millis, outcome: "failed", reason })
        } else if (outcome.success._tag === "None") calls.push({ queue, at, millis, outcome: "hung" })
        else {
          acknowledged.add(outcome.success.value.jid)
          calls.push({ queue, at, millis, outcome: "acknowledged" })
        }
      })
    // Calls go out at a steady pace whatever earlier ones are waiting for: each in a fiber of its own.
    const produce = (queue: string) =>
      Effect.gen(function* () {
        const inFlight: Array<Fiber.Fiber<void>> = []
        while (producing) {
          inFlight.push(yield* Effect.forkChild(call(queue)))
          yield* Effect.sleep(EnqueueEveryMillis)
        }
        yield* Fiber.joinAll(inFlight)
      })
    const producers = yield* Effect.forkScoped(
      Effect.forEach(queues, produce, { concurrency: "unbounded", discard: true }),
    )
    // Every queue runs before the fault.
    yield* until(() => queues.every((queue) => (starts.get(queue)?.length ?? 0) >= 20), 20_000)
    const faultStarted = Date.now()
    // Calls the fault adds to the producers' (they are recorded alike, and joined before the drain).
    const extra: Array<Promise<void>> = []
    const result = yield* Effect.promise(() => fault((queue) => extra.push(Effect.runPromise(call(queue)))))
    const faultEnded = Date.now()
    yield* Effect.sleep(1_500)
    producing = false
    yield* Fiber.join(producers)
    yield* Effect.promise(() => Promise.all(extra))
    const everyRan = () => [...acknowledged].every((jid) => (runs.get(jid) ?? 0) >= 1)
    yield* until(everyRan, 20_000)
    const store = Context.get(context, Store)
    const queued = yield* Effect.forEach(queues, (queue) => store.queueSize(queue))
    return {
      result,
      faultStarted,
      faultEnded,
      calls,
      acknowledged: acknowledged.size,
      lost: [...acknowledged].filter((jid) => (runs.get(jid) ?? 0) === 0).length,
      twice: [...runs.values()].filter((count) => count > 1).length,
      ranUnacknowledged: [...runs.keys()].filter((jid) => !acknowledged.has(jid)).length,
      leftQueued: queued.reduce((sum, size) => sum + size, 0),
    }
  })
  // Connection warnings during the fault are expected; errors still show.
  return Effect.runPromise(program.pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")))
}

const until = (check: () => boolean, timeoutMillis: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMillis
    while (!check() && Date.now() < deadline) yield* Effect.sleep(20)
    return check()
  })

describe("Redis Cluster: topology changes under load", () => {
  it("a live migration of a queue's slot stalls no other queue; the queue runs again within 1 s of the end; nothing lost or run twice", async () => {
    // Two queues per shard (the slots of {q0}..{q5} split evenly over three primaries).
    const queues = ["q0", "q1", "q2", "q3", "q4", "q5"]
    const moving = "q0"
    const owners = await ownersOf(queues)
    const sourcePort = owners.get(moving)!
    // To the shard of another queue, so that a queue of the source and one of the target run on.
    const targetPort = [...owners.values()].find((port) => port !== sourcePort)!
    // Other keys of the slot, so that it takes a while to move (as a queue with a backlog, sets
    // and call tokens would): about 200 in all, as in the issue.
    await command(
      sourcePort,
      "MSET",
      ...Array.from({ length: Fillers }, (_, n) => [`filler:{${moving}}:${n}`, "x"]).flat(),
    )
    const report = await runScenario(queues, async () => {
      const migration = await started().startMigration(keys.queue(moving), targetPort)
      let moved = 0
      for (
        let batch = await migration.moveKeys(MigrateBatch);
        batch > 0;
        batch = await migration.moveKeys(MigrateBatch)
      ) {
        moved += batch
        await new Promise((resolve) => setTimeout(resolve, BetweenBatchesMillis))
      }
      await migration.finish()
      return { moved }
    })
    const { faultStarted: from, faultEnded: to } = report
    expect((await ownersOf([moving])).get(moving), "the slot moved").toBe(targetPort)

    const others = queues.filter((queue) => queue !== moving)
    const pauses = Object.fromEntries(others.map((queue) => [queue, longestGap(starts.get(queue)!, from, to + 1_000)]))
    const firstAfter = starts.get(moving)!.filter((at) => at >= to)
    const restartMillis = firstAfter.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...firstAfter) - to
    const movingCalls = report.calls.filter((call) => call.queue === moving && call.at >= from && call.at <= to)
    const ranDuring = starts.get(moving)!.filter((at) => at > from && at < to).length
    const otherCalls = report.calls.filter(
      (call) => call.queue !== moving && call.at + call.millis >= from && call.at <= to,
    )
    console.log(
      `slot migration of ${moving} (${report.result.moved} keys, ${to - from} ms, ${sourcePort} → ${targetPort}): ` +
        `longest pause of the other queues ${JSON.stringify(pauses)} ms; ${moving} started ${ranDuring} jobs during it ` +
        `and ran again ${restartMillis} ms after the end; ` +
        `enqueues to ${moving} during it: ${movingCalls.length}, longest ${Math.max(0, ...movingCalls.map((c) => c.millis))} ms, ` +
        `p50 ${percentile(
          movingCalls.map((c) => c.millis),
          0.5,
        )} ms; to the others: longest ${Math.max(0, ...otherCalls.map((c) => c.millis))} ms; ` +
        `failed ${report.calls.filter((c) => c.outcome === "failed").length}, hung ${report.calls.filter((c) => c.outcome === "hung").length}; ` +
        `acknowledged ${report.acknowledged}, lost ${report.lost}, twice ${report.twice}, ran unacknowledged ${report.ranUnacknowledged}`,
    )

    expect(report.result.moved, "keys the migration moved").toBeGreaterThanOrEqual(Fillers)
    for (const queue of others) expect(pauses[queue], `longest pause of ${queue}`).toBeLessThan(1_000)
    expect(restartMillis, `${moving} runs again after the migration`).toBeLessThan(1_000)
    expect(
      report.calls.filter((call) => call.outcome === "hung"),
      "enqueues that hung",
    ).toEqual([])
    // A migration shorter than offlineTimeout: its enqueues waited, then landed.
    expect(
      report.calls.filter((call) => call.outcome === "failed"),
      "failed enqueues",
    ).toEqual([])
    expect(report.lost).toBe(0)
    expect(report.twice).toBe(0)
    expect(report.leftQueued).toBe(0)
  }, 60_000)

  it("an enqueue to a queue whose slot stays in migration fails with StoreError SlotMoving within offlineTimeout, and lands once it ends", async () => {
    const queue = "q3"
    const program = Effect.gen(function* () {
      const context = yield* Layer.build(
        clientLayer.pipe(
          Layer.provideMerge(
            RedisStore.layer({
              url: "redis://127.0.0.1",
              namespace: uniqueNamespace(),
              cluster: { nodes: started().nodes },
              offlineTimeout: "1 second",
            }),
          ),
        ),
      )
      const client = Context.get(context, Client)
      const store = Context.get(context, Store)
      // The queue's list and two call tokens: keys to split between the nodes.
      for (let k = 0; k < 3; k++) yield* client.enqueue(Record, [k], { queue })
      const migration = yield* Effect.promise(() => started().startMigration(keys.queue(queue)))
      // One key moved, the others not: a script on the queue gets TRYAGAIN until the end.
      expect(yield* Effect.promise(() => migration.moveKeys(1))).toBe(1)
      const before = Date.now()
      const refused = yield* Effect.flip(client.enqueue(Record, [3], { queue }))
      const waited = Date.now() - before
      yield* Effect.promise(() => migration.finish())
      const landed = yield* client.enqueue(Record, [4], { queue })
      return { refused, waited, landed, size: yield* store.queueSize(queue) }
    })
    const { refused, waited, landed, size } = await Effect.runPromise(
      program.pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    )
    console.log(`enqueue on a slot held in migration: refused after ${waited} ms with ${refused.message}`)
    expect(refused).toBeInstanceOf(StoreError)
    expect((refused as StoreError).reason._tag).toBe("SlotMoving")
    expect(waited, "waited about offlineTimeout").toBeGreaterThanOrEqual(950)
    expect(waited, "and not much longer").toBeLessThan(3_000)
    expect(landed.queue).toBe(queue)
    // The three before the migration and the one after it; the refused one was never pushed.
    expect(size).toBe(4)
  }, 30_000)

  it("a graceful CLUSTER FAILOVER during Client.enqueue and Client.schedule fails no call; nothing lost or run twice", async () => {
    const queues = ["f0", "f1", "f2", "f3", "f4", "f5"]
    const owners = await ownersOf([...queues, "verk"])
    // A queue on another shard than the {verk} registries (every schedule and enqueue registers there).
    const elsewhere = queues.find((queue) => owners.get(queue) !== owners.get("verk"))!
    const report = await runScenario(
      queues,
      async (fire) => {
        const failovers = []
        // Each shard there and back, twice: the {verk} registries' (every schedule and enqueue registers there), a queue's.
        for (const key of Array.from({ length: Failovers }, (_, n) =>
          n % 2 === 0 ? "{verk}" : keys.queue(elsewhere),
        )) {
          const owner = owners.get(key === "{verk}" ? "verk" : elsewhere)
          const onShard = queues.filter((queue) => owners.get(queue) === owner)
          const shard = onShard.length > 0 ? onShard : queues
          // Bursts of calls to the shard's queues while its primary hands over (its writes are paused,
          // then answered MOVED): one call alone, then calls to several slots of the same node queued
          // behind it, as ioredis's auto-pipelines once grouped them.
          let done = false
          const handover = started()
            .failOverGracefully(key)
            .finally(() => {
              done = true
            })
          // Awaited below, once the bursts stop.
          handover.catch(() => {})
          while (!done) {
            fire(shard[0]!)
            await new Promise((resolve) => setImmediate(resolve))
            for (const queue of shard) for (let k = 0; k < 2; k++) fire(queue)
            await new Promise((resolve) => setTimeout(resolve, 15))
          }
          failovers.push(await handover)
          // Primaries refuse to vote twice for one shard within twice the node timeout (2 s here):
          // a shard's next handover comes later than that.
          await new Promise((resolve) => setTimeout(resolve, BetweenFailoversMillis))
        }
        return failovers
      },
      { schedule: true },
    )
    const { faultStarted: from, faultEnded: to } = report
    const failed = report.calls.filter((call) => call.outcome !== "acknowledged")
    const pauses = Object.fromEntries(queues.map((queue) => [queue, longestGap(starts.get(queue)!, from, to + 1_000)]))
    const latencies = report.calls.filter((call) => call.at + call.millis >= from && call.at <= to).map((c) => c.millis)
    console.log(
      `graceful CLUSTER FAILOVER ×${Failovers} (${to - from} ms): calls ${report.calls.length}, failed ${failed.length} ${JSON.stringify(failed.slice(0, 3))}; ` +
        `longest pause per queue ${JSON.stringify(pauses)} ms; call latency during it p50 ${percentile(latencies, 0.5)} ms, ` +
        `longest ${Math.max(0, ...latencies)} ms; acknowledged ${report.acknowledged}, lost ${report.lost}, twice ${report.twice}`,
    )
    expect(failed, "calls that failed or hung").toEqual([])
    expect(report.lost).toBe(0)
    expect(report.twice).toBe(0)
  }, 60_000)
})
