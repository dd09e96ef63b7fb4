/**
 * Verk Web's JSON API, every endpoint, on a real Redis store: what it reports, what its actions do
 * to the store, and that every bad request (bad jid, bad paging, unknown queue or set, a job that
 * vanished meanwhile, a missing token or CSRF header) is a 4xx with a message.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Heartbeat } from "../../packages/core/src/Store.ts"
import { sessionOf } from "../../packages/node/src/web/Guard.ts"
import { duration, pageNumbers } from "../../packages/node/src/web/Pages.ts"
import { redisKind, storeOf, webHandler, wireJob } from "./support.ts"

type Fetch = (path: string, init?: RequestInit) => Effect.Effect<Response>

const json = (response: Response) => Effect.promise(() => response.json() as Promise<Record<string, unknown>>)

/** Reads the CSRF token as a page's script does, then POSTs with it. */
const poster = (fetch: Fetch) =>
  Effect.gen(function* () {
    const { token } = (yield* json(yield* fetch("/api/csrf"))) as { token: string }
    return (path: string, body?: unknown) =>
      fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": token },
        body: JSON.stringify(body ?? {}),
      })
  })

const nowSeconds = () => Date.now() / 1000
const today = (back = 0) => new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10)

const failed = (jid: string, extra: Record<string, unknown> = {}) =>
  wireJob(jid, {
    class: "Mailer",
    queue: "mail",
    args: ["ada@example.com", 3],
    retry_count: 2,
    error_class: "SmtpError",
    error_message: "connection refused",
    error_backtrace: ["mailer.ts:10", "smtp.ts:42"],
    failed_at: nowSeconds() - 60,
    enqueued_at: nowSeconds() - 120,
    ...extra,
  })

