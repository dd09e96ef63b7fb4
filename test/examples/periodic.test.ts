/**
 * The README's periodic example (periodic.ts) as `verk run` loads it (its Verk.module: the worker
 * and both entries), and its entries under TestClock on the in-memory store: the 07:30 Paris digest
 * with the day computed from its tick, and the pulse every 30 seconds.
 */
import { assert, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import * as Periodic from "../../packages/core/src/Periodic.ts"
import { Store } from "../../packages/core/src/Store.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import { load } from "../../packages/node/src/cli/run.ts"
import { quietLogs } from "../runtime/support.ts"
import example, { periodic, SendDigest } from "./periodic.ts"

it.effect("verk run takes periodic.ts's worker and its two entries", () =>
  Effect.gen(function* () {
    const loaded = yield* load("test/examples/periodic.ts")
    assert.deepStrictEqual(
      loaded.workers.map((worker) => worker.name),
      ["SendDigest"],
    )
    assert.deepStrictEqual(
      loaded.periodic.map((entry) => entry.name),
      ["daily-digest", "pulse"],
    )
  }),
)

it.effect("the digest at 07:30 Paris (06:30 UTC in winter) with its day, and a pulse every 30 s", () =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.UTC(2025, 0, 1, 6, 29, 10))
    const store = yield* Layer.build(Layer.fresh(MemoryStore.layer))
    yield* Layer.buildWithScope(
      Verk.layer({
        workers: example.workers,
        periodic: example.periodic,
        queues: {},
        pollInterval: "1 hour",
        heartbeatInterval: "1 hour",
        statsFlushInterval: "1 hour",
      }).pipe(Layer.provide(Layer.succeedContext(store))),
      yield* Effect.scope,
    )
    const jobs = Effect.map(Context.get(store, Store).queueRange("default", 0, -1), (raws) =>
      raws.map((raw) => JSON.parse(raw) as { jid: string; class: string; args: ReadonlyArray<string> }).reverse(),
    )
    for (let step = 0; step < 3; step++) {
      yield* Effect.yieldNow
      yield* TestClock.adjust("20 seconds")
    }
    const enqueued = yield* jobs
    // Two ticks at 06:30: their jobs' order between them is not promised.
    assert.sameDeepMembers(
      enqueued.map(({ jid, args }) => [jid, args]),
      [
        [Periodic.jidOf("pulse", Date.UTC(2025, 0, 1, 6, 29, 30)), ["pulse", "today"]],
        [Periodic.jidOf("daily-digest", Date.UTC(2025, 0, 1, 6, 30)), ["daily", "2025-01-01"]],
        [Periodic.jidOf("pulse", Date.UTC(2025, 0, 1, 6, 30)), ["pulse", "today"]],
      ],
    )
    assert.strictEqual(enqueued.length, 3)
    assert.strictEqual(enqueued[0]?.jid, Periodic.jidOf("pulse", Date.UTC(2025, 0, 1, 6, 29, 30)))
    assert.isTrue(enqueued.every((job) => job.class === SendDigest.name))
    assert.strictEqual(periodic.length, 2)
  }).pipe(quietLogs),
)
