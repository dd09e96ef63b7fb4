/**
 * Acceptance: an outcome whose write fails (Redis away) is written later, whatever it is. Each
 * write fails with a StoreError twice; the job stays in progress meanwhile, runs once, and its
 * outcome lands: a success is acked (and counted), a failure lands in the retry set.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Logger, References, Schema } from "effect"
import { StoreError, type StoreShape, context as storeContext } from "../../packages/core/src/Store.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forEachStore, forJid, type StoreKind, setEntries, startNode, type TestStore } from "./support.ts"

const config = { queues: { default: 2 }, pollInterval: "200 millis", statsFlushInterval: "100 millis" } as const

/** The store, whose `ack` and `retry` fail twice each with a StoreError before they write. */
const failingWrites = (testStore: TestStore) => {
  const calls = { ack: 0, retry: 0 }
  const inner = testStore.store
  const fail = (operation: "ack" | "retry") =>
    Effect.fail(new StoreError({ operation, cause: new Error(`${operation} refused (test)`) }))
  const store: StoreShape = {
    ...inner,
    ack: (...args) => Effect.suspend(() => (++calls.ack <= 2 ? fail("ack") : inner.ack(...args))),
    retry: (...args) => Effect.suspend(() => (++calls.retry <= 2 ? fail("retry") : inner.retry(...args))),
  }
  return { calls, testStore: { ...testStore, store, context: storeContext(store) } satisfies TestStore }
}

const outcomeWrites = (kind: StoreKind) => {
  it.live("an ack and a retry that fail are written later; each job ran once and stays in progress meanwhile", () => {
    const warnings: Array<string> = []
    let performed = 0
    return Effect.gen(function* () {
      const { calls, testStore } = failingWrites(yield* kind.open)
      const Ok = Worker.make({ name: "Ok", args: Schema.Tuple([]), perform: () => Effect.sync(() => performed++) })
      const Fails = Worker.make({
        name: "Fails",
        args: Schema.Tuple([]),
        perform: () => Effect.sync(() => performed++).pipe(Effect.andThen(Effect.fail("boom"))),
      })
      const node = yield* startNode(testStore, config, [Ok, Fails])

      const ok = yield* node.client.enqueue(Ok, [])
      yield* node.events.await(forJid("JobFinished", ok.jid), 1, { timeout: "10 seconds" })
      assert.strictEqual(calls.ack, 3, "two refused acks, then the one that landed")
      assert.deepStrictEqual(yield* testStore.store.inProgress("default", node.verk.nodeId), [])

      const failing = yield* node.client.enqueue(Fails, [])
      yield* node.events.await(forJid("JobFailed", failing.jid), 1, { timeout: "10 seconds" })
      assert.strictEqual(calls.retry, 3, "two refused retry writes, then the one that landed")
      const retries = yield* setEntries(testStore, "retry")
      assert.deepStrictEqual(
        retries.map(({ job }) => [job.jid, job.retry_count, job.error_message]),
        [[failing.jid, 0, "boom"]],
      )
      assert.deepStrictEqual(yield* testStore.store.inProgress("default", node.verk.nodeId), [])
      assert.strictEqual(performed, 2, "each job ran once")
      yield* eventually(
        "the success and the failure counted once each",
        Effect.map(testStore.store.stats(), (stats) => stats.processed === 2 && stats.failed === 1),
      )
      assert.strictEqual(warnings.filter((line) => line.includes(ok.jid)).length, 2)
      assert.strictEqual(warnings.filter((line) => line.includes(failing.jid)).length, 2)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Logger.layer([
          Logger.make(({ logLevel, message }) => {
            if (logLevel === "Warn") warnings.push(String(message))
          }),
        ]),
      ),
      Effect.provideService(References.MinimumLogLevel, "Warn"),
    )
  })
}

forEachStore(outcomeWrites)
