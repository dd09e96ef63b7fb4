/**
 * `verk limits [--json]`: the budgets of rate and concurrency limits in use (see Limits.ts in
 * @verk/core), across every node: a rate budget's starts in its window, a concurrency budget's
 * running jobs and the nodes they run on. Limits are code, not data: a budget nobody used lately is
 * not listed, and the limits themselves (`limit`, `per`) are the workers'.
 */
import { RedisStore } from "@verk/redis"
import * as Console from "effect/Console"
import { Command, Flag } from "effect/cli"
import * as Effect from "effect/Effect"
import * as AdminLimits from "../AdminLimits.ts"
import { Descriptions } from "./commands.ts"
import { table } from "./stats.ts"

/** `verk limits` without `--json`: one line per budget in use. */
export const render = (usage: ReadonlyArray<AdminLimits.LimitView>): ReadonlyArray<string> => {
  if (usage.length === 0) return ["no limit in use"]
  return table(
    ["KIND", "BUDGET", "USED", "NODES"],
    usage.map((entry) => {
      const counts = new Map<string, number>()
      for (const node of entry.nodes) counts.set(node, (counts.get(node) ?? 0) + 1)
      const nodes = [...counts].map(([node, n]) => (n === 1 ? node : `${node} (${n})`)).join(", ")
      return [entry.kind, entry.budget, entry.used, nodes === "" ? "-" : nodes]
    }),
  )
}

/** `verk limits [--json]`. */
export const limits = Command.make(
  "limits",
  {
    json: Flag.Boolean("json").pipe(
      Flag.withDefault(false),
      Flag.withDescription("print one JSON array: { kind, budget, used, nodes, holders } per budget"),
    ),
  },
  Effect.fn(function* ({ json }) {
    // The dashboard's reading (AdminLimits.ts); the limits themselves are the workers' code.
    const usage = yield* AdminLimits.limits()
    if (json) return yield* Console.log(JSON.stringify(usage))
    for (const line of render(usage)) yield* Console.log(line)
  }, Effect.provide(RedisStore.layerConfig)),
).pipe(Command.withDescription(Descriptions.limits))
