/**
 * `verk run` exports traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set: a job that carries
 * an enqueuer's `traceparent` (pushed here by a foreign client) is exported as a span of that
 * trace, its parent the enqueuer's span, by a real worker process to a small OTLP/HTTP collector.
 */
import { randomBytes } from "node:crypto"
import { createServer, type Server } from "node:http"
import { Redis } from "ioredis"
import { afterEach, expect, it } from "vitest"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { startVerk } from "./support.ts"

interface OtlpSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }>
}
interface OtlpTraces {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: { readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: unknown }> }
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }>
  }>
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** An OTLP/HTTP JSON collector on a free port of 127.0.0.1: what it received, and its URL. */
const collector = async () => {
  const received: Array<OtlpTraces> = []
  const paths: Array<string> = []
  const server: Server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => (body += chunk.toString()))
    request.on("end", () => {
      paths.push(request.url ?? "")
      received.push(JSON.parse(body) as OtlpTraces)
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  cleanups.push(() => new Promise((done) => server.close(() => done())))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { url: `http://127.0.0.1:${port}`, received, paths }
}

it("a job's span reaches the OTLP endpoint as a child of the enqueuer's span", { timeout: 30_000 }, async () => {
  const otlp = await collector()
  const namespace = uniqueNamespace()
  cleanups.push(() => deleteNamespace(redisUrl(), namespace))
  const worker = startVerk(["run", "test/examples/workers.ts"], {
    REDIS_URL: redisUrl(),
    VERK_NAMESPACE: namespace,
    VERK_POLL_INTERVAL: "100ms",
    VERK_SHUTDOWN_TIMEOUT: "2s",
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "verk-tracing-test",
  })
  await worker.waitFor("worker process ready")
  expect(worker.stdout()).toContain(`exporting traces to ${otlp.url}/v1/traces (http/json)`)

  const traceId = randomBytes(16).toString("hex")
  const parentSpanId = randomBytes(8).toString("hex")
  const jid = randomBytes(12).toString("hex")
  const redis = new Redis(redisUrl())
  try {
    const job = {
      class: "CreditAccount",
      queue: "default",
      args: ["acct-traced", 5],
      jid,
      retry: true,
      enqueued_at: Date.now() / 1000,
      traceparent: `00-${traceId}-${parentSpanId}-01`,
    }
    await redis.lpush(`${namespace}:queue:default`, JSON.stringify(job))
  } finally {
    redis.disconnect()
  }
  await worker.waitFor("credited 5 cents to acct-traced")
  worker.child.kill("SIGTERM") // spans still queued are sent at shutdown
  expect((await worker.exited).code).toBe(0)

  expect(otlp.paths.every((path) => path === "/v1/traces")).toBe(true)
  const spans = otlp.received.flatMap((traces) =>
    traces.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)),
  )
  const jobSpan = spans.find(
    (span) =>
      span.name === "Processor.process" &&
      span.attributes.some((attribute) => attribute.key === "jid" && attribute.value.stringValue === jid),
  )
  expect(jobSpan).toBeDefined()
  expect(jobSpan?.traceId).toBe(traceId)
  expect(jobSpan?.parentSpanId).toBe(parentSpanId)
  expect(JSON.stringify(otlp.received[0]?.resourceSpans[0]?.resource)).toContain("verk-tracing-test")
})
