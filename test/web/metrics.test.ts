/**
 * `/metrics` after real jobs ran on a Redis store: the exposition is parsed (a small parser of
 * Prometheus' text format below), and the counters, the histograms' counts and sums and the
 * gauges read from the store have the values the runs and the store's contents give.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import type { Heartbeat } from "../../packages/core/src/Store.ts"
import * as Worker from "../../packages/core/src/Worker.ts"
import * as Metrics from "../../packages/node/src/web/Metrics.ts"
import { forJid, startNode } from "../runtime/support.ts"
import { redisKind, storeOf, webHandler, wireJob } from "./support.ts"

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Prometheus' text format: `# HELP`/`# TYPE` lines, then `name{label="value",...} number` samples. */
const parseExposition = (text: string) => {
  const samples: Array<Sample> = []
  const types = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type !== null) types.set(type[1] ?? "", type[2] ?? "")
    if (line.startsWith("#")) continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (sample === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key = "", raw = ""] of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = raw.replace(/\\(.)/g, (_, char: string) => (char === "n" ? "\n" : char))
    const value = sample[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(sample[3])
    samples.push({ name: sample[1] ?? "", labels, value })
  }
  /** The one sample named `name` whose labels include `labels`. */
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, v]) => sample.labels[key] === v),
    )
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
    return found[0]?.value ?? Number.NaN
  }
  return { samples, types, value }
}

it.live("/metrics: job counters by queue and class, duration and queue latency histograms, store gauges", () =>
  Effect.gen(function* () {
    const testStore = yield* redisKind.open
    const store = storeOf(testStore)
    let runs = 0
    const Steady = Worker.make({
      name: "MetricsSteady",
      args: Schema.Tuple([Schema.Int]),
      queue: "metered",
      perform: () => Effect.sleep("30 millis"),
    })
    const Flaky = Worker.make({
      name: "MetricsFlaky",
      args: Schema.Tuple([]),
      queue: "metered",
      retry: 0, // its one failure is its death
      perform: () => Effect.suspend(() => (runs++ === 0 ? Effect.fail(new Error("boom")) : Effect.void)),
    })
    const node = yield* startNode(testStore, { queues: { metered: 5 }, pollInterval: "100 millis" }, [Steady, Flaky])
    const fetch = yield* webHandler(testStore)

    // Two runs waited 10 s in the queue (a foreign push with an old enqueued_at), one did not.
    const now = Date.now() / 1000
    yield* store.enqueue("metered", [
      wireJob("waited-1", { class: "MetricsSteady", queue: "metered", args: [1], enqueued_at: now - 10 }),
      wireJob("waited-2", { class: "MetricsSteady", queue: "metered", args: [2], enqueued_at: now - 10 }),
    ])
    const fresh = yield* node.client.enqueue(Steady, [3])
    const failing = yield* node.client.enqueue(Flaky, [])
    yield* node.events.await(forJid("JobFinished", fresh.jid))
    yield* node.events.await(forJid("JobDead", failing.jid))
    yield* node.events.await((event) => event._tag === "JobFinished" && event.className === "MetricsSteady", 3)

    // What the store holds: a paused queue with two jobs, a retry, a scheduled job, a busy node.
    yield* node.verk.pause("waiting")
    yield* store.enqueue("waiting", [
      wireJob("w1", { queue: "waiting", enqueued_at: now - 30 }),
      wireJob("w2", { queue: "waiting" }),
    ])
    yield* store.addScheduled("retry", [{ payload: wireJob("r1"), score: now + 60 }])
    yield* store.addScheduled("schedule", [{ payload: wireJob("s1"), score: now + 60 }])
    const beat: Heartbeat = { node: "metrics-node", ttlMillis: 60_000, now: Date.now(), info: "{}", busy: 4, work: [] }
    yield* store.heartbeat(beat)

    const response = yield* fetch("/metrics")
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
    const { types, value } = parseExposition(yield* Effect.promise(() => response.text()))

    const steady = { queue: "metered", class: "MetricsSteady" }
    const flaky = { queue: "metered", class: "MetricsFlaky" }
    assert.strictEqual(types.get("verk_jobs_processed_total"), "counter")
    assert.strictEqual(value("verk_jobs_started_total", steady), 3)
    assert.strictEqual(value("verk_jobs_processed_total", steady), 3)
    assert.strictEqual(value("verk_jobs_started_total", flaky), 1)
    assert.strictEqual(value("verk_jobs_processed_total", flaky), 1) // Sidekiq's processed: failures too
    assert.strictEqual(value("verk_jobs_failed_total", flaky), 1)

    assert.strictEqual(types.get("verk_job_duration_ms"), "histogram")
    assert.strictEqual(value("verk_job_duration_ms_count", steady), 3)
    const duration = value("verk_job_duration_ms_sum", steady)
    assert.isAtLeast(duration, 3 * 30)
    assert.isBelow(duration, 3 * 30 + 3_000)
    assert.strictEqual(value("verk_job_duration_ms_bucket", { ...steady, le: "+Inf" }), 3)
    assert.strictEqual(value("verk_job_duration_ms_bucket", { ...steady, le: "16" }), 0) // each slept 30 ms

    assert.strictEqual(value("verk_job_queue_latency_ms_count", steady), 3)
    const latency = value("verk_job_queue_latency_ms_sum", steady)
    assert.isAtLeast(latency, 2 * 10_000 - 1_000) // enqueued_at has second precision here and there
    assert.isBelow(latency, 2 * 10_000 + 5_000)
    assert.strictEqual(value("verk_job_queue_latency_ms_bucket", { ...steady, le: "8192" }), 1)

    assert.strictEqual(value("verk_queue_depth", { queue: "waiting" }), 2)
    assert.strictEqual(value("verk_queue_depth", { queue: "metered" }), 0)
    assert.isAtLeast(value("verk_queue_latency_seconds", { queue: "waiting" }), 29)
    assert.strictEqual(value("verk_retry_size"), 1)
    assert.strictEqual(value("verk_scheduled_size"), 1)
    assert.strictEqual(value("verk_dead_size"), 1)
    assert.strictEqual(value("verk_busy_workers"), 4)
    assert.strictEqual(value("verk_processes"), 2)
  }).pipe(Effect.scoped),
)

