/**
 * The README's progress example (progress.ts) in the testing kit's real mode: each row's report is
 * a `JobProgress` event, in order, the last at 100%.
 */
import { assert, it } from "@effect/vitest"
import { Client } from "@verk/core"
import * as Testing from "@verk/core/testing"
import { Effect } from "effect"
import { ImportRows } from "./progress.ts"

it.effect("ImportRows reports each row: 25%, 50%, 75%, 100%, with a message", () =>
  Effect.gen(function* () {
    const { jid } = yield* Client.enqueue(ImportRows, [["a", "b", "c", "d"]])
    yield* Effect.yieldNow
    for (let turn = 0; turn < 50 && !(yield* finished(jid)); turn++) yield* Effect.yieldNow
    const reports = (yield* Testing.events).flatMap((event) =>
      event._tag === "JobProgress" && event.jid === jid ? [[event.percent, event.message]] : [],
    )
    assert.deepStrictEqual(reports, [
      [25, "row 1 of 4"],
      [50, "row 2 of 4"],
      [75, "row 3 of 4"],
      [100, "row 4 of 4"],
    ])
  }).pipe(Effect.provide(Testing.layerReal([ImportRows]))),
)

const finished = (jid: string) =>
  Effect.map(Testing.events, (events) => events.some((event) => event._tag === "JobFinished" && event.jid === jid))
