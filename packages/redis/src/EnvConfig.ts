/**
 * The store's settings from the environment (`REDIS_URL`, `VERK_*`): the `Config` that
 * `RedisStore.layerConfig` builds the store from.
 */
import { Settings } from "@verk/core"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Connection from "./Connection.ts"
import type { LayerOptions } from "./Options.ts"

export interface EnvSettings extends LayerOptions {
  /** Redacted, so that it never shows in logs. */
  readonly url: Redacted.Redacted<string>
  readonly namespace: string | undefined
}

const HostPortRule = "a comma-separated list of host:port, such as 10.0.0.1:26379,10.0.0.2:26379"

/** `host:port,host:port` → addresses. */
const HostPortsFromString = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Array(Schema.Struct({ host: Schema.String, port: Schema.Int })),
    SchemaTransformation.transformEffect({
      decode: (text: string, options) => {
        const nodes = text
          .split(",")
          .map((part) => part.trim())
          .filter((part) => part !== "")
          .map((part) => {
            const colon = part.lastIndexOf(":")
            const port = Number(part.slice(colon + 1))
            return colon > 0 && Number.isInteger(port) && port > 0 && port < 65536
              ? { host: part.slice(0, colon), port }
              : undefined
          })
        return nodes.length === 0 || nodes.some((node) => node === undefined)
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: `expected ${HostPortRule}` }, text, options))
          : Effect.succeed(nodes.flatMap((node) => (node === undefined ? [] : [node])))
      },
      encode: (nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>) =>
        Effect.succeed(nodes.map(({ host, port }) => `${host}:${port}`).join(",")),
    }),
  ),
)

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  config.pipe(
    Config.option,
    Config.map((value) => (value._tag === "Some" ? value.value : undefined)),
  )

/**
 * Where the store connects, from the environment:
 * - `REDIS_URL` (default `redis://127.0.0.1:6379`): the Redis; with Sentinel or Cluster, its user
 *   name, password and database only;
 * - `VERK_REDIS_SENTINELS` (`host:port,...`) and `VERK_REDIS_SENTINEL_NAME`: the primary through Sentinel;
 * - `VERK_REDIS_CLUSTER` (`host:port,...`): a Redis Cluster (the cluster key scheme);
 * - `VERK_NAMESPACE`, `VERK_KEY_SCHEME` (`sidekiq` or `cluster`);
 * - `VERK_WAIT_REPLICAS` and `VERK_WAIT_TIMEOUT` (default 1s): the durability setting;
 * - `VERK_REDIS_OFFLINE_TIMEOUT` (default 5s): how long a command waits for an unreachable Redis
 *   before it fails (`offlineTimeout`).
 */
export const config: Config.Config<EnvSettings> = Config.all({
  url: Config.Redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make(Connection.DefaultUrl))),
  namespace: optional(Config.String("VERK_NAMESPACE")),
  sentinels: optional(Config.schema(HostPortsFromString, "VERK_REDIS_SENTINELS")),
  sentinelName: optional(Config.String("VERK_REDIS_SENTINEL_NAME")),
  cluster: optional(Config.schema(HostPortsFromString, "VERK_REDIS_CLUSTER")),
  keyScheme: optional(Config.Literals(["sidekiq", "cluster"], "VERK_KEY_SCHEME")),
  replicas: optional(Config.Int("VERK_WAIT_REPLICAS")),
  waitTimeout: optional(Config.schema(Settings.IntervalFromString, "VERK_WAIT_TIMEOUT")),
  offlineTimeout: optional(Config.schema(Settings.IntervalFromString, "VERK_REDIS_OFFLINE_TIMEOUT")),
}).pipe(
  Config.mapEffect(
    ({ url, namespace, sentinels, sentinelName, cluster, keyScheme, replicas, waitTimeout, offlineTimeout }) => {
      // [the variable at fault, what is wrong with it]
      const problem: readonly [string, string] | undefined =
        sentinels !== undefined && sentinelName === undefined
          ? [
              "VERK_REDIS_SENTINEL_NAME",
              "is needed with VERK_REDIS_SENTINELS: the name Sentinel monitors the primary by",
            ]
          : sentinels !== undefined && cluster !== undefined
            ? ["VERK_REDIS_CLUSTER", "cannot be set with VERK_REDIS_SENTINELS"]
            : cluster !== undefined && keyScheme === "sidekiq"
              ? [
                  "VERK_KEY_SCHEME",
                  "sidekiq cannot run on a Redis Cluster (VERK_REDIS_CLUSTER is set): its scripts span slots",
                ]
              : replicas !== undefined && replicas < 1
                ? ["VERK_WAIT_REPLICAS", "must be 1 or more"]
                : undefined
      return problem !== undefined
        ? Effect.fail(
            new Config.ConfigError(
              new Schema.SchemaError(
                new SchemaIssue.Pointer([problem[0]], new SchemaIssue.InvalidValue({ message: problem[1] })),
              ),
            ),
          )
        : Effect.succeed({
            url,
            namespace,
            ...(sentinels === undefined || sentinelName === undefined
              ? {}
              : { sentinel: { nodes: sentinels, name: sentinelName } }),
            ...(cluster === undefined ? {} : { cluster: { nodes: cluster } }),
            ...(keyScheme === undefined ? {} : { keyScheme }),
            ...(replicas === undefined ? {} : { durability: { replicas, timeout: waitTimeout } }),
            ...(offlineTimeout === undefined ? {} : { offlineTimeout }),
          })
    },
  ),
)