it.live("Metrics.layer mounts the route alone, at a path of one's own, on any router", () =>
  Effect.gen(function* () {
    const testStore = yield* redisKind.open
    yield* storeOf(testStore).addScheduled("retry", [{ payload: wireJob("r1"), score: Date.now() / 1000 + 60 }])
    const { handler, dispose } = HttpRouter.toWebHandler(
      Metrics.layer({ path: "/internal/prometheus" }).pipe(
        Layer.provide(Layer.succeedContext(testStore.context)),
        Layer.provide(HttpServer.layerServices),
      ),
      { disableLogger: true },
    )
    yield* Effect.addFinalizer(() => Effect.promise(() => dispose()))
    const response = yield* Effect.promise(() => handler(new Request("http://app.test/internal/prometheus")))
    assert.strictEqual(response.status, 200)
    const { value } = parseExposition(yield* Effect.promise(() => response.text()))
    assert.strictEqual(value("verk_retry_size"), 1)
    const missing = yield* Effect.promise(() => handler(new Request("http://app.test/metrics")))
    assert.strictEqual(missing.status, 404)
  }).pipe(Effect.scoped),
)

it.live("Verk Web's /metrics is behind its token and under its prefix, as its pages are", () =>
  Effect.gen(function* () {
    const testStore = yield* redisKind.open
    const fetch = yield* webHandler(testStore, { prefix: "/verk", token: "s3cret" })
    assert.strictEqual((yield* fetch("/metrics")).status, 401)
    const scraped = yield* fetch("/metrics", { headers: { authorization: "Bearer s3cret" } })
    assert.strictEqual(scraped.status, 200)
    assert.include(yield* Effect.promise(() => scraped.text()), "# TYPE verk_retry_size gauge")
  }).pipe(Effect.scoped),
)
