/**
 * Every entry of a set can be acted on one by one, whatever its payload holds: bytes that are not
 * UTF-8, a jid with a space (`order 42`), no jid at all. Each is listed with its entry reference,
 * shown by it (its text, and its bytes when they are not UTF-8), deleted by it (exactly that entry:
 * its neighbours stay) and retried by it when it can run; through the JSON API, the pages, and
 * `verk jobs` (a real process on a private redis-server).
 */
import { Effect } from "effect"
import { Redis } from "ioredis"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as EntryRef from "../../packages/node/src/EntryRef.ts"
import { verk } from "../cli/support.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { redisKind, storeOf, webHandler } from "./support.ts"

const notUtf8 = Buffer.concat([
  Buffer.from('{"class":"Mailer","queue":"mail","args":["caf'),
  Buffer.from([0xe9, 0xff]),
  Buffer.from('"],"jid":"bin1"}'),
])
const order42 = JSON.stringify({ class: "Billing", queue: "billing", args: [42], jid: "order 42", error_class: "Boom" })
const noJid = JSON.stringify({ class: "Billing", queue: "billing", args: [7] })
const neighbour = (n: number) =>
  JSON.stringify({ class: "Mailer", queue: "mail", args: [n], jid: `n${n}`, error_class: "Boom" })

/** Dead-set members: the three awkward ones between neighbours, each at its own score. */
const members = (): Array<{ member: Buffer | string; score: number }> => [
  { member: neighbour(1), score: 1_800_000_001 },
  { member: notUtf8, score: 1_800_000_002.5 },
  { member: order42, score: 1_800_000_003 },
  { member: noJid, score: 1_800_000_004.25 },
  { member: neighbour(2), score: 1_800_000_005 },
]
const rawOf = (member: Buffer | string) =>
  typeof member === "string" ? member : `\u0000verk-bytes:${member.toString("base64")}`
const refOf = ({ member, score }: { member: Buffer | string; score: number }) =>
  EntryRef.of({ raw: rawOf(member), score })

describe("entries acted on by reference", () => {
  it("API and pages: each awkward dead entry is listed, shown, deleted alone and retried when it can run", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const testStore = yield* redisKind.open
          const store = storeOf(testStore)
          const seeded = members()
          yield* Effect.forEach(seeded, ({ member, score }) =>
            store.kill("q", "n", "none", rawOf(member), score, { maxJobs: 1000, maxAgeSeconds: 1e12 }),
          )
          const fetch = yield* webHandler(testStore)
          const get = (path: string) => Effect.runPromise(fetch(path))
          const csrf = ((yield* Effect.promise(async () => (await get("/api/csrf")).json())) as { token: string }).token
          const post = (path: string, jids: ReadonlyArray<string>) =>
            Effect.flatMap(
              fetch(path, {
                method: "POST",
                headers: { "content-type": "application/json", "x-csrf-token": csrf },
                body: JSON.stringify({ jids }),
              }),
              (response) =>
                Effect.promise(async () => ({
                  status: response.status,
                  body: (await response.json()) as Record<string, unknown>,
                })),
            )
          const json = (path: string) =>
            Effect.promise(async () => {
              const response = await get(path)
              return { status: response.status, body: (await response.json()) as Record<string, unknown> }
            })

          // Listed, each with its reference.
          const list = yield* json("/api/sets/dead")
          const jobs = list.body.jobs as Array<{ ref: string; jid: string; malformed?: string }>
          assert.sameMembers(
            jobs.map((job) => job.ref),
            seeded.map(refOf),
          )
          const [, binary, order, missing] = seeded.map(refOf) as [string, string, string, string, string]

          // Shown by reference: the API, and the page (whose links and buttons carry the reference).
          const shownBinary = yield* json(`/api/sets/dead/jobs/${encodeURIComponent(binary)}`)
          assert.strictEqual(shownBinary.status, 200)
          assert.strictEqual(shownBinary.body.bytes, notUtf8.toString("base64"))
          assert.isString(shownBinary.body.malformed)
          const shownOrder = yield* json(`/api/sets/dead/jobs/${encodeURIComponent(order)}`)
          assert.deepInclude(shownOrder.body, { jid: "order 42", class: "Billing", ref: order })
          const shownMissing = yield* json(`/api/sets/dead/jobs/${encodeURIComponent(missing)}`)
          assert.deepInclude(shownMissing.body, { jid: "", ref: missing })
          const page = yield* Effect.promise(async () => (await get(`/dead/${encodeURIComponent(binary)}`)).text())
          assert.include(page, `data-jid="${binary}"`)
          const listPage = yield* Effect.promise(async () => (await get("/dead")).text())
          for (const ref of [binary, order, missing]) assert.include(listPage, `value="${ref}"`)
          // A reference to an entry not there is a 404; one that is not a reference nor a jid, a 400.
          assert.strictEqual(
            (yield* json(`/api/sets/dead/jobs/${encodeURIComponent("@1800000002.5~AAAAAAAAAAAAAAAAAAAAAA")}`)).status,
            404,
          )
          assert.strictEqual((yield* json(`/api/sets/dead/jobs/${encodeURIComponent("order 42")}`)).status, 400)

          // Bytes that are not UTF-8 cannot run: a retry leaves the entry where it is.
          const cannotRun = yield* post("/api/sets/dead/retry", [binary])
          assert.strictEqual(cannotRun.status, 400)
          assert.match(String(cannotRun.body.message), /^not a job, so it cannot run \(.+\): delete it instead$/)
          assert.strictEqual((yield* post("/api/sets/dead/retry", [missing])).status, 400)
          assert.strictEqual(yield* store.setSize("dead"), 5)
          // `order 42` can: it lands in its queue, byte for byte but for enqueued_at.
          const retried = yield* post("/api/sets/dead/retry", [order])
          assert.deepStrictEqual(retried.body, { count: 1, missing: [] })
          const [queued] = yield* store.queueRange("billing", 0, -1)
          assert.strictEqual(JSON.parse(queued ?? "{}").jid, "order 42")

          // Deleted one by one: exactly that entry each time.
          for (const ref of [binary, missing]) {
            const before = (yield* store.setRange("dead", 0, -1)).map(({ payload }) => payload)
            const deleted = yield* post("/api/sets/dead/delete", [ref])
            assert.deepStrictEqual(deleted.body, { count: 1, missing: [] })
            const after = (yield* store.setRange("dead", 0, -1)).map(({ payload }) => payload)
            assert.strictEqual(after.length, before.length - 1)
            assert.isTrue(after.every((raw) => before.includes(raw)))
          }
          assert.sameMembers(
            (yield* store.setRange("dead", 0, -1)).map(({ payload }) => payload),
            [neighbour(1), neighbour(2)],
          )
          // Gone: a second delete is a 404 naming the reference.
          const again = yield* post("/api/sets/dead/delete", [binary])
          assert.strictEqual(again.status, 404)
          assert.include(String(again.body.message), binary)
        }),
      ),
    )
  }, 30_000)
})

