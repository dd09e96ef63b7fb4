/** `verk run <module>`: a worker process for the workers that module exports. */
import { pathToFileURL } from "node:url"
import type { Worker } from "@verk/core"
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { layer } from "../WorkerProcess.ts"

const isWorker = (value: unknown): value is Worker.AnyWorker =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { name?: unknown }).name === "string" &&
  typeof (value as { run?: unknown }).run === "function"

/** A module's workers: its default export (an array) or every exported worker. */
export const loadWorkers = Effect.fn("cli.loadWorkers")(function* (modulePath: string) {
  const url = pathToFileURL(modulePath).href
  const loaded = yield* Effect.tryPromise({
    try: () => import(url) as Promise<Record<string, unknown>>,
    catch: (cause) => new Error(`Cannot load workers from ${modulePath}: ${String(cause)}`),
  })
  const exported = Array.isArray(loaded.default) ? loaded.default : Object.values(loaded)
  const workers = exported.filter(isWorker)
  if (workers.length === 0) return yield* Effect.fail(new Error(`${modulePath} exports no workers`))
  return workers
})

export const run = Command.make(
  "run",
  { module: Argument.String("module").pipe(Argument.withDescription("a module exporting worker definitions")) },
  Effect.fn(function* ({ module }) {
    const workers = yield* loadWorkers(module)
    yield* Effect.logInfo(`running ${workers.map((worker) => worker.name).join(", ")}`)
    return yield* Effect.never.pipe(Effect.provide(layer(workers)))
  }),
).pipe(Command.withDescription("Run a worker process (settings from REDIS_URL, VERK_QUEUES, ...)"))
