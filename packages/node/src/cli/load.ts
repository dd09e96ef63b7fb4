/**
 * How `verk run` (and `verk enqueue --module`, and each worker thread, see Threads.ts) reads a
 * module: its workers, its layer and its periodic entries (see run.ts for the rules). A module of
 * its own so that a worker thread loads a module without loading the command line.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Periodic, Verk, Worker } from "@verk/core"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { InvalidLayerExport, ModuleNotFound, ModuleThrew, NoWorkersExported } from "./errors.ts"

/** What `verk run` takes from a module. */
export interface Loaded {
  readonly workers: ReadonlyArray<Worker.AnyWorker<unknown>>
  /** The module's layer (its `Verk.module`'s, or its `layer` export): the services its workers use. */
  readonly layer: Layer.Layer<unknown, unknown, never> | undefined
  /** The module's periodic entries (its `Verk.module`'s, or its `periodic` export): none when it has none. */
  readonly periodic: ReadonlyArray<Periodic.Entry>
  /** The module's limits per queue: its `Verk.module`'s only (see core's Limits.ts); none otherwise. */
  readonly queueLimits: Verk.Module["queueLimits"]
}

/** `verk run <module>`: the module's `periodic` export is not an array of `Periodic.make` entries. */
export class InvalidPeriodicExport extends Data.TaggedError("InvalidPeriodicExport")<{
  readonly module: string
  readonly found: string
}> {
  override get message() {
    return `${this.module} exports \`periodic\` as ${this.found}: it must be an array of entries made by Periodic.make`
  }
}

const describeValue = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "an array"
      : /^[aeiou]/.test(typeof value)
        ? `an ${typeof value}`
        : `a ${typeof value}`

/**
 * `verk run <module>`: a TypeScript module on a Node that does not run TypeScript. Node's own error
 * (`Unknown file extension ".ts"`) blames the module; the version of Node is what is wrong.
 */
export class TypeScriptNeedsNewerNode extends Data.TaggedError("TypeScriptNeedsNewerNode")<{
  readonly module: string
  readonly nodeVersion: string
  readonly error: unknown
}> {
  override get message() {
    const reason = this.error instanceof Error ? ` (${this.error.message})` : ""
    return `cannot load ${this.module}: Node ${this.nodeVersion} does not run TypeScript${reason}; running .ts directly needs Node ≥ 22.18 (type stripping), or build the module to .js and run that`
  }
}

/**
 * Why importing a module failed: a `.ts` (`.mts`, `.cts`) file Node does not know how to load
 * (ERR_UNKNOWN_FILE_EXTENSION, Node before 22.18) is the Node version's fault, anything else the module's.
 */
export const loadFailure = (
  module: string,
  resolved: string,
  error: unknown,
  nodeVersion: string = process.version,
): TypeScriptNeedsNewerNode | ModuleThrew => {
  const code = typeof error === "object" && error !== null ? (error as { readonly code?: unknown }).code : undefined
  const message = error instanceof Error ? error.message : ""
  return code === "ERR_UNKNOWN_FILE_EXTENSION" && /"\.[cm]?ts"/.test(message)
    ? new TypeScriptNeedsNewerNode({ module, nodeVersion, error })
    : new ModuleThrew({ module, resolved, error })
}

/** Imports `module` (a path, relative to the working directory) and takes its workers and layer. */
export const load = Effect.fn("cli.load")(function* (module: string) {
  const resolved = resolve(module)
  if (!existsSync(resolved)) return yield* new ModuleNotFound({ module, resolved })
  const exported = yield* Effect.tryPromise({
    try: () => import(pathToFileURL(resolved).href) as Promise<Record<string, unknown>>,
    catch: (error) => loadFailure(module, resolved, error),
  })

  // A `Verk.module` default export says it all: its workers, its layer; the other exports are not looked at.
  const typed = Verk.isModule(exported.default) ? exported.default : undefined
  const workers = new Set<Worker.AnyWorker<unknown>>()
  const fromDefault = Array.isArray(exported.default) ? exported.default : [exported.default]
  const candidates: ReadonlyArray<unknown> = typed?.workers ?? [...fromDefault, ...Object.values(exported)]
  for (const value of candidates) {
    if (Worker.isWorker(value)) workers.add(value)
  }
  if (workers.size === 0) return yield* new NoWorkersExported({ module, exportNames: Object.keys(exported) })

  const layer: unknown = typed === undefined ? exported.layer : typed.layer
  if (layer !== undefined && !Layer.isLayer(layer)) {
    return yield* new InvalidLayerExport({ module, found: describeValue(layer) })
  }
  const periodic: unknown = typed === undefined ? (exported.periodic ?? []) : typed.periodic
  if (!Array.isArray(periodic) || !periodic.every(Periodic.isEntry)) {
    const found = Array.isArray(periodic) ? "an array holding something else" : describeValue(periodic)
    return yield* new InvalidPeriodicExport({ module, found })
  }
  const queueLimits = typed?.queueLimits ?? {}
  return { workers: [...workers], layer: layer as Loaded["layer"], periodic, queueLimits } satisfies Loaded
})
