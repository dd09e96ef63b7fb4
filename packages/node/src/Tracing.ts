/**
 * Opt-in trace export over OTLP/HTTP, configured by OpenTelemetry's standard variables (effect's
 * `OtlpTracer` does the export). Off unless an endpoint is set:
 *
 * - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is), or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`)
 * - `OTEL_EXPORTER_OTLP_PROTOCOL` / `..._TRACES_PROTOCOL`: `http/protobuf` (the default) or `http/json`
 * - `OTEL_EXPORTER_OTLP_HEADERS` / `..._TRACES_HEADERS`: `key=value,key2=value2` (values URL-encoded)
 * - `OTEL_SERVICE_NAME` (`verk` by default); `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turn it off
 *
 * `verk run` provides `layerConfig` to the whole worker process, so every job's span
 * (`Processor.process`, a child of the enqueuer's span when the job carries `traceparent`) and
 * whatever the workers trace inside it are exported. Spans still queued are sent at shutdown.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { OtlpExporter } from "effect/observability"
import type { TracingSettings } from "./TracingSettings.ts"

/** Where and how spans are exported (TracingSettings.ts, which `TracingExport` reads too). */
export type { TracingSettings } from "./TracingSettings.ts"

const optionalString = (name: string) => Config.option(Config.String(name))

/** `key=value,key2=value2`, values URL-encoded (the OpenTelemetry format). */
const parseHeaders = (text: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return headers
}

/** The settings from the environment; `undefined` when export is off (no endpoint, or turned off). */
export const config: Config.Config<TracingSettings | undefined> = Config.all({
  disabled: Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  exporter: optionalString("OTEL_TRACES_EXPORTER"),
  tracesEndpoint: optionalString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  endpoint: optionalString("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesProtocol: Config.option(Config.Literals(["http/protobuf", "http/json"], "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")),
  protocol: Config.option(Config.Literals(["http/protobuf", "http/json"], "OTEL_EXPORTER_OTLP_PROTOCOL")),
  tracesHeaders: optionalString("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  headers: optionalString("OTEL_EXPORTER_OTLP_HEADERS"),
  serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("verk")),
}).pipe(
  Config.map((env): TracingSettings | undefined => {
    const exporters = Option.getOrUndefined(env.exporter)
      ?.split(",")
      .map((name) => name.trim().toLowerCase())
    if (env.disabled || (exporters !== undefined && !exporters.includes("otlp"))) return undefined
    const url = Option.match(env.tracesEndpoint, {
      onSome: (url) => url,
      onNone: () =>
        Option.map(env.endpoint, (base) => `${base.replace(/\/+$/, "")}/v1/traces`).pipe(Option.getOrUndefined),
    })
    if (url === undefined || url === "") return undefined
    const headers = Option.orElse(env.tracesHeaders, () => env.headers)
    return {
      url,
      protocol: Option.getOrElse(
        Option.orElse(env.tracesProtocol, () => env.protocol),
        () => "http/protobuf" as const,
      ),
      headers: Option.match(headers, { onNone: () => ({}), onSome: parseHeaders }),
      serviceName: env.serviceName,
    }
  }),
)

/**
 * Exports spans to `settings.url` until the scope closes (it sets the `Tracer`, a reference). The
 * exporter's modules (TracingExport.ts) are loaded when the layer is built.
 */
export const layer = (settings: TracingSettings): Layer.Layer<OtlpExporter.Flusher> =>
  Layer.unwrap(Effect.promise(() => import("./TracingExport.ts")).pipe(Effect.map((module) => module.layer(settings))))

/** `layer` with the settings of the environment; nothing when no endpoint is set. */
export const layerConfig: Layer.Layer<never, Config.ConfigError> = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* config
    if (settings === undefined) return Layer.empty
    yield* Effect.logInfo(`exporting traces to ${settings.url} (${settings.protocol})`)
    const tracing: Layer.Layer<never> = layer(settings)
    return tracing
  }),
)
