/**
 * `verk enqueue <class> <args-json>`: push a job by hand, as Sidekiq's client would.
 * `verk enqueue --file jobs.jsonl` (`-` for stdin): a bulk load, one job a line.
 *
 * A line is `{"class": "...", "args": [...], "queue"?: "...", "at"?: <epoch seconds>}`, with any
 * other key of Sidekiq's format (`retry`, `jid`, ...) written as given; a line's queue wins over
 * `--queue`, an `at` in the future goes to the schedule set. Lines are read as a stream and written
 * in batches of `Client.EnqueueBatchSize` (one round trip per queue a batch touches).
 *
 * A bad line (not JSON, not a job, a bad queue name) is reported with its number and skipped, and
 * the command then exits 1: the good lines are loaded exactly once, and the report says which lines
 * to fix and load again. Aborting instead would leave the batches before the bad line loaded
 * anyway (stdin cannot be read twice to validate first), which is harder to resume from.
 *
 * `verk enqueue --module ./workers.ts <class> <args-json>`: the module is loaded as `verk run`
 * loads it (its `layer` is not built), the job goes to the queue of the worker named `class`
 * (unless `--queue`), with the worker's retry option, and its args are checked against the worker's
 * schema before Redis is reached: the job `Client.enqueue` would write from the app. Without
 * `--module` nothing is checked and the queue is `default` unless `--queue`.
 */
import { open } from "node:fs/promises"
import { createInterface } from "node:readline"
import { Client, Job, Settings, Store } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import { Argument, Command, Flag } from "effect/cli"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Stream from "effect/Stream"
import { Descriptions } from "./commands.ts"
import { load as loadModule } from "./load.ts"

const ArgsJson = Schema.fromJsonString(Schema.Array(Schema.Unknown))

/** One line of a jobs file. */
export const JobLine = Schema.fromJsonString(
  Schema.StructWithRest(
    Schema.Struct({
      class: Schema.NonEmptyString,
      args: Schema.Array(Schema.Unknown),
      queue: Schema.optionalKey(Settings.QueueName),
      at: Schema.optionalKey(Schema.Finite),
    }),
    [Schema.Record(Schema.String, Schema.Unknown)],
  ),
)
const decodeLine = Schema.decodeUnknownResult(JobLine)

/** The jobs file cannot be opened or read. */
export class JobsFileUnreadable extends Data.TaggedError("JobsFileUnreadable")<{
  readonly file: string
  readonly error: unknown
}> {
  override get message() {
    const error = this.error as { readonly code?: unknown; readonly message?: unknown }
    return `cannot read ${this.file}: ${typeof error.message === "string" ? error.message : String(this.error)}`
  }
}

/** Some lines were skipped; the rest were loaded. */
export class BadLines extends Data.TaggedError("BadLines")<{
  readonly lines: ReadonlyArray<number>
  readonly enqueued: number
}> {
  override get message() {
    const shown = this.lines.slice(0, 20).join(", ") + (this.lines.length > 20 ? ", ..." : "")
    const count = this.lines.length === 1 ? "1 bad line" : `${this.lines.length} bad lines`
    return `${count} skipped (line ${shown}); the other ${this.enqueued} jobs were enqueued`
  }
}

/** The first problem of a line, as `path: message`. */
const problem = (cause: unknown): string => {
  if (!Schema.isSchemaError(cause)) return String(cause)
  const [first] = SchemaIssue.makeFormatterStandardSchemaV1()(cause.issue).issues
  if (first === undefined) return cause.message
  const path = (first.path ?? []).map(String).join(".")
  return path === "" ? first.message : `${path}: ${first.message}`
}

/** The wire job for a line, as `Client.enqueueRaw` builds it (and validated the same way). */
const build = (line: typeof JobLine.Type, queue: string, nowMillis: number, enqueued: boolean) => {
  const { queue: own, at: _at, ...input } = line
  return Result.mapError(
    Client.buildJob({ ...input, queue: own ?? queue }, { nowMillis, enqueued }),
    (error) => error.reason,
  )
}

