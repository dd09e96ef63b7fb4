/**
 * Every Verk setting, with Verk's and Sidekiq's defaults, and the same settings read from the
 * environment through Effect `Config` (Verk's `{:system, "ENV", default}` convention).
 *
 *   Settings.make({ queues: { default: 25 }, shutdownTimeout: "10 seconds" })
 *   Settings.config  // VERK_QUEUES=default:25,mail:5  VERK_SHUTDOWN_TIMEOUT=10s ...
 *
 * The rules for values written as text live here too: queue names (`QueueName`) and durations
 * (`DurationSetting`: `500ms`, `1s`, `5 seconds`, `1 minute`).
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { DefaultMaxRetries } from "./RetryPolicy.ts"
import type { DeadSetLimits } from "./Store.ts"

/** The log level of each job's "start", "done" and "fail" lines. */
export interface LogLevels {
  /** Level of the "start" line of each job; "None" turns it off. */
  readonly start: LogLevel.LogLevel
  readonly done: LogLevel.LogLevel
  readonly fail: LogLevel.LogLevel
}

/**
 * A pool of slots on this node serving one queue or several: in `queues`' order (strict, the first
 * queue with jobs fills the slots first) or, given `weights`, in an order drawn by weight for every
 * fetch (Sidekiq's `-q critical,3 -q default,1`).
 */
export interface PoolSetting {
  /** How the pool is shown (stats, heartbeat, dashboard); a one-queue pool is named by its queue. */
  readonly name: string
  readonly queues: ReadonlyArray<string>
  /** Each queue's weight, in `queues`' order; undefined when the order is strict. */
  readonly weights: ReadonlyArray<number> | undefined
  /** How many jobs of the pool's queues run at once on this node. */
  readonly concurrency: number
}

/**
 * A shared pool as a user writes it: `queues` as an array is a strict order, as a record the
 * queues' weights (`{ critical: 3, default: 1 }`); `name` defaults to `a>b>c` or `a*3+b*1`.
 */
export interface PoolInput {
  readonly name?: string | undefined
  readonly queues: ReadonlyArray<string> | Readonly<Record<string, number>>
  readonly concurrency: number
}

/** Every setting, resolved. */
export interface Resolved {
  /** Queue name → how many jobs of it run at once on this node (one pool per queue). */
  readonly queues: Readonly<Record<string, number>>
  /** Pools serving several queues; a queue is served by one pool at most (see `pools`). */
  readonly pools: ReadonlyArray<PoolSetting>
  /** A fixed node id (Verk's behaviour); a fresh `host-pid-random` id per process when absent. */
  readonly nodeId: string | undefined
  /** Retries for a job that says nothing of its own (Sidekiq: 25). */
  readonly maxRetries: number
  /** The dead set keeps at most this many jobs (Sidekiq: 10,000)... */
  readonly deadMaxJobs: number
  /** ...and none older than this (Sidekiq: 180 days). */
  readonly deadMaxAge: Duration.Duration
  /**
   * How often an idle queue looks for jobs pushed by foreign clients, and how often pause state
   * and the scheduled sets are re-read. Our own pushes wake nodes at once.
   */
  readonly pollInterval: Duration.Duration
  /** On shutdown, running jobs get this long to finish before they are interrupted and requeued. */
  readonly shutdownTimeout: Duration.Duration
  /** How often a node says it is alive; it counts as dead after three intervals without. */
  readonly heartbeatInterval: Duration.Duration
  /** How often job counts are written to Sidekiq's `stat:*` keys (one round trip each time). */
  readonly statsFlushInterval: Duration.Duration
  /** A job may come back from this many dead nodes; the next time it goes to dead (poison pill). */
  readonly maxRecoveries: number
  readonly logLevels: LogLevels
}

/** Every setting's default: Verk's, and Sidekiq's where Verk has none. */
export const defaults: Resolved = {
  queues: { default: 25 },
  pools: [],
  nodeId: undefined,
  maxRetries: DefaultMaxRetries,
  deadMaxJobs: 10_000,
  deadMaxAge: Duration.days(180),
  pollInterval: Duration.seconds(1),
  shutdownTimeout: Duration.seconds(25),
  heartbeatInterval: Duration.seconds(5),
  statsFlushInterval: Duration.seconds(1),
  maxRecoveries: 3,
  logLevels: { start: "Info", done: "Info", fail: "Warn" },
}

// ---------------------------------------------------------------------------------------------
// Queue names
// ---------------------------------------------------------------------------------------------

/** The rule for a queue name, as every error about one states it. */
export const QueueNameRule = 'a queue name is 1 to 128 letters, digits, "_", "-" or "."'

