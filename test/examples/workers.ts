// workers.ts: `verk run ./workers.ts` runs its workers (Redis and queues from REDIS_URL, VERK_QUEUES).
import { Verk, Worker } from "@verk/core"
// Effect's modules by path, not the "effect" index, which would load all of Effect into the worker.
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

// A service the workers use, standing in for a database client.
export class Accounts extends Context.Service<
  Accounts,
  { readonly credit: (id: string, cents: number) => Effect.Effect<number> }
>()("example/Accounts") {}

// The services the workers use: `verk run` builds this before the first job and closes it at shutdown.
export const layer = Layer.effect(
  Accounts,
  Effect.gen(function* () {
    const balances = yield* Ref.make(new Map<string, number>())
    yield* Effect.log("accounts: connected")
    yield* Effect.addFinalizer(() => Effect.log("accounts: disconnected"))
    const credit = (id: string, cents: number) =>
      Ref.modify(balances, (all): [number, Map<string, number>] => {
        const balance = (all.get(id) ?? 0) + cents
        return [balance, new Map(all).set(id, balance)]
      })
    return { credit }
  }),
)

// Enqueue a job with `npx verk enqueue CreditAccount '["acct-1", 250]'`.
export const CreditAccount = Worker.make({
  name: "CreditAccount",
  args: Schema.Tuple([Schema.String, Schema.Int]), // [account id, cents]
  perform: ([id, cents]) =>
    Effect.gen(function* () {
      const balance = yield* (yield* Accounts).credit(id, cents)
      yield* Effect.log(`credited ${cents} cents to ${id}: balance ${balance}`)
    }),
})

// What `verk run` runs: these workers, with this layer. A service that a worker uses and the layer
// does not provide is a type error here, not a failing job.
export default Verk.module({ workers: [CreditAccount], layer })
