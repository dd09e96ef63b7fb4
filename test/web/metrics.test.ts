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
import { forJid, quietLogs, startNode } from "../runtime/support.ts"
import { checkExposition } from "./exposition.ts"
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
    // A node that serves "waiting": its gauges have a series of their own (a queue no node serves is `other`).
    const info = JSON.stringify({ queues: ["waiting"] })
    const beat: Heartbeat = { node: "metrics-node", ttlMillis: 60_000, now: Date.now(), info, busy: 4, work: [] }
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

    assert.strictEqual(types.get("verk_job_duration_seconds"), "histogram")
    assert.strictEqual(value("verk_job_duration_seconds_count", steady), 3)
    const duration = value("verk_job_duration_seconds_sum", steady)
    assert.isAtLeast(duration, 3 * 0.03)
    assert.isBelow(duration, 3 * 0.03 + 3)
    assert.strictEqual(value("verk_job_duration_seconds_bucket", { ...steady, le: "+Inf" }), 3)
    assert.strictEqual(value("verk_job_duration_seconds_bucket", { ...steady, le: "0.016" }), 0) // each slept 30 ms

    assert.strictEqual(value("verk_job_queue_latency_seconds_count", steady), 3)
    const latency = value("verk_job_queue_latency_seconds_sum", steady)
    assert.isAtLeast(latency, 2 * 10 - 1) // enqueued_at has second precision here and there
    assert.isBelow(latency, 2 * 10 + 5)
    assert.strictEqual(value("verk_job_queue_latency_seconds_bucket", { ...steady, le: "8.192" }), 1)

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

it("the strict exposition check finds each rule's breach", () => {
  const good = [
    "# HELP a_total Runs",
    "# TYPE a_total counter",
    'a_total{class="x\\"y\\\\z\\nw"} 3',
    "# TYPE d_seconds histogram",
    'd_seconds_bucket{le="0.5"} 1',
    'd_seconds_bucket{le="+Inf"} 2',
    "d_seconds_sum 0.7",
    "d_seconds_count 2",
    "",
  ].join("\n")
  assert.deepStrictEqual(checkExposition(good), [])
  const bad: ReadonlyArray<readonly [string, RegExp]> = [
    ["# TYPE runs counter\nruns 1\n", /does not end in _total/],
    ["# TYPE d_ms gauge\nd_ms 1\n", /unit ms is not a base unit/],
    ["# TYPE g gauge\ng 1\ng 2\n", /duplicate series/],
    ['# TYPE g gauge\ng{a="\\x"} 1\n', /bad escape/],
    ["g 1\n", /without a TYPE/],
    ['# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 1\nh_seconds_sum 1\nh_seconds_count 1\n', /no \+Inf/],
    [
      '# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 2\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_sum 1\nh_seconds_count 1\n',
      /not cumulative/,
    ],
    ['# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n', /not contiguous/],
    ["# TYPE a gauge\na one\n", /bad value/],
  ]
  for (const [text, problem] of bad) {
    assert.match(checkExposition(text).join("; "), problem, text)
  }
})

it.live(
  "/metrics stays bounded after 1,000 made-up class names and 300 made-up queues, and passes the strict check",
  () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const Known = Worker.make({
        name: "BoundedKnown",
        args: Schema.Tuple([]),
        queue: "bounded",
        perform: () => Effect.void,
      })
      const node = yield* startNode(testStore, { queues: { bounded: 10 }, pollInterval: "100 millis" }, [Known])
      const fetch = yield* webHandler(testStore)
      const scrape = Effect.flatMap(fetch("/metrics"), (response) => Effect.promise(() => response.text()))
      const before = parseExposition(yield* scrape).samples.length

      // A queue no node serves, nor any worker: its name has every character a label value escapes.
      const odd = 'odd "queue" \\ with\na newline'
      const info = JSON.stringify({ queues: [odd] })
      yield* store.heartbeat({ node: "odd-node", ttlMillis: 60_000, now: Date.now(), info, busy: 0, work: [] })
      yield* store.enqueue(odd, [wireJob("odd-1", { queue: odd })])
      for (let n = 0; n < 300; n++) yield* store.enqueue(`ghost-${n}`, [wireJob(`ghost-${n}`, { queue: `ghost-${n}` })])
      const made = Array.from({ length: 1000 }, (_, n) =>
        wireJob(`made-${n}`, { class: `MadeUp${n}::Job`, queue: "bounded", enqueued_at: Date.now() / 1000 }),
      )
      for (let n = 0; n < made.length; n += 100) yield* store.enqueue("bounded", made.slice(n, n + 100))
      yield* node.client.enqueue(Known, [])
      yield* node.events.await((event) => event._tag === "JobFailed" && event.className.startsWith("MadeUp"), 1000, {
        timeout: "90 seconds",
      })
      yield* node.events.await((event) => event._tag === "JobFinished" && event.className === "BoundedKnown")

      const text = yield* scrape
      assert.deepStrictEqual(checkExposition(text), [])
      const { samples, value } = parseExposition(text)
      const classes = new Set(
        samples.flatMap((sample) => (sample.labels.class === undefined ? [] : [sample.labels.class])),
      )
      assert.isFalse(
        [...classes].some((name) => name.startsWith("MadeUp")),
        "no made-up class has a series",
      )
      const queues = new Set(
        samples.flatMap((sample) => (sample.labels.queue === undefined ? [] : [sample.labels.queue])),
      )
      assert.isFalse(
        [...queues].some((name) => name.startsWith("ghost-")),
        "no made-up queue has a series",
      )
      const other = { queue: "bounded", class: "other" }
      assert.strictEqual(value("verk_jobs_started_total", other), 1000)
      assert.strictEqual(value("verk_jobs_failed_total", other), 1000)
      assert.strictEqual(value("verk_job_duration_seconds_count", other), 1000)
      assert.strictEqual(value("verk_jobs_processed_total", { queue: "bounded", class: "BoundedKnown" }), 1)
      assert.strictEqual(value("verk_queue_depth", { queue: "other" }), 300)
      assert.strictEqual(value("verk_queue_depth", { queue: odd }), 1, "the escaped label reads back as the name")
      // Two label sets (the worker's, other) of five metrics, and a few gauges: not 1,000 of them.
      const added = samples.length - before
      assert.isBelow(added, 250, `${added} series added`)
      assert.isBelow(text.length, 64 * 1024, `${text.length} bytes`)
    }).pipe(Effect.scoped, quietLogs),
  120_000,
)
