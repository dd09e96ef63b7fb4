/**
 * Verk Web shows a running job's last progress report (`CurrentJob.progress`): in `api/nodes` and
 * as a bar on the Busy page. A real node on Redis runs a job that reports 10 steps and waits.
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Schema } from "effect"
import * as CurrentJob from "../../packages/core/src/CurrentJob.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { eventually, forJid, is, quietLogs, startNode } from "../runtime/support.ts"
import { redisKind, webHandler } from "./support.ts"

it.live("a job reporting 10 steps shows its last report in api/nodes and on the Busy page", () =>
  Effect.gen(function* () {
    const testStore = yield* redisKind.open
    const release = yield* Deferred.make<void>()
    const Steps = Worker.make({
      name: "Steps",
      args: Schema.Tuple([]),
      perform: () =>
        Effect.gen(function* () {
          for (let step = 1; step <= 10; step++) yield* CurrentJob.progress(step * 7.5, `step ${step} <of 10>`)
          yield* Deferred.await(release)
        }),
    })
    const node = yield* startNode(testStore, { queues: { default: 1 }, shutdownTimeout: "200 millis" }, [Steps])
    const { jid } = yield* node.client.enqueue(Steps, [])
    yield* node.events.await(is("JobProgress", (event) => event.jid === jid && event.percent === 75))
    const fetch = yield* webHandler(testStore)
    const running = Effect.promise(async () => {
      const response = await Effect.runPromise(fetch("/api/nodes"))
      const nodes = (await response.json()) as Array<{ work: Array<Record<string, unknown>> }>
      return nodes.flatMap((entry) => entry.work).find((work) => work.jid === jid)
    })
    yield* eventually(
      "the last report is in api/nodes",
      Effect.map(running, (work) => (work?.progress as { percent?: number } | undefined)?.percent === 75),
    )
    assert.deepStrictEqual((yield* running)?.progress, { percent: 75, message: "step 10 <of 10>" })
    const busy = yield* Effect.promise(() => Effect.runPromise(fetch("/busy")).then((response) => response.text()))
    assert.include(
      busy,
      '<td data-progress="75"><progress max="100" value="75"></progress> 75% <span class="muted"><bdi>step 10 &lt;of 10&gt;</bdi></span></td>',
    )
    yield* Deferred.succeed(release, undefined)
    yield* node.events.await(forJid("JobFinished", jid))
  }).pipe(Effect.scoped, quietLogs),
)
