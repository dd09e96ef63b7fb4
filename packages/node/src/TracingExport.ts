/**
 * The OTLP exporter of `Tracing.layer`, in a module of its own: `Tracing` loads it only when
 * export is on, so a worker process that exports nothing does not hold effect's observability
 * and HTTP client modules in memory.
 */
import { FetchHttpClient } from "effect/http"
import * as Layer from "effect/Layer"
import { type OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"
import type { TracingSettings } from "./TracingSettings.ts"

/** The OTLP/HTTP trace exporter for `settings`, over `fetch`; sets the `Tracer` until the scope closes. */
export const layer = (settings: TracingSettings): Layer.Layer<OtlpExporter.Flusher> =>
  OtlpTracer.layer({
    url: settings.url,
    headers: settings.headers,
    resource: { serviceName: settings.serviceName },
  }).pipe(
    Layer.provide(settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(FetchHttpClient.layer),
  )
