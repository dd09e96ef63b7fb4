// threadWorkers.ts: a worker whose jobs run in worker threads. Each thread imports this module and
// builds its `layer` (if it exports one) for itself; `verk run threadWorkers.ts` starts the threads.
import { createHash } from "node:crypto"
import { CurrentJob, Worker } from "@verk/core"
import { Effect, Schema } from "effect"

export const HashPassword = Worker.make({
  name: "HashPassword",
  thread: true, // runs in a worker thread: CPU-bound work does not stall the node's event loop
  timeout: "10 seconds", // terminates the thread: even a synchronous loop stops here (and is retried)
  args: Schema.Tuple([Schema.String, Schema.Int]), // [password, rounds]: they cross as JSON
  success: Schema.String, // what `perform` returns crosses back as JSON, encoded by this schema
  perform: ([password, rounds]) =>
    Effect.gen(function* () {
      let digest = password
      for (let round = 1; round <= rounds; round++) {
        digest = createHash("sha256").update(digest).digest("hex") // synchronous, CPU-bound
        if (round % 5_000 === 0) yield* CurrentJob.progress((round / rounds) * 100) // reaches the node
      }
      return digest
    }),
})