const QueueNamePattern = /^[A-Za-z0-9_.-]{1,128}$/

/**
 * What is wrong with `name` as a queue name, or undefined when it is a good one. (`:` is not
 * allowed: VERK_QUEUES uses it between a name and its concurrency.)
 */
export const queueNameProblem = (name: string): string | undefined =>
  QueueNamePattern.test(name) ? undefined : `${JSON.stringify(name)} is not a queue name: ${QueueNameRule}`

/** A queue name: 1 to 128 letters, digits, `_`, `-` or `.`. */
export const QueueName = Schema.String.check(Schema.makeFilter((name: string) => queueNameProblem(name) ?? true))

// ---------------------------------------------------------------------------------------------
// Durations as text
// ---------------------------------------------------------------------------------------------

const DurationUnits: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(?:ms|millis?|milliseconds?)$/, 1],
  [/^(?:s|secs?|seconds?)$/, 1_000],
  [/^(?:m|mins?|minutes?)$/, 60_000],
  [/^(?:h|hours?)$/, 3_600_000],
  [/^(?:d|days?)$/, 86_400_000],
  [/^(?:w|weeks?)$/, 604_800_000],
]

const DurationText = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/

/** What a duration written as text looks like, as errors about one state it. */
export const DurationRule = 'a duration such as 500ms, 1s, 1.5s, 2m, 1h, 7d, "250 millis", "5 seconds" or "1 minute"'

/**
 * A duration written by a person: a non-negative number and a unit, with or without a space:
 * `500ms`, `1s`, `1.5s`, `2m`, `1h`, `7d`, `1w`, `250 millis`, `5 seconds`, `1 minute`.
 * Undefined when `text` is none of these.
 */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const match = DurationText.exec(text)
  if (match === null) return undefined
  const [, amount = "", unit = ""] = match
  const millisPerUnit = DurationUnits.find(([pattern]) => pattern.test(unit))?.[1]
  return millisPerUnit === undefined ? undefined : Duration.millis(Number(amount) * millisPerUnit)
}

/** A `Duration` from text such as `500ms`, `1s` or `5 seconds` (see `parseDuration`); encodes to `<n>ms`. */
export const DurationSetting = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transformEffect({
      decode: (text: string, options) => {
        const duration = parseDuration(text)
        return duration === undefined
          ? Effect.fail(new SchemaIssue.InvalidValue({ expected: DurationRule }, text, options))
          : Effect.succeed(duration)
      },
      encode: (duration: Duration.Duration) => Effect.succeed(`${Duration.toMillis(duration)}ms`),
    }),
  ),
)

/** A `DurationSetting` above zero: how often something repeats (zero would spin). */
export const IntervalFromString = DurationSetting.check(
  Schema.makeFilter(
    (duration: Duration.Duration) =>
      Duration.isGreaterThan(duration, Duration.zero) || "expected a duration above zero, such as 500ms or 1s",
  ),
)

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/** A setting given in code is not valid: a defect (a bug in the caller), thrown by `make`. */
export class InvalidSetting extends Data.TaggedError("InvalidSetting")<{
  readonly setting: string
  readonly reason: string
}> {
  override get message() {
    return `Invalid setting ${this.setting}: ${this.reason}`
  }
}

type DurationKey = "deadMaxAge" | "pollInterval" | "shutdownTimeout" | "heartbeatInterval" | "statsFlushInterval"

/**
 * Settings as a user writes them: any subset, durations as `"5 seconds"` or a Duration. Given
 * `pools` and no `queues`, the node serves only its pools (no `default: 25`).
 */
export type Input = {
  readonly [K in Exclude<keyof Resolved, "logLevels" | "pools" | DurationKey>]?: Resolved[K] | undefined
} & {
  readonly pools?: ReadonlyArray<PoolInput | PoolSetting> | undefined
} & {
  readonly [K in DurationKey]?: Duration.Input | undefined
} & {
  readonly logLevels?: Partial<LogLevels> | undefined
}

const durationKeys: ReadonlyArray<DurationKey> = [
  "deadMaxAge",
  "pollInterval",
  "shutdownTimeout",
  "heartbeatInterval",
  "statsFlushInterval",
]

const concurrencyProblem = (concurrency: unknown): string | undefined =>
  Number.isSafeInteger(concurrency) && (concurrency as number) >= 1
    ? undefined
    : `${String(concurrency)} is not a concurrency: a concurrency is a whole number of at least 1`

/**
 * Every setting from `input`, the rest from `defaults`. A bad value (a queue name outside
 * `QueueName`, a concurrency below 1, a duration `Duration` cannot read, a queue served by two
 * pools) throws `InvalidSetting`.
 */
