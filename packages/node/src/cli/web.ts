/**
 * `verk web`: Verk Web, the dashboard, on its own (Redis from REDIS_URL, as `verk stats`). On
 * 127.0.0.1 unless told otherwise; with VERK_WEB_TOKEN set, every request must carry the token.
 */
import type { Limits } from "@verk/core"
import { RedisStore } from "@verk/redis"
import * as Config from "effect/Config"
import { Command, Flag } from "effect/cli"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Descriptions } from "./commands.ts"
import { WebPortUnavailable } from "./errors.ts"

export const portFlag = (name: string, env: string) => Flag.Int(name).pipe(Flag.withFallbackConfig(Config.Int(env)))

export const hostFlag = (name: string, env: string) =>
  Flag.String(name).pipe(
    Flag.withDescription(`the address Verk Web listens on (${env}); 0.0.0.0 opens it to the network`),
    Flag.withFallbackConfig(Config.String(env)),
    Flag.withDefault("127.0.0.1"),
  )

/** Host names Verk Web answers to without a token, besides IP addresses and localhost. */
export const allowedHostsFlag = (name: string) =>
  Flag.String(name).pipe(
    Flag.withDescription(
      "comma-separated host names Verk Web answers to without a token, besides IP addresses and localhost (VERK_WEB_ALLOWED_HOSTS)",
    ),
    Flag.withFallbackConfig(Config.String("VERK_WEB_ALLOWED_HOSTS")),
    Flag.withDefault(""),
  )

/** The token from VERK_WEB_TOKEN, if set. */
export const webToken = Config.Redacted("VERK_WEB_TOKEN").pipe(Config.option, Config.map(Option.getOrUndefined))

/** Builds the dashboard's server in the current scope and says where it is. */
export const startWeb = Effect.fn("cli.startWeb")(function* (
  port: number,
  host: string,
  allowedHosts = "",
  // What `verk run` knows of its module: the Limits page shows budgets against these.
  limits: ReadonlyArray<Limits.Limit<never>> = [],
) {
  const token = yield* webToken
  // Loaded here, not with the command line: `verk run` without `--web-port` never needs the dashboard.
  const Web = yield* Effect.promise(() => import("../web/Web.ts"))
  yield* Layer.build(Web.serve({ port, host, token, allowedHosts, limits })).pipe(
    Effect.mapError((error) => new WebPortUnavailable({ host, port, error })),
  )
  yield* Effect.logInfo(`Verk Web on http://${host}:${port}/${token === undefined ? "" : " (token required)"}`)
})

export const web = Command.make(
  "web",
  {
    port: portFlag("port", "VERK_WEB_PORT").pipe(
      Flag.withDescription("the port Verk Web listens on (VERK_WEB_PORT)"),
      Flag.withDefault(4000),
    ),
    host: hostFlag("host", "VERK_WEB_HOST"),
    allowedHosts: allowedHostsFlag("allowed-hosts"),
  },
  Effect.fn(
    function* ({ port, host, allowedHosts }) {
      yield* startWeb(port, host, allowedHosts)
      return yield* Effect.never
    },
    Effect.scoped,
    Effect.provide(RedisStore.layerConfig),
  ),
).pipe(Command.withDescription(Descriptions.web))
