/**
 * Outages a person can read: a node whose Redis stops for a few seconds and comes back logs one
 * line per loop (and per connection) when Redis goes away and one when it is back, not a line per
 * try (its loops try several times a second with these settings: polls every 200 ms, heartbeats
 * every 300 ms, commands failing after 500 ms offline).
 */
import { describe, expect, it, onTestFinished } from "vitest"
import { startRedisServer } from "../support/redisServer.ts"
import { adminClient, sleep, waitUntil, withWorkers } from "./support.ts"

const DownMillis = 3_000

/** The distinct subjects of `lines` (what comes before `marker`), and how often each appears. */
const subjects = (lines: ReadonlyArray<string>, pattern: RegExp): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const line of lines) {
    const subject = pattern.exec(line)?.[1]
    if (subject !== undefined) counts.set(subject, (counts.get(subject) ?? 0) + 1)
  }
  return counts
}

describe("Redis away for a few seconds", () => {
  it("each loop and connection logs once when it goes and once when it is back", async () => {
    const workers = withWorkers()
    let server = await startRedisServer()
    const port = server.port
    onTestFinished(() => server.stop())
    const admin = adminClient(server.url)
    onTestFinished(() => admin.disconnect())

    const worker = workers.spawn({
      url: server.url,
      queues: "default:5,mail:5",
      extra: { VERK_REDIS_OFFLINE_TIMEOUT: "500ms" },
    })
    const nodeId = await worker.ready()
    await waitUntil("the heartbeat", async () => (await admin.exists(`verk:node:${nodeId}`)) === 1, 5_000)
    const before = worker.output().length

    await server.stop()
    await sleep(DownMillis)
    server = await startRedisServer({ port })
    // Back: the node heartbeats on the new server, and its loops say they work again.
    await waitUntil(
      "the heartbeat on the new server",
      async () => (await admin.exists(`verk:node:${nodeId}`)) === 1,
      10_000,
    )
    // Every loop that reported the store away reports it back (a fetch from an idle queue tries
    // again when woken, the others on their own schedule), and the command connection is back. A
    // loop whose command was in flight when Redis stopped may see no failure at all (ioredis sends
    // it again after the reconnect): which loops report is a matter of timing, how often is not.
    const since = () => worker.output().slice(before)
    await waitUntil(
      "every loop that reported the store away to report it back",
      async () => {
        const away = subjects(since().split("\n"), /(?:\): |message=")(.+?) failed, the store seems away/)
        const back = subjects(since().split("\n"), /(?:\): |message=")(.+?) works again: the store is back/)
        const returned = subjects(since().split("\n"), /Redis (\w+) connection is back/)
        return returned.has("command") && [...away.keys()].every((subject) => back.has(subject))
      },
      15_000,
      20,
      async () => since(),
    )

    const lines = worker
      .output()
      .slice(before)
      .split("\n")
      .filter((line) => line.trim() !== "")
    console.log(`${lines.length} lines logged over a ${DownMillis} ms outage:\n${lines.join("\n")}`)
    const away = subjects(lines, /(?:\): |message=")(.+?) failed, the store seems away/)
    const back = subjects(lines, /(?:\): |message=")(.+?) works again: the store is back/)
    const lost = subjects(lines, /Redis (\w+) connection lost/)
    const returned = subjects(lines, /Redis (\w+) connection is back/)
    expect(
      [...away.values()].every((count) => count === 1),
      `away: ${JSON.stringify([...away])}`,
    ).toBe(true)
    expect(
      [...back.values()].every((count) => count === 1),
      `back: ${JSON.stringify([...back])}`,
    ).toBe(true)
    expect(
      [...lost.values()].every((count) => count === 1),
      `lost: ${JSON.stringify([...lost])}`,
    ).toBe(true)
    expect(
      [...returned.values()].every((count) => count === 1),
      `returned: ${JSON.stringify([...returned])}`,
    ).toBe(true)
    expect(lost.get("command")).toBe(1)
    expect(returned.get("command")).toBe(1)
    // Every line is one of those, or a one-off (resubscribed, woken): nothing repeats per try.
    expect(lines.length, "a bounded number of lines, whatever the number of tries").toBeLessThanOrEqual(
      away.size + back.size + lost.size + returned.size + 6,
    )

    worker.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
  }, 60_000)
})
