/**
 * `verk jobs retry|delete|kill`: the dashboard's job actions, for jids or a whole set.
 *
 * - `retry <jid...>`: to its queue now, from the retry, schedule or dead set (`--set` narrows);
 *   `retry --all --set retry|scheduled|dead [--class C]`.
 * - `delete <jid...>`: from any of the three sets; `delete --all --set ... [--class C]`.
 * - `kill <jid...>`: from the retry or schedule set to dead.
 * - `cancel <jid...>`: waiting jobs removed, running ones interrupted (jobsCancel.ts).
 *
 * A job is named by its jid, or by its entry reference (`@<score>~<digest>`, which Verk Web and
 * its API show for every entry): that names exactly one entry, whatever its payload holds (no jid,
 * a jid with spaces, bytes that are not UTF-8), and only that entry is changed.
 *
 * Each prints what it did: `retried 2 jobs`, then `not found: <jid> ...` for jids no set held.
 * When none of the given jids was found the command fails (one line, exit 1): a script asked for
 * something that did not happen. Some missing is exit 0: those jobs may have run meanwhile.
 */
import { Inspection, type Store } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Console from "effect/Console"
import { Argument, Command, Flag } from "effect/cli"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as EntryRef from "../EntryRef.ts"
import { Descriptions } from "./commands.ts"
import { cancel } from "./jobsCancel.ts"

// Loaded when a command needs it (the CLI loads a module only when it is used: cold start).
const admin = Effect.promise(() => import("../Admin.ts"))

/** The sets as the CLI names them (`--set`), and as Inspection and Admin (the dashboard) do. */
const sets = {
  retry: { api: Inspection.RetrySet, admin: "retries", store: "retry" },
  scheduled: { api: Inspection.ScheduledSet, admin: "scheduled", store: "schedule" },
  dead: { api: Inspection.DeadSet, admin: "dead", store: "dead" },
} as const
type SetFlag = keyof typeof sets
const setNames = ["retry", "scheduled", "dead"] as const

/** None of the jids given was in the sets looked at. */
export class JobsNotFound extends Data.TaggedError("JobsNotFound")<{
  readonly jids: ReadonlyArray<string>
  readonly where: ReadonlyArray<SetFlag>
}> {
  override get message() {
    const where = this.where.join(", ").replace(/, ([^,]*)$/, " or $1")
    return `no job ${this.jids.join(", ")} in ${where}`
  }
}

/** A combination of arguments the command does not take. */
export class BadJobsInvocation extends Data.TaggedError("BadJobsInvocation")<{ readonly message: string }> {}

const jidsArgument = (min: number) =>
  Argument.String("jid").pipe(
    Argument.withDescription("the jids of the jobs, or entry references (@<score>~<digest>, as Verk Web shows them)"),
    Argument.variadic({ min }),
  )

/** Acts on the entry `key` names in `set` (an entry reference, else a jid), if it is there. */
const onEntry = (
  set: SetFlag,
  key: string,
  act: (entry: Inspection.ScoredEntry) => Effect.Effect<boolean, Store.StoreError, Store.Services>,
) =>
  Effect.flatMap(EntryRef.isRef(key) ? EntryRef.find(sets[set].api, key) : sets[set].api.find(key), (found) =>
    found === undefined ? Effect.succeed(false) : act(found),
  )
const allFlag = Flag.Boolean("all").pipe(
  Flag.withDefault(false),
  Flag.withDescription("every job of --set (or of --class in it)"),
)
const classFlag = Flag.String("class").pipe(Flag.withDescription("with --all: only jobs of this class"), Flag.optional)
/** `--set`: `retries` as the pages and the API say it, or `retry` as this command long did. */
const setFlag = <const Names extends ReadonlyArray<SetFlag>>(names: Names, description: string) =>
  Flag.Literals("set", [...new Set([...names.map((name) => (name === "retry" ? "retries" : name)), ...names])]).pipe(
    Flag.map((name): Names[number] => (name === "retries" ? "retry" : name) as Names[number]),
    Flag.withDescription(description),
    Flag.optional,
  )

const plural = (count: number) => `${count} job${count === 1 ? "" : "s"}`

/**
 * Runs `action` on each jid in the first of `where` that holds it; prints the count and the jids
 * none held, or fails when none was found.
 */
const eachJid = Effect.fn("cli.jobs.eachJid")(function* (
  verb: string,
  jids: ReadonlyArray<string>,
  where: ReadonlyArray<SetFlag>,
  action: (set: SetFlag, jid: string) => Effect.Effect<boolean, Store.StoreError, Store.Services>,
) {
  const missing: Array<string> = []
  const bySet = new Map<SetFlag, number>()
  for (const jid of jids) {
    let done = false
    for (const set of where) {
      if (yield* action(set, jid)) {
        bySet.set(set, (bySet.get(set) ?? 0) + 1)
        done = true
        break
      }
    }
    if (!done) missing.push(jid)
  }
  const count = jids.length - missing.length
  if (count === 0) return yield* new JobsNotFound({ jids: missing, where })
  const from = [...bySet].map(([set, n]) => `${n} from ${set}`).join(", ")
  yield* Console.log(`${verb} ${plural(count)} (${from})`)
  if (missing.length > 0) yield* Console.log(`not found: ${missing.join(" ")}`)
})

