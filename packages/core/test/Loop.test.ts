import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger, Option, Queue } from "effect"
import { TestClock } from "effect/testing"
import * as Loop from "../src/internal/Loop.ts"

/** Runs `effect` with the messages of every log line at Error recorded in `errors`. */
const recordErrors = (errors: Array<string>) =>
  Effect.provide(
    Logger.layer([
      Logger.make(({ logLevel, message }) => {
        if (logLevel === "Error") errors.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
      }),
    ]),
  )

/**
 * A loop body that reports each start on `started`, then ends as `endings` says in turn (die,
 * fail, return) and, once they run out, runs until interrupted.
 */
const scripted = (started: Queue.Queue<number>, endings: ReadonlyArray<"die" | "fail" | "return">) => {
  let runs = 0
  return Effect.suspend(() => {
    const run = runs++
    const ending = endings[run]
    return Queue.offer(started, run).pipe(
      Effect.andThen(
        ending === "die"
          ? Effect.die(new Error(`bug in run ${run}`))
          : ending === "fail"
            ? Effect.fail(`failure in run ${run}`)
            : ending === "return"
              ? Effect.void
              : Effect.never,
      ),
    )
  })
}

describe("Loop.supervise", () => {
  it.effect("restarts a loop that dies, fails or returns, after the restart delay, logging each at Error", () => {
    const errors: Array<string> = []
    return Effect.gen(function* () {
      const started = yield* Queue.unbounded<number>()
      const loop = yield* Loop.forkScoped("test", scripted(started, ["die", "fail", "return"]))
      assert.strictEqual(yield* Queue.take(started), 0)
      yield* Effect.yieldNow
      assert.isFalse(yield* loop.alive, "not alive while it waits to restart")
      assert.deepStrictEqual(errors, ["The test loop failed; restarting it"])

      // Not before the delay: the next run starts only when the clock reaches it.
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Queue.poll(started)))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Queue.take(started), 1)
      yield* TestClock.adjust(Loop.RestartDelay)
      assert.strictEqual(yield* Queue.take(started), 2)
      yield* TestClock.adjust(Loop.RestartDelay)
      assert.strictEqual(yield* Queue.take(started), 3)
      assert.isTrue(yield* loop.alive)
      assert.deepStrictEqual(errors, [
        "The test loop failed; restarting it",
        "The test loop failed; restarting it",
        "The test loop ended; restarting it",
      ])
    }).pipe(recordErrors(errors))
  })

  it.effect("interruption ends it, without a restart or a log line", () => {
    const errors: Array<string> = []
    return Effect.gen(function* () {
      const started = yield* Queue.unbounded<number>()
      const loop = yield* Loop.forkScoped("test", scripted(started, []))
      assert.strictEqual(yield* Queue.take(started), 0)
      yield* Fiber.interrupt(loop.fiber)
      assert.isFalse(yield* loop.alive)
      yield* TestClock.adjust("1 hour")
      assert.isTrue(Option.isNone(yield* Queue.poll(started)))
      assert.deepStrictEqual(errors, [])
    }).pipe(recordErrors(errors))
  })
})
