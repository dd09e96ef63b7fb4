/**
 * Every Verk setting, with Verk's and Sidekiq's defaults, and the same settings read from the
 * environment through Effect `Config` (Verk's `{:system, "ENV", default}` convention).
 *
 *   Settings.make({ queues: { default: 25 }, shutdownTimeout: "10 seconds" })
 *   Settings.fromEnv  // VERK_QUEUES=default:25,mail:5  VERK_SHUTDOWN_TIMEOUT=10s ...
 */
import { Config, Context, Duration, Layer, type LogLevel, Schema, SchemaGetter } from "effect"
import { DefaultMaxRetries } from "./RetryPolicy.ts"
import type { DeadSetLimits } from "./Store.ts"

export interface LogLevels {
  /** Level of the "start" line of each job; "None" turns it off. */
  readonly start: LogLevel.LogLevel
  readonly done: LogLevel.LogLevel
  readonly fail: LogLevel.LogLevel
}

/** Every setting, resolved. */
export interface Resolved {
  /** Queue name → how many jobs of it run at once on this node. */
  readonly queues: Readonly<Record<string, number>>
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

export const defaults: Resolved = {
  queues: { default: 25 },
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

type DurationKey = "deadMaxAge" | "pollInterval" | "shutdownTimeout" | "heartbeatInterval" | "statsFlushInterval"

/** Settings as a user writes them: any subset, durations as `"5 seconds"` or a Duration. */
export type Input = {
  readonly [K in Exclude<keyof Resolved, "logLevels" | DurationKey>]?: Resolved[K] | undefined
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

export const make = (input: Input = {}): Resolved => {
  const { logLevels, ...rest } = input
  const defined: Record<string, unknown> = Object.fromEntries(
    Object.entries(rest).filter(([, value]) => value !== undefined),
  )
  for (const key of durationKeys) {
    const value = input[key]
    if (value !== undefined) defined[key] = Duration.fromInputUnsafe(value)
  }
  return { ...defaults, ...defined, logLevels: { ...defaults.logLevels, ...logLevels } } as Resolved
}

const QueueEntry = String.raw`[^,:\s]+(?:\s*:\s*[1-9]\d*)?`
const QueueList = new RegExp(String.raw`^\s*${QueueEntry}\s*(?:,\s*${QueueEntry}\s*)*$`)

/** `default:25,mail:5` → `{ default: 25, mail: 5 }`; a bare name gets 25 workers. */
export const QueuesFromString = Schema.String.check(Schema.isPattern(QueueList)).pipe(
  Schema.decodeTo(Schema.Record(Schema.String, Schema.Int), {
    decode: SchemaGetter.transform((text: string) => {
      const queues: Record<string, number> = {}
      for (const entry of text.split(",")) {
        const [name = "", size] = entry.split(":").map((piece) => piece.trim())
        queues[name] = size === undefined ? 25 : Number(size)
      }
      return queues
    }),
    encode: SchemaGetter.transform((queues: Readonly<Record<string, number>>) =>
      Object.entries(queues)
        .map(([name, size]) => `${name}:${size}`)
        .join(","),
    ),
  }),
)

const Queues = Config.schema(QueuesFromString, "VERK_QUEUES")

/** The runtime settings from the environment; unset variables keep the defaults. */
export const fromEnv: Config.Config<Resolved> = Config.all({
  queues: Queues.pipe(Config.withDefault(defaults.queues)),
  nodeId: Config.String("VERK_NODE_ID").pipe(Config.option),
  maxRetries: Config.Int("VERK_MAX_RETRY_COUNT").pipe(Config.withDefault(defaults.maxRetries)),
  deadMaxJobs: Config.Int("VERK_MAX_DEAD_JOBS").pipe(Config.withDefault(defaults.deadMaxJobs)),
  deadMaxAge: Config.Duration("VERK_DEAD_JOB_MAX_AGE").pipe(Config.withDefault(defaults.deadMaxAge)),
  pollInterval: Config.Duration("VERK_POLL_INTERVAL").pipe(Config.withDefault(defaults.pollInterval)),
  shutdownTimeout: Config.Duration("VERK_SHUTDOWN_TIMEOUT").pipe(Config.withDefault(defaults.shutdownTimeout)),
  heartbeatInterval: Config.Duration("VERK_HEARTBEAT_INTERVAL").pipe(Config.withDefault(defaults.heartbeatInterval)),
  statsFlushInterval: Config.Duration("VERK_STATS_FLUSH_INTERVAL").pipe(
    Config.withDefault(defaults.statsFlushInterval),
  ),
  maxRecoveries: Config.Int("VERK_MAX_RECOVERIES").pipe(Config.withDefault(defaults.maxRecoveries)),
  logLevels: Config.all({
    start: Config.LogLevel("VERK_START_JOB_LOG_LEVEL").pipe(Config.withDefault(defaults.logLevels.start)),
    done: Config.LogLevel("VERK_DONE_JOB_LOG_LEVEL").pipe(Config.withDefault(defaults.logLevels.done)),
    fail: Config.LogLevel("VERK_FAIL_JOB_LOG_LEVEL").pipe(Config.withDefault(defaults.logLevels.fail)),
  }),
}).pipe(Config.map(({ nodeId, ...rest }) => ({ ...rest, nodeId: nodeId._tag === "Some" ? nodeId.value : undefined })))

/** The dead set's trimming limits, as the store takes them. */
export const deadSetLimits = (config: Resolved): DeadSetLimits => ({
  maxJobs: config.deadMaxJobs,
  maxAgeSeconds: Duration.toSeconds(config.deadMaxAge),
})

/** The settings a running node uses, as a service. */
export class Settings extends Context.Service<Settings, Resolved>()("@verk/core/Settings") {}

export const layer = (input: Input = {}): Layer.Layer<Settings> => Layer.succeed(Settings, make(input))

export const layerFromEnv: Layer.Layer<Settings, Config.ConfigError> = Layer.effect(Settings, fromEnv)
