/**
 * Job log lines: start, done and fail, each with queue, class and jid (and duration when done),
 * at the levels the settings give; "None" silences a line.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Fiber, Logger, References, Schema, Stream } from "effect"
import { Client } from "../../packages/core/src/Client.ts"
import { Events } from "../../packages/core/src/Events.ts"
import type { LogLevels } from "../../packages/core/src/Settings.ts"
import * as Testing from "../../packages/core/src/testing.ts"
import * as Worker from "../../packages/core/src/Worker.ts"

const Ok = Worker.make({ name: "LogOk", args: Schema.Tuple([]), perform: () => Effect.void })
const Bad = Worker.make({ name: "LogBad", args: Schema.Tuple([]), retry: 0, perform: () => Effect.fail("no") })

interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

const runBoth = (logLevels: Partial<LogLevels>) =>
  Effect.gen(function* () {
    const lines: Array<Line> = []
    const capture = Logger.make(({ logLevel, message, fiber }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      if (/^(start|done|fail|dead) /.test(text)) {
        lines.push({
          level: logLevel,
          message: text,
          annotations: { ...fiber.getRef(References.CurrentLogAnnotations) },
        })
      }
    })
    yield* Effect.gen(function* () {
      const client = yield* Client
      const settled = yield* (yield* (yield* Events).subscribe).pipe(
        Stream.filter((event) => event._tag === "JobFinished" || event._tag === "JobDead"),
        Stream.take(2),
        Stream.runDrain,
        Effect.forkScoped,
      )
      yield* client.enqueue(Ok, [])
      yield* client.enqueue(Bad, [])
      yield* Fiber.join(settled)
    }).pipe(
      Effect.scoped,
      Effect.provide(Testing.layerReal([Ok, Bad], { logLevels })),
      Effect.provide(Logger.layer([capture])),
    )
    return lines
  })

it.live("start, done and dead lines carry queue, class, jid and duration at the configured levels", () =>
  Effect.gen(function* () {
    const lines = yield* runBoth({ start: "Debug", done: "Info", fail: "Error" })
    const done = lines.find((line) => line.message.startsWith("done LogOk"))
    assert.strictEqual(done?.level, "Info")
    assert.strictEqual(done?.annotations.queue, "default")
    assert.strictEqual(done?.annotations.class, "LogOk")
    assert.match(String(done?.annotations.jid), /^[0-9a-f]{24}$/)
    assert.isNumber(done?.annotations.duration_ms)
    assert.strictEqual(lines.find((line) => line.message.startsWith("dead LogBad"))?.level, "Error")
  }).pipe(Effect.provideService(References.MinimumLogLevel, "All")),
)

it.live("a level of None silences its line", () =>
  Effect.gen(function* () {
    const lines = yield* runBoth({ start: "None", done: "None", fail: "Warn" })
    assert.deepStrictEqual(
      lines.map((line) => line.message.split(" ")[0]),
      ["dead"],
    )
  }).pipe(Effect.provideService(References.MinimumLogLevel, "All")),
)
