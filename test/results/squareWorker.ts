/**
 * The worker of the cross-process results test: the test process runs it, a child process
 * (caller.ts) enqueues its jobs and waits for their results. Its result schema decodes (a
 * DateTime from epoch millis), so a caller that gets a DateTime got the typed result.
 */
import { DateTime, Effect, Schema } from "effect"
import * as Worker from "../../packages/core/src/Worker.ts"

/** `n` squared, and when it was computed. */
export const Square = Worker.make({
  name: "Square",
  queue: "squares",
  args: Schema.Tuple([Schema.Int]),
  success: Schema.Struct({ n: Schema.Int, square: Schema.Int, at: Schema.DateTimeUtcFromMillis }),
  keepResult: "10 minutes",
  perform: ([n]) =>
    Effect.map(
      Effect.clockWith((clock) => clock.currentTimeMillis),
      (now) => ({
        n,
        square: n * n,
        at: DateTime.makeUnsafe(now),
      }),
    ),
})
