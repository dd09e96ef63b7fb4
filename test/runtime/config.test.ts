/**
 * Acceptance: the runtime's settings read from the environment (Verk's `{:system, "ENV"}`),
 * through Effect's `ConfigProvider`: valid values parse, invalid ones fail with a ConfigError,
 * and the Redis URL never shows in logs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Exit, Layer, Redacted, Schema } from "effect"
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

describe("Settings.fromEnv", () => {
  it.effect("VERK_QUEUES=default:25,mail:5 parses, with the other settings", () =>
    Effect.gen(function* () {
      const config = yield* Settings.fromEnv.pipe(
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
      const config = yield* Settings.fromEnv.pipe(withEnv({ VERK_QUEUES: "default, mail : 5" }))
      assert.deepStrictEqual(config.queues, { default: 25, mail: 5 })
    }),
  )

  it.effect("an empty environment gives the defaults", () =>
    Effect.gen(function* () {
      const config = yield* Settings.fromEnv.pipe(withEnv({}))
      assert.deepStrictEqual(config, Settings.defaults)
    }),
  )

  for (const invalid of [":x", "default:0", "default:-1", "default:x", "a:1,,b:2", ""]) {
    it.effect(`VERK_QUEUES=${JSON.stringify(invalid)} fails with a ConfigError`, () =>
      Effect.gen(function* () {
        // An empty string counts as unset (the default applies), as env providers do by default.
        const exit = yield* Effect.exit(Settings.fromEnv.pipe(withEnv({ VERK_QUEUES: invalid })))
        if (invalid === "") {
          assert.isTrue(Exit.isSuccess(exit))
          return
        }
        assert.isTrue(Exit.isFailure(exit), `${invalid} was accepted`)
        const error = yield* Effect.flip(Settings.fromEnv.pipe(withEnv({ VERK_QUEUES: invalid })))
        assert.instanceOf(error, Config.ConfigError)
        assert.strictEqual(error._tag, "ConfigError")
      }),
    )
  }

  it.effect("an invalid duration fails with a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Settings.fromEnv.pipe(withEnv({ VERK_POLL_INTERVAL: "soon" })))
      assert.instanceOf(error, Config.ConfigError)
    }),
  )

  it.effect("Verk.layerFromEnv fails to build with the ConfigError", () =>
    Effect.gen(function* () {
      const layer = Verk.layerFromEnv({ workers: [Noop] }).pipe(
        Layer.provide(MemoryStore.layer),
        Layer.provide(envLayer({ VERK_QUEUES: ":x" })),
      )
      const error = yield* Effect.flip(Layer.build(layer))
      assert.instanceOf(error, Config.ConfigError)
    }),
  )
})

describe("Config.redisFromEnv", () => {
  it.effect("REDIS_URL is redacted, and its value is still there for the connection", () =>
    Effect.gen(function* () {
      const url = "redis://:s3cret@redis.internal:6380/2"
      const settings = yield* RedisStore.settingsFromEnv.pipe(withEnv({ REDIS_URL: url, VERK_NAMESPACE: "app" }))
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
      const settings = yield* RedisStore.settingsFromEnv.pipe(withEnv({}))
      assert.strictEqual(String(settings.url), "<redacted>")
      assert.strictEqual(Redacted.value(settings.url), "redis://127.0.0.1:6379")
      assert.isUndefined(settings.namespace)
    }),
  )
})
