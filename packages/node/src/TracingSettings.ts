/**
 * Where and how `Tracing` exports spans, in a module of its own: `Tracing` reads the settings from
 * the environment and `TracingExport` (loaded only when export is on) builds the exporter from
 * them, and neither imports the other for it.
 */

/** Where spans go over OTLP/HTTP, and how (`Tracing.config` reads them from the environment). */
export interface TracingSettings {
  /** The traces URL, `.../v1/traces`. */
  readonly url: string
  /** The OTLP encoding: protobuf (the default) or JSON. */
  readonly protocol: "http/protobuf" | "http/json"
  /** Sent with every export request (an API key, for instance). */
  readonly headers: Readonly<Record<string, string>>
  /** The `service.name` of the exported resource. */
  readonly serviceName: string
}