describe("queue entries acted on by reference", () => {
  it("API: each awkward queued entry is deleted alone by its reference, after newer pushes moved it", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const testStore = yield* redisKind.open
          const store = storeOf(testStore)
          const values = [neighbour(1), rawOf(notUtf8), order42, noJid, neighbour(2)]
          yield* store.enqueue("mail", values)
          const fetch = yield* webHandler(testStore)
          const csrf = (
            (yield* Effect.promise(async () => (await Effect.runPromise(fetch("/api/csrf"))).json())) as {
              token: string
            }
          ).token
          const listed = (yield* Effect.promise(async () =>
            (await Effect.runPromise(fetch("/api/queues/mail/jobs"))).json(),
          )) as { jobs: Array<{ ref: string; payload: string }> }
          assert.strictEqual(listed.jobs.length, 5)
          const refs = listed.jobs.map((job) => job.ref)
          assert.isTrue(refs.every((ref) => ref.startsWith("@q")))
          // Newer jobs push the listed ones further from the head before they are deleted.
          yield* store.enqueue(
            "mail",
            Array.from({ length: 150 }, (_, n) => neighbour(100 + n)),
          )
          const before = yield* store.queueSize("mail")
          // LRANGE order is newest first: the listed refs are of noJid, order42, notUtf8 from index 1 to 3.
          for (const ref of refs.slice(1, 4)) {
            const response = yield* fetch("/api/queues/mail/delete", {
              method: "POST",
              headers: { "content-type": "application/json", "x-csrf-token": csrf },
              body: JSON.stringify({ jids: [ref] }),
            })
            assert.deepStrictEqual(yield* Effect.promise(() => response.json()), { count: 1, missing: [] })
          }
          const left = [...(yield* store.queueRange("mail", 0, -1))]
          assert.strictEqual(left.length, before - 3)
          for (const gone of [rawOf(notUtf8), order42, noJid]) assert.notInclude(left, gone)
          assert.includeMembers(left, [neighbour(1), neighbour(2), neighbour(100), neighbour(249)])
        }),
      ),
    )
  }, 30_000)
})

describe("verk jobs by entry reference", () => {
  let server: RedisServer
  let redis: Redis
  beforeAll(async () => {
    server = await startRedisServer()
    redis = new Redis(server.url)
  })
  afterAll(async () => {
    redis.disconnect()
    await server.stop()
  })

  it("deletes each awkward entry alone and retries the one that can run", async () => {
    const namespace = uniqueNamespace()
    const env = { REDIS_URL: server.url, VERK_NAMESPACE: namespace }
    const dead = `${namespace}:dead`
    const seeded = members()
    for (const { member, score } of seeded) await redis.zadd(dead, String(score), member)
    const [, binary, order, missing] = seeded.map(refOf) as [string, string, string, string, string]

    const cannotRun = await verk(["jobs", "retry", binary, "--set", "dead"], env)
    assert.strictEqual(cannotRun.code, 1)
    assert.strictEqual(await redis.zcard(dead), 5)

    const retried = await verk(["jobs", "retry", order], env)
    assert.strictEqual(retried.code, 0, retried.stderr)
    assert.strictEqual(retried.stdout.trim(), "retried 1 job (1 from dead)")
    assert.strictEqual(
      JSON.parse((await redis.lrange(`${namespace}:queue:billing`, "0", "-1"))[0] ?? "{}").jid,
      "order 42",
    )

    for (const [ref, member] of [
      [binary, notUtf8],
      [missing, Buffer.from(noJid)],
    ] as const) {
      const deleted = await verk(["jobs", "delete", ref], env)
      assert.strictEqual(deleted.code, 0, deleted.stderr)
      assert.strictEqual(deleted.stdout.trim(), "deleted 1 job (1 from dead)")
      assert.isNull(await redis.zscore(dead, member))
    }
    assert.sameMembers(await redis.zrange(dead, "0", "-1"), [neighbour(1), neighbour(2)])
    const gone = await verk(["jobs", "delete", binary], env)
    assert.strictEqual(gone.code, 1)
    assert.include(gone.stderr, binary)
  }, 60_000)
})
