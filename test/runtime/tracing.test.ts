/**
 * Trace context across the queue: a job enqueued inside a span carries the span as `traceparent`,
 * and the processor's span for that job is its child (same trace id, that span as parent), on
 * both stores; a job enqueued outside any span carries no key. Spans are recorded in memory by a
 * tracer wrapping Effect's native one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema, Tracer } from "effect"
import * as Trace from "../../packages/core/src/Trace.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import { forEachStore, forJid, type StoreKind, startNode } from "./support.ts"

const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    },
  })
  return { spans, tracer }
}

const config = { pollInterval: "200 millis", shutdownTimeout: "200 millis" } as const

const tracing = (kind: StoreKind) => {
  it.live("a job's span is a child of the span that enqueued it; outside any span, no traceparent", () => {
    const { spans, tracer } = recordingTracer()
    const performedIn: Array<{ readonly traceId: string; readonly spanId: string }> = []
    const Traced = Worker.make({
      name: "Traced",
      args: Schema.Tuple([Schema.String]),
      perform: () =>
        Effect.flatMap(Effect.currentSpan, (span) =>
          Effect.sync(() => performedIn.push({ traceId: span.traceId, spanId: span.spanId })),
        ).pipe(Effect.orDie),
    })
    return Effect.gen(function* () {
      const store = yield* kind.open
      const node = yield* startNode(store, config, [Traced])

      const { request, job } = yield* Effect.gen(function* () {
        const request = yield* Effect.currentSpan
        const job = yield* node.client.enqueue(Traced, ["inside"])
        return { request, job }
      }).pipe(Effect.withSpan("http.request"))
      assert.strictEqual(job.traceparent, `00-${request.traceId}-${request.spanId}-01`)
      yield* node.events.await(forJid("JobFinished", job.jid))

      const processed = spans.find(
        (span) => span.name === "Processor.process" && span.attributes.get("jid") === job.jid,
      )
      assert.isDefined(processed)
      const parent = Option.getOrUndefined(processed!.parent)
      assert.strictEqual(parent?._tag, "ExternalSpan")
      assert.strictEqual(parent?.traceId, request.traceId)
      assert.strictEqual(parent?.spanId, request.spanId)
      assert.strictEqual(processed!.traceId, request.traceId)
      // perform runs inside that span.
      assert.deepStrictEqual(performedIn[0], { traceId: request.traceId, spanId: processed!.spanId })

      const untraced = yield* node.client.enqueue(Traced, ["outside"])
      assert.notProperty(untraced, "traceparent")
      yield* node.events.await(forJid("JobFinished", untraced.jid))
      const alone = spans.find(
        (span) => span.name === "Processor.process" && span.attributes.get("jid") === untraced.jid,
      )
      assert.notStrictEqual(alone?.traceId, request.traceId)
      // A trace of its own: not a child of the node's long-lived spans (its queue's, its fetch loop's).
      assert.isTrue(Option.isNone(alone!.parent), "a job that names no parent starts a trace")
    }).pipe(Effect.withTracer(tracer), Effect.scoped)
  })

  it.live("with Effect's native tracer (no backend), only a job that carries a traceparent gets a span", () => {
    const performedIn: Array<Option.Option<string>> = []
    const Probe = Worker.make({
      name: "Probe",
      args: Schema.Tuple([Schema.String]),
      perform: () =>
        Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
          Effect.sync(() => performedIn.push(Option.map(span, (span) => span.traceId))),
        ),
    })
    return Effect.gen(function* () {
      const store = yield* kind.open
      const node = yield* startNode(store, config, [Probe])
      // Nobody can see a span: the job runs without one (a span is a sizeable share of a job's CPU).
      const untraced = yield* node.client.enqueue(Probe, ["outside"])
      yield* node.events.await(forJid("JobFinished", untraced.jid))
      assert.deepStrictEqual(performedIn, [Option.none()])
      // A job enqueued inside a span continues its trace, even here.
      const { request, job } = yield* Effect.gen(function* () {
        const request = yield* Effect.currentSpan
        const job = yield* node.client.enqueue(Probe, ["inside"])
        return { request, job }
      }).pipe(Effect.withSpan("http.request"))
      yield* node.events.await(forJid("JobFinished", job.jid))
      assert.deepStrictEqual(performedIn[1], Option.some(request.traceId))
    }).pipe(Effect.scoped)
  })
}

forEachStore(tracing)

describe("Trace", () => {
  it("parses W3C traceparent values and refuses malformed ones", () => {
    const parsed = Trace.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert.deepInclude(parsed, {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      sampled: true,
    })
    assert.strictEqual(Trace.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.sampled, false)
    for (const bad of [
      "",
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    ])
      assert.isUndefined(Trace.parse(bad), bad)
  })

  it("reads a top-level traceparent only", () => {
    const value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert.isDefined(Trace.parentOf(`{"class":"A","args":[],"traceparent":"${value}"}`))
    assert.isUndefined(Trace.parentOf(`{"class":"A","args":[{"traceparent":"${value}"}]}`))
    assert.isUndefined(Trace.parentOf(`{"class":"A","args":[]}`))
  })
})
