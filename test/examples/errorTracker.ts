// errorTracker.ts: every failed run and every dead job goes to an error tracker (Sentry, Honeybadger...).
import { Events, Verk } from "@verk/core"
import { Context, Effect, Layer, Stream } from "effect"

// What a tracker is sent: the error, its stack trace, and the job it happened in.
export interface Report {
  readonly errorClass: string
  readonly message: string
  readonly backtrace: ReadonlyArray<string> | undefined
  readonly tags: { readonly queue: string; readonly class: string; readonly jid: string; readonly dead: boolean }
  readonly extra: { readonly args: ReadonlyArray<unknown>; readonly enqueuedAt: number | undefined }
}

// Your tracker's client, as a service (`capture` must not fail: a tracker that is down loses a report).
export class Tracker extends Context.Service<Tracker, { readonly capture: (report: Report) => Effect.Effect<void> }>()(
  "example/Tracker",
) {}

// Provide this beside `Verk.layer`: it forwards failures for as long as the node runs.
export const ForwardFailures = Layer.effectDiscard(
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    const tracker = yield* Tracker
    const events = yield* verk.subscribe // subscribed now: no failure after this is missed
    yield* events.pipe(
      Events.ofType("JobFailed", "JobDead"),
      Stream.runForEach((event) =>
        tracker.capture({
          errorClass: event.errorClass,
          message: event.errorMessage,
          backtrace: event.backtrace,
          tags: {
            queue: event.queue,
            class: event.job?.class ?? "(malformed)",
            jid: event.job?.jid ?? "-",
            dead: event._tag === "JobDead",
          },
          extra: { args: event.job?.args ?? [], enqueuedAt: event.job?.enqueued_at },
        }),
      ),
      Effect.forkScoped,
    )
  }),
)