export const make = (input: Input = {}): Resolved => {
  const { logLevels, pools: poolInputs, ...rest } = input
  const defined: Record<string, unknown> = Object.fromEntries(
    Object.entries(rest).filter(([, value]) => value !== undefined),
  )
  for (const [queue, concurrency] of Object.entries(input.queues ?? {})) {
    const reason = queueNameProblem(queue) ?? concurrencyProblem(concurrency)
    if (reason !== undefined) throw new InvalidSetting({ setting: "queues", reason })
  }
  if (poolInputs !== undefined) {
    const pools = resolvePools(poolInputs)
    const queues = input.queues ?? {}
    const reason = servedOnceProblem(queues, pools)
    if (reason !== undefined) throw new InvalidSetting({ setting: "pools", reason })
    defined.pools = pools
    defined.queues = queues
  }
  for (const key of durationKeys) {
    const value = input[key]
    if (value === undefined) continue
    const duration = Duration.fromInput(value)
    if (duration._tag === "None") {
      throw new InvalidSetting({ setting: key, reason: `${String(value)} is not a Duration input` })
    }
    defined[key] = duration.value
  }
  return { ...defaults, ...defined, logLevels: { ...defaults.logLevels, ...logLevels } } as Resolved
}

// ---------------------------------------------------------------------------------------------
// Pools
// ---------------------------------------------------------------------------------------------

const weightProblem = (queue: string, weight: unknown): string | undefined =>
  Number.isSafeInteger(weight) && (weight as number) >= 1
    ? undefined
    : `queue ${queue}: ${String(weight)} is not a weight: a weight is a whole number of at least 1`

/** The name a pool gets when none is given: `a>b>c` (strict order) or `a*3+b*1` (weights). */
export const poolName = (queues: ReadonlyArray<string>, weights: ReadonlyArray<number> | undefined): string =>
  weights === undefined ? queues.join(">") : queues.map((queue, index) => `${queue}*${weights[index] ?? 1}`).join("+")

/** The queues of `input` with their weights (1 each in a strict order), and whether it is weighted. */
const weighing = (input: PoolInput | PoolSetting): readonly [ReadonlyArray<readonly [string, number]>, boolean] => {
  if (!Array.isArray(input.queues)) return [Object.entries(input.queues as Readonly<Record<string, number>>), true]
  const queues = input.queues as ReadonlyArray<string>
  // A resolved pool (a `Resolved` given back as input, as `verk run` does) keeps its weights.
  const weights = "weights" in input ? input.weights : undefined
  return [queues.map((queue, index) => [queue, weights?.[index] ?? 1] as const), weights !== undefined]
}

/** `input` resolved, or what is wrong with it. */
const resolvePool = (input: PoolInput | PoolSetting): PoolSetting | string => {
  const [entries, weighted] = weighing(input)
  const queues = entries.map(([queue]) => queue)
  const weights = weighted ? entries.map(([, weight]) => weight) : undefined
  const name = input.name ?? poolName(queues, weights)
  if (queues.length === 0) return `pool ${name} serves no queue`
  if (name.length === 0) return "a pool's name may not be empty"
  for (const [queue, weight] of entries) {
    const problem = queueNameProblem(queue) ?? (weighted ? weightProblem(queue, weight) : undefined)
    if (problem !== undefined) return `pool ${name}: ${problem}`
  }
  if (new Set(queues).size !== queues.length) return `pool ${name} names a queue twice`
  const sizeProblem = concurrencyProblem(input.concurrency)
  if (sizeProblem !== undefined) return `pool ${name}: ${sizeProblem}`
  return { name, queues, weights, concurrency: input.concurrency }
}

/** `inputs` resolved (names, weights); a bad one throws `InvalidSetting`. */
export const resolvePools = (inputs: ReadonlyArray<PoolInput | PoolSetting>): ReadonlyArray<PoolSetting> =>
  inputs.map((input) => {
    const resolved = resolvePool(input)
    if (typeof resolved === "string") throw new InvalidSetting({ setting: "pools", reason: resolved })
    return resolved
  })

/** Every pool a node runs: one per entry of `queues` (named by its queue), then `pools`. */
export const allPools = (settings: Pick<Resolved, "queues" | "pools">): ReadonlyArray<PoolSetting> => [
  ...Object.entries(settings.queues).map(
    ([queue, concurrency]): PoolSetting => ({ name: queue, queues: [queue], weights: undefined, concurrency }),
  ),
  ...settings.pools,
]

