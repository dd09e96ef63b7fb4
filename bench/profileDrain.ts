/**
 * A drain to profile: `PROFILE=out.cpuprofile node --conditions=@verk/source bench/profileDrain.ts [jobs]`.
 * Enqueues no-op jobs on a private redis-server, then runs one node (c=25) until they are done,
 * and prints the Node CPU per job, the rate and the RSS. `STORE=memory` drains the in-memory store
 * instead: the runtime's own CPU per job, without Redis or sockets (steadier on a busy machine).
 * The workload matrix's jobs: `SIZE=20000` gives each job a string arg of that many bytes,
 * `KIND=async` makes it wait 10 ms, `CONCURRENCY=200` sets the pool's size; `KIND=rate-limited` and
 * `KIND=concurrency-limited` drain section 12's limited jobs (verkWorkers.ts). The CPU is split into
 * the main thread's and the other threads' (V8's GC and compilers); on Redis, redis-server's CPU
 * over the drain is printed too, with its socket reads and writes per job (round trips: where jobs
 * end one callback at a time, their count sets much of the cost), and `COMMANDS=1` adds the
 * drain's Redis commands.
 */
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { Client, MemoryStore, Store, Verk } from "@verk/core"
import { RedisStore } from "@verk/redis"
import { Effect, Layer, ManagedRuntime, References } from "effect"
import { Redis } from "ioredis"
import { startRedisServer } from "../test/support/redisServer.ts"
import { redisCpuSeconds } from "./support.ts"
import { AsyncPayload, ConcurrencyLimitedPayload, hooks, NoOp, Payload, RateLimitedPayload } from "./verkWorkers.ts"

const jobs = Number(process.argv[2] ?? 50_000)
const size = process.env.SIZE === undefined ? undefined : Number(process.env.SIZE)
const concurrency = Number(process.env.CONCURRENCY ?? 25)
const kinds = {
  async: AsyncPayload,
  "rate-limited": RateLimitedPayload,
  "concurrency-limited": ConcurrencyLimitedPayload,
} as const
const kind = process.env.KIND as keyof typeof kinds | undefined
const sized = kind === undefined ? Payload : kinds[kind]
const plain = size === undefined && kind === undefined
const arg = "x".repeat(size ?? 10)
const worker = plain ? NoOp : sized
const inMemory = process.env.STORE === "memory"
const server = inMemory ? undefined : await startRedisServer()
const storeLayer =
  server === undefined
    ? Layer.succeedContext(Store.context(await Effect.runPromise(MemoryStore.make)))
    : RedisStore.layer({ url: server.url })
const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")
const client = ManagedRuntime.make(Client.layer.pipe(Layer.provide(storeLayer), Layer.provide(quiet)))
for (let sent = 0; sent < jobs; sent += 10_000) {
  const count = Math.min(10_000, jobs - sent)
  await client.runPromise(
    Effect.flatMap(Client.Client, (c) =>
      plain
        ? c.enqueueMany(
            NoOp,
            Array.from({ length: count }, () => [] as const),
          )
        : c.enqueueMany(
            sized,
            Array.from({ length: count }, () => [arg] as const),
          ),
    ),
  )
}
await client.dispose()
let done = 0
let finish: () => void = () => {}
const finished = new Promise<void>((resolve) => {
  finish = resolve
})
hooks.noOp = () => {
  if (++done === jobs) finish()
}
// PROFILE=<file>: a CPU profile of the drain alone (not the enqueue).
const session = process.env.PROFILE ? new Session() : undefined
if (session) {
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.start")
}
// redis-server's CPU and commands over the drain only, not the enqueue's.
const admin = server === undefined ? undefined : new Redis(server.url)
if (process.env.COMMANDS && admin !== undefined) await admin.config("RESETSTAT")
const redis0 = admin === undefined ? 0 : await redisCpuSeconds(admin)
// Socket reads and writes redis-server made: each read is one or more writes of ours landing.
const ioEvents = async () => {
  const info = admin === undefined ? "" : ((await admin.call("INFO", "stats")) as string)
  const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN)
  return { reads: field("total_reads_processed"), writes: field("total_writes_processed") }
}
const io0 = await ioEvents()
const cpu0 = process.cpuUsage()
const thread0 = process.threadCpuUsage()
const t0 = performance.now()
const node = ManagedRuntime.make(
  Verk.layer({ queues: { default: concurrency }, workers: [worker] }).pipe(
    Layer.provide(storeLayer),
    Layer.provide(quiet),
  ),
)
await node.runPromise(Effect.void)
await finished
const elapsed = performance.now() - t0
const redisCpu = admin === undefined ? undefined : (await redisCpuSeconds(admin)) - redis0
const io1 = await ioEvents()
const memory = process.memoryUsage()
console.log(
  `before GC: ${Object.entries(memory)
    .map(([key, value]) => `${key} ${(value / 2 ** 20).toFixed(0)}`)
    .join(", ")} MiB`,
)
const gc = (globalThis as { gc?: () => void }).gc
if (gc !== undefined) {
  gc()
  const { heapUsed, rss } = process.memoryUsage()
  console.log(`after GC: heap ${(heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(rss / 2 ** 20).toFixed(0)} MiB`)
}
const cpu = process.cpuUsage(cpu0)
// The main thread's share; the rest is V8's helper threads (GC, compilers) and libuv's.
const thread = process.threadCpuUsage(thread0)
console.log(
  `main thread ${((thread.user + thread.system) / jobs).toFixed(1)} µs/job (system ${(thread.system / jobs).toFixed(1)}), other threads ${((cpu.user + cpu.system - thread.user - thread.system) / jobs).toFixed(1)} µs/job`,
)
console.log(
  `${jobs} jobs in ${elapsed.toFixed(0)} ms: ${((jobs / elapsed) * 1000).toFixed(0)}/s, CPU ${((cpu.user + cpu.system) / jobs).toFixed(1)} µs/job, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
)
if (redisCpu !== undefined) {
  console.log(
    `redis-server CPU ${((redisCpu * 1e6) / jobs).toFixed(1)} µs/job; socket reads ${((io1.reads - io0.reads) / jobs).toFixed(3)}/job, writes ${((io1.writes - io0.writes) / jobs).toFixed(3)}/job`,
  )
}
if (session && process.env.PROFILE) {
  const { profile } = await session.post("Profiler.stop")
  writeFileSync(process.env.PROFILE, JSON.stringify(profile))
}
if (process.env.COMMANDS && admin !== undefined) {
  console.log(
    (await admin.info("commandstats"))
      .split("\r\n")
      .filter((line) => line.startsWith("cmdstat_"))
      .join("\n"),
  )
}
admin?.disconnect()
await node.dispose()
await server?.stop()