/** Progress as the output can show it: one updating line on a terminal, a line per 10,000 jobs in a pipe. */
const progress = (tty: boolean, startedAt: number) => {
  let lastLine = 0
  let lastDraw = 0
  const rate = (count: number, now: number) => Math.round(count / Math.max((now - startedAt) / 1000, 0.001))
  return {
    update: (count: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (tty) {
          if (now - lastDraw < 100) return
          lastDraw = now
          yield* Effect.sync(() => process.stdout.write(`\r\x1b[K${count} jobs enqueued (${rate(count, now)}/s)`))
          return
        }
        while (count >= lastLine + 10_000) {
          lastLine += 10_000
          yield* Console.log(`${lastLine} jobs enqueued (${rate(count, now)}/s)`)
        }
      }),
    done: (enqueued: number, scheduled: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (tty) yield* Effect.sync(() => process.stdout.write("\r\x1b[K"))
        const seconds = ((now - startedAt) / 1000).toFixed(1)
        const total = enqueued + scheduled
        yield* Console.log(
          `${total} jobs enqueued in ${seconds}s (${rate(total, now)}/s): ${enqueued} to queues, ${scheduled} scheduled`,
        )
      }),
  }
}

const lines = (file: string) =>
  Stream.unwrap(
    Effect.map(
      Effect.tryPromise({
        try: () => (file === "-" ? Promise.resolve(undefined) : open(file)),
        catch: (error) => new JobsFileUnreadable({ file, error }),
      }),
      (handle) =>
        Stream.fromAsyncIterable(
          createInterface({
            input: handle === undefined ? process.stdin : handle.createReadStream(),
            crlfDelay: Infinity,
          }),
          (error) => new JobsFileUnreadable({ file, error }),
        ),
    ),
  )

const load = Effect.fn("cli.enqueue.load")(function* (file: string, queue: string) {
  const store = yield* Store.Store
  const name = file === "-" ? "stdin" : file
  const report = progress(process.stdout.isTTY === true, yield* Clock.currentTimeMillis)
  const bad: Array<number> = []
  let enqueued = 0
  let scheduled = 0
  yield* lines(file).pipe(
    Stream.zipWithIndex,
    Stream.grouped(Client.EnqueueBatchSize),
    Stream.runForEach((batch) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const byQueue = new Map<string, Array<string>>()
        const later: Array<Store.ScoredPayload> = []
        for (const [text, index] of batch) {
          if (text.trim() === "") continue
          const decoded = decodeLine(text)
          const atMillis = Result.isSuccess(decoded) ? (decoded.success.at ?? 0) * 1000 : 0
          const job = Result.isSuccess(decoded)
            ? build(decoded.success, queue, now, atMillis <= now)
            : Result.fail(problem(decoded.failure))
          if (Result.isFailure(job)) {
            bad.push(index + 1)
            if (bad.length <= 20) yield* Console.error(`verk: ${name} line ${index + 1}: ${job.failure}`)
            continue
          }
          const payload = Job.encode(job.success)
          if (atMillis > now) later.push({ payload, score: Job.toEpochSeconds(atMillis) })
          else byQueue.set(job.success.queue, [...(byQueue.get(job.success.queue) ?? []), payload])
        }
        for (const [target, payloads] of byQueue) {
          yield* store.enqueue(target, payloads)
          enqueued += payloads.length
        }
        if (later.length > 0) {
          yield* store.addScheduled("schedule", later)
          scheduled += later.length
        }
        yield* report.update(enqueued + scheduled)
      }),
    ),
  )
  yield* report.done(enqueued, scheduled)
  if (bad.length > 0) return yield* new BadLines({ lines: bad, enqueued: enqueued + scheduled })
})

/** `verk enqueue` with neither a job nor a file, or both. */
export class EnqueueUsage extends Data.TaggedError("EnqueueUsage")<{ readonly message: string }> {}

