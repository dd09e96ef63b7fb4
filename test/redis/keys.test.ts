import { assert, describe, it } from "@effect/vitest"
import * as Keys from "../../packages/redis/src/Keys.ts"
import * as Slots from "../../packages/redis/src/Slots.ts"

describe("Slots", () => {
  it("is CRC16-XMODEM modulo 16384, as Redis Cluster computes it", () => {
    // CRC16/XMODEM's check value for "123456789" is 0x31C3; "foo" is in slot 12182 (Redis docs).
    assert.strictEqual(Slots.of("123456789"), 0x31c3)
    assert.strictEqual(Slots.of("foo"), 12182)
  })

  it("hashes only a non-empty hash tag, the first {...}", () => {
    assert.strictEqual(Slots.hashed("queue:{mail}"), "mail")
    assert.strictEqual(Slots.hashed("a{}b{c}"), "a{}b{c}")
    assert.strictEqual(Slots.hashed("a{b}{c}"), "b")
    assert.strictEqual(Slots.hashed("no-tag{"), "no-tag{")
    assert.strictEqual(Slots.of("{user1000}.following"), Slots.of("{user1000}.followers"))
  })
})

describe("Keys", () => {
  it("Sidekiq's scheme: plain names, one sorted set per name", () => {
    const keys = Keys.make("app")
    assert.strictEqual(keys.queue("mail"), "app:queue:mail")
    assert.strictEqual(keys.inProgress("mail", "n1"), "app:inprogress:mail:n1")
    assert.strictEqual(keys.set("retry", "mail"), "app:retry")
    assert.strictEqual(keys.queues, "app:queues")
    assert.strictEqual(keys.recovered("mail"), "app:verk:recovered")
    assert.strictEqual(keys.stat("processed", "2026-11-29"), "app:stat:processed:2026-11-29")
    // Sidekiq 7.x's metrics keys: hour and minute unpadded in the hash, day and hour padded in the histogram.
    const at = Date.UTC(2026, 11, 7, 7, 5)
    assert.strictEqual(keys.metricsMinute(at), "app:j|20261207|7:5")
    assert.strictEqual(keys.metricsHistogram("HardJob", at), "app:HardJob-07-07:5")
    assert.strictEqual(keys.metricsMinute(Date.UTC(2026, 0, 31, 23, 59)), "app:j|20260131|23:59")
  })

  it("the cluster scheme: a queue's keys share one slot, and the shared registries another", () => {
    const keys = Keys.make("app", "cluster")
    const queueKeys = [
      keys.queue("mail"),
      keys.inProgress("mail", "n1"),
      keys.set("schedule", "mail"),
      keys.set("retry", "mail"),
      keys.set("dead", "mail"),
      keys.recovered("mail"),
      keys.enqueueToken("mail", "t"),
    ]
    assert.deepStrictEqual(
      queueKeys.map(Slots.of),
      queueKeys.map(() => Slots.of("mail")),
    )
    const shared = [
      keys.queues,
      keys.homes,
      keys.nodes,
      keys.node("n1"),
      keys.nodeQueues("n1"),
      keys.processes,
      keys.process("n1"),
      keys.processWork("n1"),
      keys.processWorkers("n1"),
      keys.paused,
      keys.stat("processed"),
      keys.stat("failed", "2026-11-29"),
      keys.statsToken("t"),
      keys.metricsMinute(Date.UTC(2026, 11, 7, 7, 5)),
      // A class name with braces of its own keeps the shared slot: `{verk}` comes first.
      keys.metricsHistogram("Billing::{Invoice}", Date.UTC(2026, 11, 7, 7, 5)),
    ]
    assert.deepStrictEqual(
      shared.map(Slots.of),
      shared.map(() => Slots.of("verk")),
    )
    assert.notStrictEqual(Slots.of(keys.queue("mail")), Slots.of(keys.queue("reports")))
    for (const key of [...queueKeys, ...shared]) assert.isTrue(key.startsWith("app:"), key)
  })

  it("a job's result: verk:result:<jid>, in the cluster scheme in the slot of its jid", () => {
    assert.strictEqual(Keys.make("app").result("j1"), "app:verk:result:j1")
    assert.strictEqual(Keys.make(undefined).result("j1"), "verk:result:j1")
    const cluster = Keys.make("app", "cluster")
    assert.strictEqual(cluster.result("j1"), "app:verk:result:{j1}")
    assert.strictEqual(Slots.of(cluster.result("j1")), Slots.of("j1"))
  })

  it("a set member's home is the queue its job names, or default", () => {
    assert.strictEqual(Keys.homeOf('{"class":"X","queue":"mail","args":[]}'), "mail")
    assert.strictEqual(Keys.homeOf('{"class":"X","args":[]}'), "default")
    assert.strictEqual(Keys.homeOf('{"queue":"a b"}'), "default")
    assert.strictEqual(Keys.homeOf('{"queue":"{x}"}'), "default")
    assert.strictEqual(Keys.homeOf("not json"), "default")
  })
})