/**
 * Deletes the jobs of `set` whose class is `className` (malformed entries never match), by cursor
 * scan steps whose prefilter lets through only members holding the class's JSON text: the set is
 * never read whole. Each by the member read: exactly that entry.
 */
const deleteOfClass = Effect.fn("cli.jobs.deleteOfClass")(function* (set: SetFlag, className: string) {
  let count = 0
  let cursor = "0"
  do {
    const step = yield* sets[set].api.scan(cursor, 200, JSON.stringify(className).slice(1, -1))
    for (const member of step.entries) {
      const entry = Inspection.decodeScored(member)
      if (Result.isFailure(entry.job) || entry.job.success.class !== className) continue
      if (yield* sets[set].api.deleteEntry(entry)) count++
    }
    cursor = step.cursor
  } while (cursor !== "0")
  return count
})

/** The jids, or `--all` with a `--set`: exactly one of the two. */
const bulkOrJids = Effect.fn("cli.jobs.bulkOrJids")(function* (
  command: string,
  jids: ReadonlyArray<string>,
  all: boolean,
  set: Option.Option<SetFlag>,
  className: Option.Option<string>,
) {
  if (all && jids.length > 0)
    return yield* new BadJobsInvocation({ message: `${command}: give jids or --all, not both` })
  if (!all && jids.length === 0)
    return yield* new BadJobsInvocation({ message: `${command}: give jids, or --all --set <set>` })
  if (all && Option.isNone(set)) return yield* new BadJobsInvocation({ message: `${command} --all needs --set` })
  if (!all && Option.isSome(className)) {
    return yield* new BadJobsInvocation({ message: `${command}: --class goes with --all` })
  }
  return all ? Option.getOrUndefined(set) : undefined
})

const retryJobs = Effect.fn("cli.jobs.retry")(function* (
  jids: ReadonlyArray<string>,
  set: Option.Option<SetFlag>,
  bulk: SetFlag | undefined,
  className: Option.Option<string>,
) {
  if (bulk === undefined) {
    const where = Option.match(set, { onNone: () => setNames, onSome: (one) => [one] })
    return yield* eachJid("retried", jids, where, (name, key) => onEntry(name, key, sets[name].api.requeueEntry))
  }
  if (Option.isNone(className)) {
    const done = yield* (yield* admin).retryAll(sets[bulk].admin)
    return yield* Console.log(`retried ${plural(done.count)} from ${bulk}`)
  }
  // As the dashboard's retry all, for one class: each job only if still in the set, byte for byte.
  const count = yield* sets[bulk].api.requeueAll((job) => job.class === className.value)
  yield* Console.log(`retried ${plural(count)} of class ${className.value} from ${bulk}`)
})

const deleteJobs = Effect.fn("cli.jobs.delete")(function* (
  jids: ReadonlyArray<string>,
  set: Option.Option<SetFlag>,
  bulk: SetFlag | undefined,
  className: Option.Option<string>,
) {
  if (bulk === undefined) {
    const where = Option.match(set, { onNone: () => setNames, onSome: (one) => [one] })
    return yield* eachJid("deleted", jids, where, (name, key) => onEntry(name, key, sets[name].api.deleteEntry))
  }
  if (Option.isNone(className)) {
    const done = yield* (yield* admin).deleteAll(sets[bulk].admin)
    return yield* Console.log(`deleted ${plural(done.count)} from ${bulk}`)
  }
  const count = yield* deleteOfClass(bulk, className.value)
  yield* Console.log(`deleted ${plural(count)} of class ${className.value} from ${bulk}`)
})

const setOptions = {
  jids: jidsArgument(0),
  all: allFlag,
  set: setFlag(setNames, "where the jobs are: retries, scheduled or dead (every one when absent)"),
  className: classFlag,
}

/** A usage mistake is told before Redis is reached; then `act` runs on the store. */
const setCommand = (name: "retry" | "delete", act: typeof retryJobs) =>
  Command.make(
    name,
    setOptions,
    Effect.fn(function* ({ jids, all, set, className }) {
      const bulk = yield* bulkOrJids(name, jids, all, set, className)
      return yield* Effect.provide(act(jids, set, bulk, className), RedisStore.layerConfig)
    }),
  )

const retry = setCommand("retry", retryJobs).pipe(
  Command.withDescription("Move jobs to their queue now, from the retry, schedule or dead set"),
)
const remove = setCommand("delete", deleteJobs).pipe(
  Command.withDescription("Delete jobs from the retry, schedule or dead set"),
)

const kill = Command.make(
  "kill",
  {
    jids: jidsArgument(1),
    set: setFlag(["retry", "scheduled"], "where the jobs are: retries or scheduled (both when absent)"),
  },
  Effect.fn(function* ({ jids, set }) {
    const where = Option.match(set, { onNone: () => ["retry", "scheduled"] as const, onSome: (one) => [one] })
    yield* eachJid("killed", jids, where, (name, key) =>
      onEntry(name, key, (entry) => Inspection.killEntry(name === "retry" ? "retry" : "schedule", entry)),
    )
  }, Effect.provide(RedisStore.layerConfig)),
).pipe(Command.withDescription("Move jobs from the retry or schedule set to dead"))

/** `verk jobs retry|delete|kill`. */
export const jobs = Command.make("jobs").pipe(
  Command.withDescription(Descriptions.jobs),
  Command.withSubcommands([retry, remove, kill, cancel]),
)
