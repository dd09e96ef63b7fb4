/**
 * The `verk` command's own failures, and how every expected failure is told: one line on stderr,
 * `verk: <what went wrong>`, and exit code 1. Defects (bugs) keep their full cause and stack.
 */
import { fileURLToPath } from "node:url"
import type { Store } from "@verk/core"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import { CliError, CliOutput } from "effect/cli"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

/** `verk run <module>`: no file at the module's path. */
export class ModuleNotFound extends Data.TaggedError("ModuleNotFound")<{
  readonly module: string
  readonly resolved: string
}> {
  override get message() {
    return `cannot load ${this.module}: no such file (resolved to ${this.resolved})`
  }
}

/** `verk run <module>`: importing the module threw (its own code, or one of its imports). */
export class ModuleThrew extends Data.TaggedError("ModuleThrew")<{
  readonly module: string
  readonly resolved: string
  readonly error: unknown
}> {
  override get message() {
    const location = locate(this.error, this.resolved)
    return `${this.module} threw while loading: ${describe(this.error)}${location === undefined ? "" : ` (at ${location})`}`
  }
}

/** `verk run <module>`: the module exports nothing made by `Worker.make`. */
export class NoWorkersExported extends Data.TaggedError("NoWorkersExported")<{
  readonly module: string
  readonly exportNames: ReadonlyArray<string>
}> {
  override get message() {
    const found = this.exportNames.length === 0 ? "nothing" : this.exportNames.join(", ")
    return `${this.module} exports no workers (it exports ${found}); export values made by Worker.make, by name or as the default export (one, or an array)`
  }
}

/** `verk run --health-port`: the port could not be listened on. */
export class HealthPortUnavailable extends Data.TaggedError("HealthPortUnavailable")<{
  readonly host: string
  readonly port: number
  readonly error: unknown
}> {
  override get message() {
    const cause = (this.error as { readonly cause?: unknown }).cause
    return `cannot serve /healthz on ${this.host}:${this.port}: ${describe(cause ?? this.error)}`
  }
}

/** `verk web`, `verk run --web-port`: the dashboard's address cannot be listened on. */
export class WebPortUnavailable extends Data.TaggedError("WebPortUnavailable")<{
  readonly host: string
  readonly port: number
  readonly error: unknown
}> {
  override get message() {
    const cause = (this.error as { readonly cause?: unknown }).cause
    return `cannot serve Verk Web on ${this.host}:${this.port}: ${describe(cause ?? this.error)}`
  }
}

/** `verk run <module>`: the module's `layer` export is not a `Layer`. */
export class InvalidLayerExport extends Data.TaggedError("InvalidLayerExport")<{
  readonly module: string
  readonly found: string
}> {
  override get message() {
    return `${this.module} exports "layer", but it is ${this.found}, not a Layer (it provides the services the workers use)`
  }
}

/** `verk run <module>`: building the module's `layer` failed with a typed error. */
export class LayerFailed extends Data.TaggedError("LayerFailed")<{
  readonly module: string
  readonly error: unknown
}> {
  override get message() {
    return `the layer exported by ${this.module} failed to build: ${describe(this.error)}`
  }
}

/** `Error: boom` for an error, the JSON (or text) of anything else that was thrown. */
export const describe = (error: unknown): string => {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message)
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

// `at fn (file:///abs/a.ts:3:7)` or `at /abs/a.ts:3:7`; not Node's own `node:internal/...` frames.
const Frame = /^at (?:.* \()?((?:file:\/\/)?\/[^\s()]+):(\d+):(\d+)\)?$/
// A syntax error names its place on the stack's first line: `/abs/bad.ts:3`.
const SyntaxPlace = /^((?:file:\/\/)?\/\S+):(\d+)$/

const toPath = (location: string): string => (location.startsWith("file://") ? fileURLToPath(location) : location)

/**
 * Where `error` was thrown, as `/abs/file.ts:line:column`: the first stack frame in the module
 * itself (`file`), else the place a syntax error names, else the first frame outside Node's internals.
 */
