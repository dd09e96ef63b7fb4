/** A small app to test in every mode: a signup that enqueues a welcome mail, a flaky job, a reminder. */
import { Client, CurrentJob, Worker } from "@verk/core"
import { DateTime, Effect, Ref, Schema } from "effect"

/** What the jobs did, for the tests to look at. */
export const makeApp = Effect.gen(function* () {
  const log = yield* Ref.make<ReadonlyArray<string>>([])
  const record = (line: string) => Ref.update(log, (lines) => [...lines, line])

  const SendWelcome = Worker.make({
    name: "SendWelcome",
    args: Schema.Tuple([Schema.String]),
    perform: ([email]) => record(`welcome ${email}`),
  })

  const SignUp = Worker.make({
    name: "SignUp",
    args: Schema.Tuple([Schema.String]),
    perform: ([email]) =>
      Effect.gen(function* () {
        yield* record(`signup ${email}`)
        yield* Client.enqueue(SendWelcome, [email]).pipe(Effect.orDie)
      }),
  })

  const FlakyExport = Worker.make({
    name: "FlakyExport",
    args: Schema.Tuple([Schema.Int]),
    retryPolicy: { retryAt: (failedAt) => DateTime.addDuration(failedAt, "30 seconds") },
    perform: ([id]) =>
      Effect.gen(function* () {
        const job = yield* CurrentJob.CurrentJob
        if (job.retryCount === undefined) return yield* Effect.fail(new Error(`export ${id}: storage busy`))
        yield* record(`export ${id} on retry ${job.retryCount}`)
      }),
  })

  const Remind = Worker.make({
    name: "Remind",
    args: Schema.Tuple([Schema.String]),
    perform: ([text]) => record(`remind ${text}`),
  })

  /** Enqueues itself forever: a mistake the kit must catch. */
  const Forever: Worker.Worker<readonly [number], never, Client.Client> = Worker.make({
    name: "Forever",
    args: Schema.Tuple([Schema.Int]),
    perform: ([n]) => Effect.asVoid(Effect.orDie(Client.enqueue(Forever, [n + 1]))),
  })

  return { log: Ref.get(log), workers: { SendWelcome, SignUp, FlakyExport, Remind, Forever } }
})