/** `verk enqueue --module m <class> ...`: the module exports no worker named `class`. */
export class UnknownWorker extends Data.TaggedError("UnknownWorker")<{
  readonly module: string
  readonly className: string
  readonly workers: ReadonlyArray<string>
}> {
  override get message() {
    return `${this.module} exports no worker named ${this.className} (its workers: ${this.workers.join(", ")})`
  }
}

/** `verk enqueue --module m <class> <args>`: the args do not match the worker's schema. */
export class ArgsMismatch extends Data.TaggedError("ArgsMismatch")<{
  readonly worker: string
  readonly problem: string
}> {
  override get message() {
    return `invalid args for ${this.worker}: ${this.problem}`
  }
}

/** A schema's message on one line: `Expected string\n  at [0]` as `expected string at [0]`. */
const oneLine = (text: string): string => {
  const joined = text
    .split("\n")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .join(" ")
  return joined.charAt(0).toLowerCase() + joined.slice(1)
}

/** The job of `className` through the worker of that name in `module`, checked, as the app enqueues it. */
const enqueueChecked = Effect.fn("cli.enqueue.checked")(function* (
  module: string,
  className: string,
  args: ReadonlyArray<unknown>,
  queue: Option.Option<string>,
) {
  const { workers } = yield* loadModule(module)
  const worker = workers.find((candidate) => candidate.name === className)
  if (worker === undefined) {
    return yield* new UnknownWorker({ module, className, workers: workers.map((candidate) => candidate.name) })
  }
  // Checked before Redis is reached: args that do not match write nothing.
  const decoded = yield* worker
    .decodeArgs(args)
    .pipe(Effect.mapError((error) => new ArgsMismatch({ worker: worker.name, problem: oneLine(error.reason) })))
  return yield* Client.enqueue(worker, decoded, { queue: Option.getOrUndefined(queue) }).pipe(
    Effect.provide(Client.layer),
    Effect.provide(RedisStore.layerConfig),
  )
})

export const enqueue = Command.make(
  "enqueue",
  {
    className: Argument.String("class").pipe(Argument.withDescription("the job class (wire name)"), Argument.optional),
    args: Argument.String("args").pipe(
      Argument.withDescription("the args as a JSON array"),
      Argument.withSchema(ArgsJson),
      Argument.optional,
    ),
    queue: Flag.String("queue").pipe(
      Flag.withDescription(
        `the queue (${Settings.QueueNameRule}); default: the worker's with --module, else "default"; with --file, for lines that name none`,
      ),
      Flag.withSchema(Settings.QueueName),
      Flag.optional,
    ),
    module: Flag.String("module").pipe(
      Flag.withDescription(
        "a module exporting workers (as for verk run): the job goes to its worker's queue, its args checked",
      ),
      Flag.optional,
    ),
    file: Flag.String("file").pipe(
      Flag.withDescription('jobs to load, one JSON object a line ("-" for stdin)'),
      Flag.optional,
    ),
  },
  Effect.fn(function* ({ className, args, queue, file, module }) {
    // A usage mistake is told before Redis is reached.
    if (Option.isSome(file)) {
      if (Option.isSome(className)) {
        return yield* new EnqueueUsage({ message: "give a class and args, or --file, not both" })
      }
      if (Option.isSome(module)) {
        return yield* new EnqueueUsage({ message: "--module goes with a class and its args, not with --file" })
      }
      return yield* Effect.provide(
        load(
          file.value,
          Option.getOrElse(queue, () => "default"),
        ),
        RedisStore.layerConfig,
      )
    }
    if (Option.isNone(className) || Option.isNone(args)) {
      return yield* new EnqueueUsage({ message: "give a class and its args as a JSON array, or --file" })
    }
    const job = Option.isSome(module)
      ? yield* enqueueChecked(module.value, className.value, args.value, queue)
      : yield* Client.enqueueRaw({
          class: className.value,
          args: args.value,
          queue: Option.getOrElse(queue, () => "default"),
        }).pipe(Effect.provide(Client.layer), Effect.provide(RedisStore.layerConfig))
    yield* Console.log(job.jid)
  }),
).pipe(Command.withDescription(Descriptions.enqueue))