/** What is wrong when a queue is served by two pools, or two pools share a name; else undefined. */
const servedOnceProblem = (
  queues: Readonly<Record<string, number>>,
  pools: ReadonlyArray<PoolSetting>,
): string | undefined => {
  const servedBy = new Map<string, string>()
  const names = new Set<string>()
  for (const pool of allPools({ queues, pools })) {
    if (names.has(pool.name)) return `two pools are named ${JSON.stringify(pool.name)}`
    names.add(pool.name)
    for (const queue of pool.queues) {
      const other = servedBy.get(queue)
      if (other !== undefined) {
        return `queue ${queue} is served by pools ${JSON.stringify(other)} and ${JSON.stringify(pool.name)}: a queue is served by one pool on a node`
      }
      servedBy.set(queue, pool.name)
    }
  }
  return undefined
}

/** The queues a node serves, as VERK_QUEUES gives them: one pool per queue, and shared pools. */
export interface ServedQueues {
  readonly queues: Readonly<Record<string, number>>
  readonly pools: ReadonlyArray<PoolSetting>
}

/** How VERK_QUEUES is written, as errors about it state it. */
export const QueuesRule =
  'entries separated by ","; an entry is name[:n] (a pool of n slots for one queue), a>b>c[:n] ' +
  "(one pool of n slots for several queues, in strict order) or a*3+b*1[:n] (one pool, queues by " +
  "weight; a missing *w is 1); n is 25 when left out; such as critical>default>low:25,mail:5"

/** The concurrency after `:`, or what is wrong with it. */
const parseConcurrency = (entry: string, text: string | undefined): number | string => {
  if (text === undefined) return 25
  const problem = /^\d+$/.test(text) ? concurrencyProblem(Number(text)) : concurrencyProblem(JSON.stringify(text))
  return problem === undefined ? Number(text) : `${entry}: ${problem}`
}

/** One entry: a queue of its own, or a pool; or what is wrong with it. */
const parseEntry = (entry: string): PoolSetting | string => {
  const [spec = "", size, ...extra] = entry.split(":").map((piece) => piece.trim())
  if (extra.length > 0) return `${JSON.stringify(entry)} has more than one ":"`
  const plain = !/[>*+]/.test(spec)
  // A bad name is said first: `:5` lacks its name, whatever follows.
  const nameProblem = plain ? queueNameProblem(spec) : undefined
  if (nameProblem !== undefined) return nameProblem
  const concurrency = parseConcurrency(entry, size)
  if (typeof concurrency === "string") return concurrency
  if (spec.includes(">") && (spec.includes("+") || spec.includes("*"))) {
    return `${JSON.stringify(entry)} mixes ">" (strict order) with "+" or "*" (weights)`
  }
  if (spec.includes(">")) {
    return resolvePool({ queues: spec.split(">").map((queue) => queue.trim()), concurrency, name: spec })
  }
  if (spec.includes("+") || spec.includes("*")) {
    const weights: Record<string, number> = {}
    for (const part of spec.split("+")) {
      const [queue = "", weight, ...more] = part.split("*").map((piece) => piece.trim())
      if (more.length > 0) return `${JSON.stringify(part.trim())} has more than one "*"`
      if (weight !== undefined && !/^\d+$/.test(weight)) {
        return `queue ${queue}: ${JSON.stringify(weight)} is not a weight: a weight is a whole number of at least 1`
      }
      if (Object.hasOwn(weights, queue)) return `pool ${spec} names queue ${queue} twice`
      weights[queue] = weight === undefined ? 1 : Number(weight)
    }
    return resolvePool({ queues: weights, concurrency, name: spec })
  }
  return { name: spec, queues: [spec], weights: undefined, concurrency }
}

/** The queues and pools of VERK_QUEUES (see `QueuesRule`), or what is wrong with the first bad entry. */
const parseQueues = (text: string): ServedQueues | string => {
  const queues: Record<string, number> = {}
  const pools: Array<PoolSetting> = []
  for (const raw of text.split(",")) {
    const entry = raw.trim()
    const parsed = parseEntry(entry)
    if (typeof parsed === "string") return `${parsed} (${QueuesRule})`
    const [queue] = parsed.queues
    if (parsed.queues.length === 1 && parsed.weights === undefined && queue !== undefined && parsed.name === queue) {
      if (Object.hasOwn(queues, queue)) return `queue ${queue} is listed twice (${QueuesRule})`
      queues[queue] = parsed.concurrency
    } else {
      pools.push(parsed)
    }
  }
  const problem = servedOnceProblem(queues, pools)
  return problem === undefined ? { queues, pools } : `${problem} (${QueuesRule})`
}

