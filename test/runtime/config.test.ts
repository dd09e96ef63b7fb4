/**
 * Acceptance: the runtime's settings read from the environment (Verk's `{:system, "ENV"}`),
 * through Effect's `ConfigProvider`: valid values parse, invalid ones fail with a ConfigError,
 * and the Redis URL never shows in logs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Duration, Effect, Exit, Layer, Redacted, Schema } from "effect"
import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import * as Settings from "../../packages/core/src/Settings.ts"
import * as Verk from "../../packages/core/src/Verk.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as RedisStore from "../../packages/redis/src/RedisStore.ts"

const envLayer = (env: Record<string, string>): Layer.Layer<never> =>
  ConfigProvider.layer<never, never>(ConfigProvider.fromEnv({ env }))

const withEnv =
  (env: Record<string, string>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provide(effect, envLayer(env))

const Noop = Worker.make({ name: "Noop", args: Schema.Tuple([]), perform: () => Effect.void })

describe("Settings.config", () => {
  it.effect("VERK_QUEUES=default:25,mail:5 parses, with the other settings", () =>
    Effect.gen(function* () {
      const config = yield* Settings.config.pipe(
        withEnv({
          VERK_QUEUES: "default:25,mail:5",
          VERK_NODE_ID: "node-7",
          VERK_POLL_INTERVAL: "200 millis",
          VERK_SHUTDOWN_TIMEOUT: "5 seconds",
          VERK_MAX_RETRY_COUNT: "3",
          VERK_FAIL_JOB_LOG_LEVEL: "Error",
        }),
      )
      assert.deepStrictEqual(config.queues, { default: 25, mail: 5 })
      assert.strictEqual(config.nodeId, "node-7")
      assert.strictEqual(Duration.toMillis(config.pollInterval), 200)
      assert.strictEqual(Duration.toMillis(config.shutdownTimeout), 5_000)
      assert.strictEqual(config.maxRetries, 3)
      assert.strictEqual(config.logLevels.fail, "Error")
      assert.strictEqual(config.logLevels.start, Settings.defaults.logLevels.start)
      assert.strictEqual(config.deadMaxJobs, Settings.defaults.deadMaxJobs)
    }),
  )

  it.effect("a bare queue name gets 25 workers; spaces around entries are allowed", () =>
    Effect.gen(function* () {
      const config = yield* Settings.config.pipe(withEnv({ VERK_QUEUES: "default, mail : 5" }))
      assert.deepStrictEqual(config.queues, { default: 25, mail: 5 })
    }),
  )

  it.effect("an empty environment gives the defaults", () =>
    Effect.gen(function* () {
      const config = yield* Settings.config.pipe(withEnv({}))
      assert.deepStrictEqual(config, Settings.defaults)
    }),
  )

  for (const invalid of [":x", "default:0", "default:-1", "default:x", "a:1,,b:2", ""]) {
    it.effect(`VERK_QUEUES=${JSON.stringify(invalid)} fails with a ConfigError`, () =>
      Effect.gen(function* () {
        // An empty string counts as unset (the default applies), as env providers do by default.
        const exit = yield* Effect.exit(Settings.config.pipe(withEnv({ VERK_QUEUES: invalid })))
        if (invalid === "") {
          assert.isTrue(Exit.isSuccess(exit))
          return
        }
        assert.isTrue(Exit.isFailure(exit), `${invalid} was accepted`)
        const error = yield* Effect.flip(Settings.config.pipe(withEnv({ VERK_QUEUES: invalid })))
        assert.instanceOf(error, Config.ConfigError)
        assert.strictEqual(error._tag, "ConfigError")
      }),
    )
  }

  it.effect("an invalid duration fails with a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Settings.config.pipe(withEnv({ VERK_POLL_INTERVAL: "soon" })))
      assert.instanceOf(error, Config.ConfigError)
    }),
  )

  it.effect("Verk.layerConfig fails to build with the ConfigError", () =>
    Effect.gen(function* () {
      const layer = Verk.layerConfig({ workers: [Noop] }).pipe(
        Layer.provide(MemoryStore.layer),
        Layer.provide(envLayer({ VERK_QUEUES: ":x" })),
      )
      const error = yield* Effect.flip(Layer.build(layer))
      assert.instanceOf(error, Config.ConfigError)
    }),
  )
})

describe("Settings.DurationSetting", () => {
  const decode = Schema.decodeUnknownExit(Settings.DurationSetting)
  const accepted: ReadonlyArray<readonly [string, number]> = [
    ["500ms", 500],
    ["250 millis", 250],
    ["1 milli", 1],
    ["1s", 1_000],
    ["1.5s", 1_500],
    ["5 seconds", 5_000],
    ["1 second", 1_000],
    ["10sec", 10_000],
    ["2m", 120_000],
    ["1 minute", 60_000],
    ["3 mins", 180_000],
    ["1h", 3_600_000],
    ["2 hours", 7_200_000],
    ["180 days", 180 * 86_400_000],
    ["7d", 7 * 86_400_000],
    ["1w", 7 * 86_400_000],
    ["0s", 0],
    [" 5s ", 5_000],
  ]
  for (const [text, millis] of accepted) {
    it(`accepts ${JSON.stringify(text)} as ${millis} ms`, () => {
      const exit = decode(text)
      assert.isTrue(Exit.isSuccess(exit), `${text} was refused`)
      if (Exit.isSuccess(exit)) assert.strictEqual(Duration.toMillis(exit.value), millis)
    })
  }

  for (const text of ["soon", "", "5", "s", "-1s", "1 fortnight", "1.s", ".5s", "1e3ms", "5 SECONDS", "1s 500ms"]) {
    it(`refuses ${JSON.stringify(text)}, saying what a duration looks like`, () => {
      const exit = decode(text)
      assert.isTrue(Exit.isFailure(exit), `${text} was accepted`)
      assert.include(String(exit), "a duration such as 500ms, 1s")
    })
  }

  it("encodes to milliseconds, which decode back", () => {
    const text = Schema.encodeSync(Settings.DurationSetting)(Duration.seconds(1.5))
    assert.strictEqual(text, "1500ms")
    assert.strictEqual(Duration.toMillis(Schema.decodeSync(Settings.DurationSetting)(text)), 1_500)
  })
})

describe("Settings.config durations", () => {
  it.effect("every duration variable takes the short forms", () =>
    Effect.gen(function* () {
      const config = yield* Settings.config.pipe(
        withEnv({
          VERK_POLL_INTERVAL: "500ms",
          VERK_SHUTDOWN_TIMEOUT: "1s",
          VERK_HEARTBEAT_INTERVAL: "1.5s",
          VERK_STATS_FLUSH_INTERVAL: "2m",
          VERK_DEAD_JOB_MAX_AGE: "7d",
        }),
      )
      assert.strictEqual(Duration.toMillis(config.pollInterval), 500)
      assert.strictEqual(Duration.toMillis(config.shutdownTimeout), 1_000)
      assert.strictEqual(Duration.toMillis(config.heartbeatInterval), 1_500)
      assert.strictEqual(Duration.toMillis(config.statsFlushInterval), 120_000)
      assert.strictEqual(Duration.toMillis(config.deadMaxAge), 7 * 86_400_000)
    }),
  )

  it.effect("and the long forms Effect writes", () =>
    Effect.gen(function* () {
      const config = yield* Settings.config.pipe(
        withEnv({ VERK_SHUTDOWN_TIMEOUT: "5 seconds", VERK_POLL_INTERVAL: "1 minute" }),
      )
      assert.strictEqual(Duration.toMillis(config.shutdownTimeout), 5_000)
      assert.strictEqual(Duration.toMillis(config.pollInterval), 60_000)
    }),
  )

  for (const name of ["VERK_POLL_INTERVAL", "VERK_HEARTBEAT_INTERVAL", "VERK_STATS_FLUSH_INTERVAL"]) {
    it.effect(`${name}=0s is refused: an interval of zero would spin`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Settings.config.pipe(withEnv({ [name]: "0s" })))
        assert.include(error.message, "expected a duration above zero")
      }),
    )
  }

  it.effect("VERK_SHUTDOWN_TIMEOUT=0s is allowed: running jobs are interrupted at once", () =>
    Effect.gen(function* () {
      const config = yield* Settings.config.pipe(withEnv({ VERK_SHUTDOWN_TIMEOUT: "0s" }))
      assert.strictEqual(Duration.toMillis(config.shutdownTimeout), 0)
    }),
  )
})

describe("Settings.QueueName", () => {
  const decode = Schema.decodeUnknownExit(Settings.QueueName)

  for (const name of ["default", "mail", "low_priority", "critical-1", "v2.emails", "A", "x".repeat(128)]) {
    it(`accepts ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}... (${name.length})` : name)}`, () => {
      assert.isTrue(Exit.isSuccess(decode(name)))
      assert.isUndefined(Settings.queueNameProblem(name))
    })
  }

  for (const name of ["", "a b", "a:b", "mail,low", "é", "x".repeat(129), " default"]) {
    it(`refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}... (${name.length})` : name)}, stating the rule`, () => {
      const exit = decode(name)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), Settings.QueueNameRule)
    })
  }

  it.effect("VERK_QUEUES uses the same rule", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Settings.config.pipe(withEnv({ VERK_QUEUES: "default,a b:5" })))
      assert.include(error.message, `"a b" is not a queue name: ${Settings.QueueNameRule}`)
    }),
  )

  it("queues given in code use it too: Settings.make throws InvalidSetting", () => {
    assert.throws(() => Settings.make({ queues: { "a b": 5 } }), `"a b" is not a queue name: ${Settings.QueueNameRule}`)
    assert.throws(() => Settings.make({ queues: { mail: 0 } }), "0 is not a concurrency")
    assert.throws(() => Settings.make({ queues: { mail: 1.5 } }), "1.5 is not a concurrency")
    assert.doesNotThrow(() => Settings.make({ queues: { default: 25, "mail.low": 5 } }))
  })

  it.effect("Verk.layer with a bad queue name is a defect when the layer is built, with the same message", () =>
    Effect.gen(function* () {
      const layer = Verk.layer({ workers: [Noop], queues: { "": 5 } }).pipe(Layer.provide(MemoryStore.layer))
      const exit = yield* Effect.exit(Layer.build(layer))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.include(String(exit), `Invalid setting queues: "" is not a queue name: ${Settings.QueueNameRule}`)
    }),
  )
})

describe("RedisStore.config: REDIS_URL", () => {
  it.effect("REDIS_URL is redacted, and its value is still there for the connection", () =>
    Effect.gen(function* () {
      const url = "redis://:s3cret@redis.internal:6380/2"
      const settings = yield* RedisStore.config.pipe(withEnv({ REDIS_URL: url, VERK_NAMESPACE: "app" }))
      assert.strictEqual(String(settings.url), "<redacted>")
      assert.notInclude(JSON.stringify(settings), "s3cret")
      assert.notInclude(`${settings.url}`, "s3cret")
      assert.isTrue(Redacted.isRedacted(settings.url))
      assert.strictEqual(Redacted.value(settings.url), url)
      assert.strictEqual(settings.namespace, "app")
    }),
  )

  it.effect("without REDIS_URL it is the local default, still redacted, and no namespace", () =>
    Effect.gen(function* () {
      const settings = yield* RedisStore.config.pipe(withEnv({}))
      assert.strictEqual(String(settings.url), "<redacted>")
      assert.strictEqual(Redacted.value(settings.url), "redis://127.0.0.1:6379")
      assert.isUndefined(settings.namespace)
    }),
  )
})

describe("RedisStore.config: Sentinel, Cluster, key scheme and durability", () => {
  it.effect("Sentinel nodes and name, a wait for one replica", () =>
    Effect.gen(function* () {
      const settings = yield* RedisStore.config.pipe(
        withEnv({
          REDIS_URL: "redis://:pw@ignored:1/3",
          VERK_REDIS_SENTINELS: "10.0.0.1:26379, 10.0.0.2:26380",
          VERK_REDIS_SENTINEL_NAME: "jobs",
          VERK_WAIT_REPLICAS: "1",
          VERK_WAIT_TIMEOUT: "250ms",
        }),
      )
      assert.deepStrictEqual(settings.sentinel, {
        nodes: [
          { host: "10.0.0.1", port: 26379 },
          { host: "10.0.0.2", port: 26380 },
        ],
        name: "jobs",
      })
      assert.isUndefined(settings.cluster)
      assert.strictEqual(settings.durability?.replicas, 1)
      assert.strictEqual(Duration.toMillis(Duration.fromInputUnsafe(settings.durability?.timeout ?? 0)), 250)
    }),
  )

  it.effect("Cluster nodes and the key scheme", () =>
    Effect.gen(function* () {
      const settings = yield* RedisStore.config.pipe(
        withEnv({ VERK_REDIS_CLUSTER: "127.0.0.1:7000,127.0.0.1:7001", VERK_KEY_SCHEME: "cluster" }),
      )
      assert.deepStrictEqual(settings.cluster, {
        nodes: [
          { host: "127.0.0.1", port: 7000 },
          { host: "127.0.0.1", port: 7001 },
        ],
      })
      assert.strictEqual(settings.keyScheme, "cluster")
      assert.isUndefined(settings.durability)
    }),
  )

  for (const [env, message] of [
    [{ VERK_REDIS_SENTINELS: "a:1" }, "is needed with VERK_REDIS_SENTINELS"],
    [
      { VERK_REDIS_CLUSTER: "a:1", VERK_REDIS_SENTINELS: "b:2", VERK_REDIS_SENTINEL_NAME: "m" },
      "cannot be set with VERK_REDIS_SENTINELS",
    ],
    [{ VERK_REDIS_CLUSTER: "a:1,b" }, "expected a comma-separated list of host:port"],
    [{ VERK_REDIS_CLUSTER: "a:99999" }, "expected a comma-separated list of host:port"],
    [{ VERK_KEY_SCHEME: "bullmq" }, "VERK_KEY_SCHEME"],
    [{ VERK_KEY_SCHEME: "sidekiq", VERK_REDIS_CLUSTER: "a:1" }, "sidekiq cannot run on a Redis Cluster"],
    [{ VERK_WAIT_REPLICAS: "0" }, "must be 1 or more"],
    [{ VERK_WAIT_REPLICAS: "1", VERK_WAIT_TIMEOUT: "soon" }, "VERK_WAIT_TIMEOUT"],
  ] as const) {
    it.effect(`${JSON.stringify(env)} is a ConfigError saying ${JSON.stringify(message)}`, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(RedisStore.config.pipe(withEnv(env)))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(exit), message)
      }),
    )
  }
})