describe("Verk Web JSON API", () => {
  it.live("overview: Sidekiq's totals, 30 days of daily counters, queue and set sizes, busy nodes", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("default", [wireJob("a1"), wireJob("a2")])
      yield* store.enqueue("mail", [wireJob("m1", { queue: "mail" })])
      yield* store.addScheduled("schedule", [{ payload: wireJob("s1"), score: nowSeconds() + 600 }])
      const dying = failed("r2")
      yield* store.addScheduled("retry", [
        { payload: failed("r1"), score: nowSeconds() + 60 },
        { payload: dying, score: nowSeconds() + 90 },
      ])
      yield* store.promote("retry", [{ raw: dying, payload: dying, queue: undefined }], nowSeconds())
      yield* store.incrementStats(7, 2, today())
      yield* store.incrementStats(4, 1, today(3))
      const beat: Heartbeat = { node: "node-1", ttlMillis: 60_000, now: Date.now(), info: "{}", busy: 3, work: [] }
      yield* store.heartbeat(beat)
      const fetch = yield* webHandler(testStore)
      const response = yield* fetch("/api/overview")
      assert.strictEqual(response.status, 200)
      const overview = (yield* json(response)) as {
        processed: number
        failed: number
        enqueued: number
        retries: number
        scheduled: number
        dead: number
        busy: number
        nodes: number
        history: Array<{ day: string; processed: number; failed: number }>
      }
      assert.deepInclude(overview, {
        processed: 11,
        failed: 3,
        enqueued: 3,
        retries: 1,
        scheduled: 1,
        dead: 1,
        busy: 3,
        nodes: 1,
      })
      assert.strictEqual(overview.history.length, 30)
      assert.deepStrictEqual(overview.history.at(-1), { day: today(), processed: 7, failed: 2 })
      assert.deepStrictEqual(overview.history.at(-4), { day: today(3), processed: 4, failed: 1 })
      assert.deepStrictEqual(overview.history.at(-2), { day: today(1), processed: 0, failed: 0 })
    }),
  )

  it.live("queues: size, latency of the next job to run, paused; pause, resume and clear; unknown queues are 404", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      // LPUSH order: the first pushed is the oldest, the next to run.
      yield* store.enqueue("default", [wireJob("old", { enqueued_at: nowSeconds() - 30 })])
      yield* store.enqueue("default", [wireJob("new", { enqueued_at: nowSeconds() - 1 })])
      yield* store.enqueue("other", [wireJob("o1", { queue: "other" })])
      const fetch = yield* webHandler(testStore)
      const post = yield* poster(fetch)
      const list = () =>
        Effect.flatMap(fetch("/api/queues"), json) as unknown as Effect.Effect<
          Array<{ name: string; size: number; latency: number; paused: boolean }>
        >
      const [first, second] = yield* list()
      assert.strictEqual(first?.name, "default")
      assert.strictEqual(first?.size, 2)
      assert.isAtLeast(first?.latency ?? 0, 29)
      assert.isBelow(first?.latency ?? 0, 40)
      assert.deepInclude(second, { name: "other", size: 1, paused: false })

      assert.strictEqual((yield* post("/api/queues/default/pause")).status, 200)
      assert.deepStrictEqual([...(yield* store.pausedQueues)], ["default"])
      assert.isTrue((yield* list())[0]?.paused)
      assert.strictEqual((yield* post("/api/queues/default/resume")).status, 200)
      assert.deepStrictEqual([...(yield* store.pausedQueues)], [])

      assert.strictEqual((yield* post("/api/queues/other/clear")).status, 200)
      assert.strictEqual(yield* store.queueSize("other"), 0)
      assert.deepStrictEqual(
        (yield* list()).map((queue) => queue.name),
        ["default"],
      )

      for (const path of ["/api/queues/nope/pause", "/api/queues/nope/resume", "/api/queues/nope/clear"]) {
        const response = yield* post(path)
        assert.strictEqual(response.status, 404, path)
        assert.match(String((yield* json(response)).message), /no queue named "nope"/)
      }
      assert.strictEqual((yield* fetch("/api/queues/nope/jobs")).status, 404)
      // A paused queue stays listed when empty, so that it can be resumed.
      yield* store.setPaused("idle", true)
      assert.deepInclude((yield* list()).at(-1), { name: "idle", size: 0, paused: true })
    }),
  )

  it.live("a queue's jobs, paged, newest first; delete by jid; bad paging is a 400 naming the field", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      for (let n = 0; n < 30; n++) yield* store.enqueue("default", [wireJob(`j${n}`)])
      const fetch = yield* webHandler(testStore)
      const post = yield* poster(fetch)
      const page1 = (yield* json(yield* fetch("/api/queues/default/jobs"))) as {
        total: number
        page: number
        size: number
        jobs: Array<{ jid: string; args: Array<unknown>; class: string }>
      }
      assert.strictEqual(page1.total, 30)
      assert.strictEqual(page1.jobs.length, 25)
      assert.strictEqual(page1.jobs[0]?.jid, "j29")
      assert.deepStrictEqual(page1.jobs[0]?.args, ["j29"])
      const page2 = (yield* json(yield* fetch("/api/queues/default/jobs?page=2&size=25"))) as typeof page1
      assert.deepStrictEqual(
        page2.jobs.map((job) => job.jid),
        ["j4", "j3", "j2", "j1", "j0"],
      )
      for (const query of ["page=0", "page=abc", "size=0", "size=501", "page=1.5"]) {
        const response = yield* fetch(`/api/queues/default/jobs?${query}`)
        assert.strictEqual(response.status, 400, query)
        const problem = yield* json(response)
        assert.strictEqual(problem.title, "Bad Request")
        assert.isNotEmpty(problem.errors, query)
      }

      const deleted = yield* post("/api/queues/default/delete", { jids: ["j3", "gone"] })
      assert.strictEqual(deleted.status, 200)
      assert.deepStrictEqual(yield* json(deleted), { count: 1, missing: ["gone"] })
      assert.strictEqual(yield* store.queueSize("default"), 29)
      const vanished = yield* post("/api/queues/default/delete", { jids: ["j3"] })
      assert.strictEqual(vanished.status, 404)
      assert.match(String((yield* json(vanished)).message), /no job j3 in queue default/)
      for (const body of [{ jids: [] }, { jids: ["bad jid"] }, { jid: "j1" }, "not json"]) {
        const response = yield* post("/api/queues/default/delete", body)
        assert.strictEqual(response.status, 400, JSON.stringify(body))
      }
    }),
  )

  it.live("retries, scheduled, dead: paged, filtered by class or jid, job detail; bad and unknown jids", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const entries = Array.from({ length: 12 }, (_, n) => ({
        payload: failed(`r${n}`, n % 3 === 0 ? { class: "Billing" } : {}),
        score: nowSeconds() + 100 + n,
      }))
      yield* store.addScheduled("retry", entries)
      const fetch = yield* webHandler(testStore)
      type Page = { total: number; filtered?: boolean; next?: string; jobs: Array<Record<string, unknown>> }
      const page = (path: string) => Effect.flatMap(fetch(path), json) as unknown as Effect.Effect<Page>

      const first = yield* page("/api/sets/retries?size=5")
      assert.strictEqual(first.total, 12)
      assert.deepStrictEqual(
        first.jobs.map((job) => job.jid),
        ["r0", "r1", "r2", "r3", "r4"],
      )
      assert.deepStrictEqual(
        (yield* page("/api/sets/retries?size=5&page=3")).jobs.map((job) => job.jid),
        ["r10", "r11"],
      )
      const billing = yield* page("/api/sets/retries?class=Billing")
      assert.deepStrictEqual(
        billing.jobs.map((job) => job.jid),
        ["r0", "r3", "r6", "r9"],
      )
      // A filtered page: the first matches of a scan of the set's 12 jobs, none left to scan.
      assert.deepInclude(billing, { total: 12, filtered: true })
      assert.notExists(billing.next)
      assert.deepStrictEqual(
        (yield* page("/api/sets/retries?jid=r1")).jobs.map((job) => job.jid),
        ["r1", "r10", "r11"],
      )
      assert.strictEqual((yield* page("/api/sets/scheduled")).total, 0)

      const detail = yield* fetch("/api/sets/retries/jobs/r4")
      assert.strictEqual(detail.status, 200)
      const job = yield* json(detail)
      assert.deepInclude(job, {
        jid: "r4",
        class: "Mailer",
        queue: "mail",
        retryCount: 2,
        errorClass: "SmtpError",
        errorMessage: "connection refused",
      })
      assert.deepStrictEqual(job.args, ["ada@example.com", 3])
      assert.deepStrictEqual(job.backtrace, ["mailer.ts:10", "smtp.ts:42"])
      assert.isNumber(job.failedAt)
      assert.isNumber(job.at)

      const missing = yield* fetch("/api/sets/retries/jobs/nope")
      assert.strictEqual(missing.status, 404)
      assert.match(String((yield* json(missing)).message), /no job nope in retries/)
      assert.strictEqual((yield* fetch("/api/sets/retries/jobs/%3Cscript%3E")).status, 400)
      assert.strictEqual((yield* fetch("/api/sets/graveyard")).status, 400)
      assert.strictEqual((yield* fetch("/api/sets/dead?page=-1")).status, 400)
    }),
  )

  it.live("retry now, kill, delete (one or several), retry all, delete all; a vanished job is a 404", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.addScheduled("retry", [
        { payload: failed("a"), score: nowSeconds() + 100 },
        { payload: failed("b"), score: nowSeconds() + 100 },
        { payload: failed("c"), score: nowSeconds() + 100 },
      ])
      yield* store.addScheduled("schedule", [{ payload: wireJob("s", { queue: "later" }), score: nowSeconds() + 999 }])
      const fetch = yield* webHandler(testStore)
      const post = yield* poster(fetch)

      const retried = yield* post("/api/sets/retries/retry", { jids: ["a"] })
      assert.deepStrictEqual(yield* json(retried), { count: 1, missing: [] })
      const [queued] = yield* store.queueRange("mail", 0, -1)
      assert.strictEqual(JSON.parse(queued ?? "{}").jid, "a")
      assert.isAtLeast(JSON.parse(queued ?? "{}").enqueued_at, nowSeconds() - 5)

      const killed = yield* post("/api/sets/retries/kill", { jids: ["b"] })
      assert.strictEqual(killed.status, 200)
      assert.strictEqual(yield* store.setSize("dead"), 1)
      const killDead = yield* post("/api/sets/dead/kill", { jids: ["b"] })
      assert.strictEqual(killDead.status, 400)
      assert.match(String((yield* json(killDead)).message), /cannot be killed/)

      // The page was stale: someone else retried "a" meanwhile.
      const vanished = yield* post("/api/sets/retries/retry", { jids: ["a"] })
      assert.strictEqual(vanished.status, 404)
      assert.match(String((yield* json(vanished)).message), /no job a in retries/)
      assert.deepStrictEqual(yield* json(yield* post("/api/sets/retries/delete", { jids: ["c", "a"] })), {
        count: 1,
        missing: ["a"],
      })
      assert.strictEqual(yield* store.setSize("retry"), 0)

      const runNow = yield* post("/api/sets/scheduled/retry", { jids: ["s"] })
      assert.strictEqual(runNow.status, 200)
      assert.strictEqual(yield* store.queueSize("later"), 1)

      yield* store.addScheduled("retry", [
        { payload: failed("x"), score: nowSeconds() + 100 },
        { payload: failed("y"), score: nowSeconds() + 100 },
      ])
      // A malformed entry cannot run: it stays where it is.
      yield* store.addScheduled("retry", [{ payload: "{not json", score: nowSeconds() + 100 }])
      assert.deepStrictEqual(yield* json(yield* post("/api/sets/retries/retry-all")), { count: 2, missing: [] })
      assert.strictEqual(yield* store.queueSize("mail"), 3)
      assert.deepStrictEqual(
        (yield* store.setRange("retry", 0, -1)).map((entry) => entry.payload),
        ["{not json"],
      )
      assert.deepStrictEqual(yield* json(yield* post("/api/sets/dead/delete-all")), { count: 1, missing: [] })
      assert.strictEqual(yield* store.setSize("dead"), 0)
    }),
  )

  it.live("nodes: Sidekiq's process registry as the heartbeat writes it, with what each runs", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const info = JSON.stringify({
        hostname: "box",
        pid: 42,
        queues: ["default", "mail"],
        concurrency: 10,
        started_at: nowSeconds() - 100,
      })
      const runAt = Math.floor(nowSeconds()) - 3725
      const work = [
        ["w0", JSON.stringify({ queue: "mail", payload: JSON.parse(wireJob("run1")), run_at: runAt })],
      ] as const
      const rss = 48 * 1024 + 307 // KB, as Sidekiq writes it
      yield* store.heartbeat({ node: "node-a", ttlMillis: 60_000, now: Date.now(), info, busy: 1, rss, work })
      const fetch = yield* webHandler(testStore)
      const nodes = (yield* json(yield* fetch("/api/nodes"))) as unknown as Array<Record<string, unknown>>
      assert.strictEqual(nodes.length, 1)
      assert.deepInclude(nodes[0], { identity: "node-a", hostname: "box", pid: 42, concurrency: 10, busy: 1, rss })
      assert.deepStrictEqual(nodes[0]?.queues, ["default", "mail"])
      assert.deepStrictEqual(nodes[0]?.work, [
        { queue: "mail", jid: "run1", class: "TestWorker", args: ["run1"], runAt },
      ])
      // The Busy page: each node's RSS, each running job's args and how long it has run.
      const busy = yield* Effect.promise(() => Effect.runPromise(fetch("/busy")).then((response) => response.text()))
      assert.include(busy, '<td class="num" data-rss>48.3 MB</td>')
      assert.include(busy, "<bdi>[&quot;run1&quot;]</bdi>")
      assert.match(busy, /data-running-for>1 h 2 min<\/td>/)
    }),
  )

  it.live("a POST without the page's CSRF token is refused 403 and changes nothing", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("default", [wireJob("a")])
      const fetch = yield* webHandler(testStore)
      for (const headers of [{}, { "x-csrf-token": "guess" }]) {
        const response = yield* fetch("/api/queues/default/clear", { method: "POST", headers })
        assert.strictEqual(response.status, 403)
        assert.match(String((yield* json(response)).message), /x-csrf-token/)
      }
      assert.strictEqual(yield* store.queueSize("default"), 1)
    }),
  )

  it.live("with a token: refused 401 without it; Bearer works (no CSRF needed); ?token= sets an HttpOnly cookie", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("default", [wireJob("a")])
      const fetch = yield* webHandler(testStore, { token: "s3cret", prefix: "/verk" })
      for (const path of ["/", "/api/overview", "/api/openapi.json", "/dead", "/?token=wrong"]) {
        assert.strictEqual((yield* fetch(path)).status, 401, path)
      }
      assert.strictEqual((yield* fetch("/api/overview", { headers: { authorization: "Bearer nope" } })).status, 401)
      const bearer = { authorization: "Bearer s3cret" }
      assert.strictEqual((yield* fetch("/api/overview", { headers: bearer })).status, 200)
      assert.strictEqual((yield* fetch("/api/queues/default/pause", { method: "POST", headers: bearer })).status, 200)
      assert.deepStrictEqual([...(yield* store.pausedQueues)], ["default"])

      const login = yield* fetch("/queues?token=s3cret", { redirect: "manual" })
      assert.strictEqual(login.status, 303)
      assert.strictEqual(login.headers.get("location"), "/verk/queues")
      const cookie = login.headers.get("set-cookie") ?? ""
      // The cookie holds a value derived from the token, never the token itself.
      assert.match(cookie, new RegExp(`^verk_web_token=${sessionOf("s3cret")};`))
      assert.notInclude(cookie, "s3cret")
      assert.match(cookie, /HttpOnly/)
      assert.match(cookie, /SameSite=Strict/)
      assert.match(cookie, /Path=\/verk/)
      assert.notMatch(cookie, /Secure/, "plain HTTP: a Secure cookie would not be kept")
      assert.strictEqual(
        (yield* fetch("/queues", { headers: { cookie: "verk_web_token=s3cret" } })).status,
        401,
        "the token itself is no cookie",
      )
      const withCookie = { cookie: `verk_web_token=${sessionOf("s3cret")}` }
      const page = yield* fetch("/queues", { headers: withCookie })
      assert.strictEqual(page.status, 200)
      // A cookie is sent by the browser on its own: a change also needs the CSRF token.
      assert.strictEqual(
        (yield* fetch("/api/queues/default/resume", { method: "POST", headers: withCookie })).status,
        403,
      )
    }),
  )

  it.live("without a token, a Host that is not an IP, localhost or an allowed host is refused (DNS rebinding)", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("default", [wireJob("a")])
      const fetch = yield* webHandler(testStore, { allowedHosts: "dash.example, .corp.example" })
      const { token } = (yield* json(yield* fetch("/api/csrf"))) as { token: string }
      const evil = { host: "evil.example" }
      for (const path of ["/", "/queues", "/api/csrf", "/api/overview", "/metrics"]) {
        const response = yield* fetch(path, { headers: evil })
        assert.strictEqual(response.status, 403, path)
        assert.match(String((yield* json(response)).message), /allowed host/, path)
      }
      // The rebound page has the CSRF token from elsewhere: still refused, and nothing changed.
      const pause = yield* fetch("/api/queues/default/pause", {
        method: "POST",
        headers: { ...evil, "x-csrf-token": token, origin: "http://evil.example" },
      })
      assert.strictEqual(pause.status, 403)
      for (const host of ["evil.example:4000", "localhost.evil.example", "dash.example.evil", "corp.example.evil"]) {
        assert.strictEqual((yield* fetch("/api/overview", { headers: { host } })).status, 403, host)
      }
      for (const host of [
        "127.0.0.1:4000",
        "localhost:4000",
        "LOCALHOST",
        "verk.localhost",
        "[::1]:4000",
        "10.1.2.3",
        "dash.example",
        "Dash.Example:8080",
        "a.corp.example",
        "corp.example",
      ]) {
        assert.strictEqual((yield* fetch("/api/overview", { headers: { host } })).status, 200, host)
      }
      assert.deepStrictEqual([...(yield* store.pausedQueues)], [])
    }),
  )

  it.live("a change whose Origin or Referer names another host is refused 403, even with the CSRF token", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("default", [wireJob("a")])
      const fetch = yield* webHandler(testStore)
      const { token } = (yield* json(yield* fetch("/api/csrf"))) as { token: string }
      const pause = (headers: Record<string, string>) =>
        fetch("/api/queues/default/pause", { method: "POST", headers: { "x-csrf-token": token, ...headers } })
      for (const headers of [
        { origin: "http://evil.example" },
        { origin: "http://localhost:8080" }, // another port is another origin
        { origin: "null" },
        { referer: "http://evil.example/page" },
      ]) {
        const response = yield* pause(headers)
        assert.strictEqual(response.status, 403, JSON.stringify(headers))
        assert.match(String((yield* json(response)).message), /Origin or Referer/)
      }
      assert.deepStrictEqual([...(yield* store.pausedQueues)], [], "nothing changed")
      // Behind a proxy that rewrites Host, the host it forwarded for is the page's.
      const proxied = yield* pause({ origin: "https://dash.example", "x-forwarded-host": "dash.example" })
      assert.strictEqual(proxied.status, 200)
      for (const headers of [{ origin: "http://localhost" }, { referer: "http://localhost/queues" }, {}]) {
        assert.strictEqual((yield* pause(headers)).status, 200, JSON.stringify(headers))
      }
      assert.deepStrictEqual([...(yield* store.pausedQueues)], ["default"])
    }),
  )

  it.live("with a token: any Host; the scheme is case-insensitive; the cookie is Secure over HTTPS", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const fetch = yield* webHandler(testStore, { token: "s3cret" })
      for (const authorization of ["Bearer s3cret", "bearer s3cret", "BEARER  s3cret", "bEaReR s3cret "]) {
        const response = yield* fetch("/api/overview", { headers: { authorization, host: "dash.example" } })
        assert.strictEqual(response.status, 200, authorization)
      }
      for (const authorization of ["Basic s3cret", "Bearer", "Bearers3cret", "Bearer s3cret extra"]) {
        assert.strictEqual((yield* fetch("/api/overview", { headers: { authorization } })).status, 401, authorization)
      }
      for (const headers of [
        { "x-forwarded-proto": "https" },
        { "x-forwarded-proto": "HTTPS, http" },
        { forwarded: "for=10.0.0.1;proto=https;host=dash.example" },
      ]) {
        const login = yield* fetch("/?token=s3cret", { redirect: "manual", headers })
        assert.strictEqual(login.status, 303)
        assert.match(login.headers.get("set-cookie") ?? "", /; Secure/, JSON.stringify(headers))
      }
      const plain = yield* fetch("/?token=s3cret", { redirect: "manual", headers: { "x-forwarded-proto": "http" } })
      assert.notMatch(plain.headers.get("set-cookie") ?? "", /Secure/)
    }),
  )

  it.live("pages are mounted under the prefix, and every job field is escaped in their HTML", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const hostile = failed("x1", {
        class: "<b>Evil</b>",
        args: ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">'],
        error_message: "<script>alert(3)</script>",
        error_backtrace: ["<svg onload=alert(4)>"],
      })
      yield* store.addScheduled("retry", [{ payload: hostile, score: nowSeconds() }])
      yield* store.promote("retry", [{ raw: hostile, payload: hostile, queue: undefined }], nowSeconds())
      yield* store.enqueue("mail", [hostile])
      const fetch = yield* webHandler(testStore, { prefix: "/admin/verk" })
      for (const path of ["/", "/queues", "/queues/mail", "/dead", "/dead/x1", "/busy", "/retries", "/scheduled"]) {
        const response = yield* fetch(path)
        assert.strictEqual(response.status, 200, path)
        assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'nonce-/)
        const body = yield* Effect.promise(() => response.text())
        assert.notMatch(body, /<script>alert|<img src=x|<svg onload|<b>Evil/, path)
        assert.include(body, 'href="/admin/verk/queues"', path)
      }
      const detail = yield* Effect.promise(() => Effect.runPromise(fetch("/dead/x1")).then((r) => r.text()))
      assert.include(detail, "&lt;script&gt;alert(1)&lt;/script&gt;")
      assert.include(detail, "&lt;img src=x onerror=")
      assert.include(detail, "&lt;svg onload=alert(4)&gt;")
      assert.strictEqual((yield* fetch("/dead/nope")).status, 404)
      assert.strictEqual((yield* fetch("/dead?page=zero")).status, 400)
      assert.strictEqual((yield* fetch("/queues/unknown")).status, 404)
    }),
  )

  it("durations read as people say them; pagers link the first, the last and the pages around", () => {
    assert.deepStrictEqual(
      [0, 0.004, 0.42, 9.5, 42, 59.6, 192, 3600, 7369, 86_399, 90_061, 10 * 86_400].map(duration),
      ["0 s", "0 s", "0.42 s", "9.50 s", "42 s", "1 min", "3 min 12 s", "1 h", "2 h 3 min", "1 d", "1 d 1 h", "10 d"],
    )
    assert.deepStrictEqual(pageNumbers(1, 1), [1])
    assert.deepStrictEqual(pageNumbers(1, 3), [1, 2, 3])
    assert.deepStrictEqual(pageNumbers(10, 48), [1, "…", 8, 9, 10, 11, 12, "…", 48])
    assert.deepStrictEqual(pageNumbers(48, 48), [1, "…", 46, 47, 48])
    assert.deepStrictEqual(pageNumbers(4, 48), [1, 2, 3, 4, 5, 6, "…", 48])
  })

  it.live("pages: readable latency, not served queues, formatted counts, page numbers, retry counts, a favicon", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      yield* store.enqueue("reports", [wireJob("old", { queue: "reports", enqueued_at: nowSeconds() - 7369 })])
      yield* store.enqueue("mail", [wireJob("m1", { queue: "mail" })])
      const info = JSON.stringify({ queues: ["mail"] })
      yield* store.heartbeat({ node: "n1", ttlMillis: 60_000, now: Date.now(), info, busy: 0, work: [] })
      yield* store.addScheduled(
        "retry",
        Array.from({ length: 1200 }, (_, n) => ({ payload: failed(`r${n}`), score: nowSeconds() + 60 + n })),
      )
      const fetch = yield* webHandler(testStore)
      const text = (path: string) => Effect.flatMap(fetch(path), (response) => Effect.promise(() => response.text()))
      for (const path of ["/", "/queues"]) {
        const page = yield* text(path)
        const reports = page.slice(page.indexOf('data-queue="reports"'))
        assert.match(reports.slice(0, reports.indexOf("</tr>")), /2 h 3 min/, path)
        assert.notMatch(page, /7369 s|7370 s/, path)
        assert.match(reports.slice(0, reports.indexOf("</tr>")), /not served/, path)
        const mail = page.slice(page.indexOf('data-queue="mail"'))
        assert.match(mail.slice(0, mail.indexOf("</tr>")), /badge live">running/, path)
        assert.include(page, 'data-count="retries">1,200</span>', path)
        assert.include(page, 'rel="icon"', path)
      }
      assert.match(yield* text("/queues/reports"), /not served[\s\S]*latency 2 h 3 min/)

      const tenth = yield* text("/retries?page=10")
      const links = [...tenth.matchAll(/data-page="(\d+)"/g)].map((match) => Number(match[1]))
      assert.deepStrictEqual(links, [1, 8, 9, 11, 12, 48])
      assert.include(tenth, 'aria-current="page">10<')
      assert.include(tenth, "page 10 of 48")
      assert.include(tenth, '<th class="num">Retries</th>')
      assert.include(tenth, "data-retry-count>2</td>")

      assert.include(yield* text("/dead"), "No dead jobs.")
      assert.include(yield* text("/scheduled"), "No scheduled jobs.")
      assert.include(yield* text("/retries?class=Nobody"), "No jobs waiting for a retry match the filter.")

      const icon = yield* fetch("/favicon.ico")
      assert.strictEqual(icon.status, 200)
      assert.strictEqual(icon.headers.get("content-type"), "image/svg+xml")
      assert.match(yield* Effect.promise(() => icon.text()), /^<svg /)
    }),
  )

  it.live("a 1 MB error message is cut in lists (the job's page has it whole); job text is isolated in <bdi>", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const store = storeOf(testStore)
      const message = `boom ${"x".repeat(1_000_000)}`
      const override = "\u202Eevil"
      const dead = failed("d1", { error_message: message, class: `Billing${override}`, args: [`a${override}`] })
      yield* store.addScheduled("retry", [{ payload: dead, score: nowSeconds() }])
      yield* store.promote("retry", [{ raw: dead, payload: dead, queue: undefined }], nowSeconds())
      yield* store.enqueue("mail", [dead])
      const fetch = yield* webHandler(testStore)
      const text = (path: string) => Effect.flatMap(fetch(path), (response) => Effect.promise(() => response.text()))
      const list = yield* text("/dead")
      assert.isBelow(list.length, 50_000, `the list is ${list.length} characters`)
      assert.include(list, "boom xxx")
      assert.isAbove((yield* text("/dead/d1")).length, 1_000_000, "the job's page has the whole message")
      for (const path of ["/dead", "/queues/mail"]) {
        const page = yield* text(path)
        const all = page.split("\u202E").length - 1
        const isolated = [...page.matchAll(/<bdi>[^<]*\u202E[^<]*<\/bdi>/g)].length
        assert.isAtLeast(all, 2, path)
        // In an attribute (a title) it cannot reorder the page's text; everywhere else it is in a <bdi>.
        const inAttributes = [...page.matchAll(/="[^"]*\u202E[^"]*"/g)].length
        assert.strictEqual(isolated + inAttributes, all, path)
      }
    }),
  )

  it.live("the OpenAPI document lists every endpoint", () =>
    Effect.gen(function* () {
      const testStore = yield* redisKind.open
      const fetch = yield* webHandler(testStore)
      const document = (yield* json(yield* fetch("/api/openapi.json"))) as { paths: Record<string, unknown> }
      assert.includeMembers(Object.keys(document.paths), [
        "/api/overview",
        "/api/csrf",
        "/api/queues",
        "/api/queues/{queue}/jobs",
        "/api/queues/{queue}/pause",
        "/api/queues/{queue}/resume",
        "/api/queues/{queue}/clear",
        "/api/queues/{queue}/delete",
        "/api/nodes",
        "/api/sets/{set}",
        "/api/sets/{set}/jobs/{jid}",
        "/api/sets/{set}/retry",
        "/api/sets/{set}/delete",
        "/api/sets/{set}/kill",
        "/api/sets/{set}/retry-all",
        "/api/sets/{set}/delete-all",
      ])
    }),
  )
})
