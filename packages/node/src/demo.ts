/**
 * `npm start`: a tour of Verk in one process. It sends a welcome email, retries a flaky job,
 * runs a scheduled job and shows the events and stats. It uses Redis when REDIS_URL is set and
 * the in-memory store otherwise, so it runs on a fresh machine with nothing installed.
 *
 * Verk Web serves the same store on http://127.0.0.1:4000/ (VERK_WEB_PORT) meanwhile. In a
 * terminal the demo then keeps serving it until Ctrl-C; without one (CI, a pipe) it exits when the
 * tour ends, so that `npm ci && npm start` still terminates.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Client, CurrentJob, Events, Inspection, MemoryStore, Verk, Worker } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Web from "./web/Web.ts"

const SendWelcome = Worker.make({
  name: "SendWelcome",
  args: Schema.Tuple([Schema.String]),
  perform: ([email]) => Effect.log(`Sending a welcome email to ${email}`),
})

let flakyRuns = 0
const FlakyReport = Worker.make({
  name: "FlakyReport",
  args: Schema.Tuple([Schema.Int]),
  // Retry one second after each failure instead of Sidekiq's 15 s and up.
  retryPolicy: { retryAt: (failedAt) => DateTime.addDuration(failedAt, "1 second") },
  perform: ([reportId]) =>
    Effect.gen(function* () {
      const job = yield* CurrentJob.CurrentJob
      flakyRuns++
      if (flakyRuns === 1) return yield* Effect.fail(new Error(`report ${reportId}: the database blinked`))
      yield* Effect.log(`Report ${reportId} built on attempt ${flakyRuns} (retry_count ${job.retryCount})`)
    }),
})

const Reminder = Worker.make({
  name: "Reminder",
  args: Schema.Tuple([Schema.String]),
  perform: ([text]) => Effect.log(`Reminder: ${text}`),
})

const store = process.env.REDIS_URL
  ? RedisStore.layer({ url: process.env.REDIS_URL, namespace: "verk-demo" })
  : MemoryStore.layer

const webPort = Number(process.env.VERK_WEB_PORT ?? 4000)
const webUrl = `http://127.0.0.1:${webPort}/`

const program = Effect.gen(function* () {
  const verk = yield* Verk.Verk
  // The dashboard is a bonus: a busy port must not spoil the tour.
  const web = yield* Layer.build(Web.serve({ port: webPort, pollMillis: 1000 })).pipe(
    Effect.as(true),
    Effect.tap(() => Effect.log(`Verk Web: ${webUrl}`)),
    Effect.catch((error) =>
      Effect.logWarning(`Verk Web not started on port ${webPort}: ${String(error)}`).pipe(Effect.as(false)),
    ),
  )
  // Each subscription is one consumer: subscribe once per reader.
  const finished = yield* (yield* verk.subscribe).pipe(
    Events.ofType("JobFinished"),
    Stream.take(3),
    Stream.runDrain,
    Effect.forkScoped,
  )
  yield* (yield* verk.subscribe).pipe(
    Stream.runForEach((event) => Effect.log(`event ${event._tag}`)),
    Effect.forkScoped,
  )
  yield* Client.enqueue(SendWelcome, ["ada@example.com"])
  yield* Client.enqueue(FlakyReport, [42])
  yield* Client.schedule(Reminder, ["stand-up in 2 seconds"], "2 seconds")
  yield* Fiber.join(finished)
  yield* Effect.log(`Queues: ${JSON.stringify(yield* verk.queueStats)}`)
  yield* Effect.log(`Dead jobs: ${yield* Inspection.DeadSet.size}`)
  if (web && process.stdout.isTTY) {
    yield* Effect.log(`Verk Web keeps serving on ${webUrl}: press Ctrl-C to stop`)
    yield* Effect.never
  }
}).pipe(Effect.scoped)

program.pipe(
  Effect.provide(
    Verk.layer({
      workers: [SendWelcome, FlakyReport, Reminder],
      queues: { default: 5 },
      shutdownTimeout: "2 seconds",
    }).pipe(Layer.provideMerge(store)),
  ),
  NodeRuntime.runMain,
)
