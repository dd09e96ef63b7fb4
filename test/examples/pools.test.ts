/**
 * The README's pools example (pools.ts) on the in-memory store: the node runs its three pools, and
 * their queues' jobs run.
 */
import { assert, it } from "@effect/vitest"
import { Client, MemoryStore, Verk } from "@verk/core"
import { Effect, Layer, Stream } from "effect"
import { BuildReport, ChargeCard, node } from "./pools.ts"

it.effect("the node runs its pools: strict, weighted and a queue of its own", () =>
  Effect.gen(function* () {
    const verk = yield* Verk.Verk
    assert.deepStrictEqual(
      (yield* verk.poolStats).map(({ pool, queues, weights, concurrency }) => ({ pool, queues, weights, concurrency })),
      [
        { pool: "critical>default>low", queues: ["critical", "default", "low"], weights: undefined, concurrency: 25 },
        { pool: "mail", queues: ["mail"], weights: undefined, concurrency: 5 },
        { pool: "reports", queues: ["reports", "exports"], weights: [3, 1], concurrency: 10 },
      ],
    )
    const events = yield* verk.subscribe
    yield* Client.enqueue(ChargeCard, ["order-1"])
    yield* Client.enqueue(BuildReport, ["daily"])
    const finished = yield* events.pipe(
      Stream.filter((event) => event._tag === "JobFinished"),
      Stream.take(2),
      Stream.runCollect,
    )
    assert.sameMembers(
      finished.map((event) => (event._tag === "JobFinished" ? event.queue : "")),
      ["critical", "reports"],
    )
  }).pipe(Effect.scoped, Effect.provide(node.pipe(Layer.provideMerge(MemoryStore.layer)))),
)