export const locate = (error: unknown, file: string): string | undefined => {
  if (!(error instanceof Error) || typeof error.stack !== "string") return undefined
  const lines = error.stack.split("\n")
  const frames: Array<string> = []
  for (const line of lines) {
    const match = /^\s+at /.test(line) ? Frame.exec(line.trim()) : null
    if (match !== null) frames.push(`${toPath(match[1] ?? "")}:${match[2]}:${match[3]}`)
  }
  const own = frames.find((frame) => frame.startsWith(`${file}:`))
  if (own !== undefined) return own
  const place = SyntaxPlace.exec(lines[0] ?? "")
  return place === null ? frames[0] : `${toPath(place[1] ?? "")}:${place[2]}`
}

/** `VERK_POLL_INTERVAL="soon": expected a duration such as ...` for a setting read from the environment. */
const configLine = (error: Config.ConfigError): string => {
  if (!Schema.isSchemaError(error.cause)) return `configuration: ${error.cause.message}`
  const [first] = SchemaIssue.makeFormatterStandardSchemaV1()(error.cause.issue).issues
  if (first === undefined) return `configuration: ${error.message}`
  const name = (first.path ?? []).map(String).join(".")
  // The settings are not secrets (REDIS_URL is never decoded here), so the bad value is shown.
  const value = process.env[name]
  const subject = value === undefined ? name : `${name}=${JSON.stringify(value)}`
  return `${subject}: ${lowerFirst(first.message)}`
}

const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1)

/**
 * A `Store.StoreError`, known by its tag: `@verk/core` is loaded only by the commands that reach
 * Redis, not by the bin (whose `verk --help` needs none of it), and a module's own copy counts too.
 */
const isStoreError = (error: unknown): error is Store.StoreError =>
  error instanceof Error && (error as { readonly _tag?: unknown })._tag === "StoreError"

/** The line for an expected (typed) failure. */
export const line = (error: unknown): string => {
  if (error instanceof Config.ConfigError) return configLine(error)
  if (isStoreError(error)) {
    // A failed connect already says where and why (the URL with its password masked).
    const cause = error.cause
    if (error.operation === "connect" && cause instanceof Error) return cause.message
    return `Redis ${error.message}`
  }
  return error instanceof Error ? error.message : describe(error)
}

/**
 * A defect that is a mistake in the user's definitions, not a bug to debug: its message says what
 * to change, and a stack would only point into Verk. `Worker.DuplicateWorkerName` (two different
 * workers with one name, found when `Verk.layer` is built). Known by its tag, so that a module's own
 * copy of `@verk/core` is recognised too.
 */
const isDefinitionMistake = (defect: unknown): defect is Error =>
  defect instanceof Error && (defect as { readonly _tag?: unknown })._tag === "DuplicateWorkerName"

/**
 * Reports how the command failed, then fails the same way (so the exit code follows): nothing for
 * an interruption or a usage error (the help was shown), a line per expected failure or mistake in
 * the user's definitions (`isDefinitionMistake`), and the whole cause, stacks and all, for any
 * other defect.
 */
export const report = (cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> =>
  Effect.gen(function* () {
    if (Cause.hasInterruptsOnly(cause)) return yield* Effect.failCause(cause)
    const defects = cause.reasons.filter(Cause.isDieReason).map((reason) => reason.defect)
    const mistakes = defects.filter(isDefinitionMistake)
    if (mistakes.length < defects.length) {
      yield* Effect.logError(cause)
      return yield* Effect.failCause(cause)
    }
    for (const mistake of mistakes) yield* Console.error(`verk: ${lowerFirst(mistake.message)}`)
    for (const reason of cause.reasons) {
      if (!Cause.isFailReason(reason)) continue
      const error = reason.error
      if (CliError.isCliError(error) && error._tag === "ShowHelp") continue
      yield* Console.error(`verk: ${line(error)}`)
    }
    return yield* Effect.failCause(cause)
  })

/**
 * Help and the version as effect/cli shows them; a usage error (a missing argument, a bad flag
 * value) as one line pointing to the help: `verk: missing required argument: class (see verk enqueue --help)`.
 */
export const presenter: CliOutput.Presenter = {
  present: (event) => {
    if (event._tag !== "InvalidInvocation") return CliOutput.defaultPresenter.present(event)
    const problems = event.errors.map((error) =>
      lowerFirst(error.message.replace(". Expected: Schema validation failed: ", ": ").replace(/\.$/, "")),
    )
    return Console.error(`verk: ${problems.join("; ")} (see ${event.commandPath.join(" ")} --help)`)
  },
}
