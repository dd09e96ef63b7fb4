// workers.ts: `npx verk run ./workers.ts` runs these workers (REDIS_URL, VERK_QUEUES from the environment).
import { Verk, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const SendEmail = Worker.make({
  name: "SendEmail",
  args: Schema.Tuple([Schema.String, Schema.String]), // [to, subject]
  queue: "mail",
  perform: ([to, subject]) => Effect.log(`mail ${to}: ${subject}`),
})

// What `verk run` runs. A `layer` here would provide the services the workers use (a missing one
// is a type error); these use none.
export default Verk.module({ workers: [SendEmail] })