const PoolSettingSchema = Schema.Struct({
  name: Schema.String,
  queues: Schema.Array(Schema.String),
  weights: Schema.UndefinedOr(Schema.Array(Schema.Number)),
  concurrency: Schema.Number,
})

/**
 * VERK_QUEUES: `default:25,mail:5` → one pool per queue; `critical>default>low:25` → one pool of
 * 25 slots serving them in strict order; `critical*3+default*1:10` → one pool of 10, by weight.
 * A bare entry gets 25 slots. The grammar is `QueuesRule`.
 */
export const QueuesFromString = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Struct({ queues: Schema.Record(Schema.String, Schema.Int), pools: Schema.Array(PoolSettingSchema) }),
    SchemaTransformation.transformEffect({
      decode: (text: string, options) => {
        const parsed = parseQueues(text)
        return typeof parsed === "string"
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: parsed }, text, options))
          : Effect.succeed(parsed)
      },
      encode: (served: ServedQueues) =>
        Effect.succeed(
          [
            ...Object.entries(served.queues).map(([name, size]) => `${name}:${size}`),
            ...served.pools.map((pool) => `${poolName(pool.queues, pool.weights)}:${pool.concurrency}`),
          ].join(","),
        ),
    }),
  ),
)

const Queues = Config.schema(QueuesFromString, "VERK_QUEUES")
const defaultServed: ServedQueues = { queues: defaults.queues, pools: defaults.pools }

const EnvDuration = (name: string) => Config.schema(DurationSetting, name)
const EnvInterval = (name: string) => Config.schema(IntervalFromString, name)

/** The runtime settings from the environment; unset variables keep the defaults. */
export const config: Config.Config<Resolved> = Config.all({
  served: Queues.pipe(Config.withDefault(defaultServed)),
  nodeId: Config.String("VERK_NODE_ID").pipe(Config.option),
  maxRetries: Config.Int("VERK_MAX_RETRY_COUNT").pipe(Config.withDefault(defaults.maxRetries)),
  deadMaxJobs: Config.Int("VERK_MAX_DEAD_JOBS").pipe(Config.withDefault(defaults.deadMaxJobs)),
  deadMaxAge: EnvDuration("VERK_DEAD_JOB_MAX_AGE").pipe(Config.withDefault(defaults.deadMaxAge)),
  pollInterval: EnvInterval("VERK_POLL_INTERVAL").pipe(Config.withDefault(defaults.pollInterval)),
  shutdownTimeout: EnvDuration("VERK_SHUTDOWN_TIMEOUT").pipe(Config.withDefault(defaults.shutdownTimeout)),
  heartbeatInterval: EnvInterval("VERK_HEARTBEAT_INTERVAL").pipe(Config.withDefault(defaults.heartbeatInterval)),
  statsFlushInterval: EnvInterval("VERK_STATS_FLUSH_INTERVAL").pipe(Config.withDefault(defaults.statsFlushInterval)),
  maxRecoveries: Config.Int("VERK_MAX_RECOVERIES").pipe(Config.withDefault(defaults.maxRecoveries)),
  logLevels: Config.all({
    start: Config.LogLevel("VERK_START_JOB_LOG_LEVEL").pipe(Config.withDefault(defaults.logLevels.start)),
    done: Config.LogLevel("VERK_DONE_JOB_LOG_LEVEL").pipe(Config.withDefault(defaults.logLevels.done)),
    fail: Config.LogLevel("VERK_FAIL_JOB_LOG_LEVEL").pipe(Config.withDefault(defaults.logLevels.fail)),
  }),
}).pipe(
  Config.map(({ nodeId, served, ...rest }) => ({
    ...rest,
    queues: served.queues,
    pools: served.pools,
    nodeId: nodeId._tag === "Some" ? nodeId.value : undefined,
  })),
)

/** The dead set's trimming limits, as the store takes them. */
export const deadSetLimits = (config: Resolved): DeadSetLimits => ({
  maxJobs: config.deadMaxJobs,
  maxAgeSeconds: Duration.toSeconds(config.deadMaxAge),
})

/** The settings a running node uses, as a service. */
export class Settings extends Context.Service<Settings, Resolved>()("@verk/core/Settings") {}

/** The settings of `input`; a bad one is a defect (`InvalidSetting`) when the layer is built. */
export const layer = (input: Input = {}): Layer.Layer<Settings> => Layer.sync(Settings, () => make(input))

/** The settings of the environment (`config`), as a service; an invalid variable fails the layer. */
export const layerConfig: Layer.Layer<Settings, Config.ConfigError> = Layer.effect(Settings, config)
