/**
 * Acceptance: shared pools in settings. In code, `pools` takes an array (strict order) or a record
 * (weights); in VERK_QUEUES, `a>b>c:n` is one pool in strict order and `a*3+b*1:n` one pool by
 * weight, beside `name[:n]` entries of their own. A queue served by two pools, a bad weight or a
 * mixed entry is refused with an error that states the grammar.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as Settings from "../../packages/core/src/Settings.ts"

const fromEnv = (queues: string) =>
  Settings.config.pipe(
    Effect.provide(ConfigProvider.layer<never, never>(ConfigProvider.fromEnv({ env: { VERK_QUEUES: queues } }))),
  )

describe("VERK_QUEUES with pools", () => {
  it.effect("a>b>c:n is one strict pool, a*3+b:n one weighted pool (a missing *w is 1), name[:n] its own", () =>
    Effect.gen(function* () {
      const config = yield* fromEnv("critical>default>low:20, mail:5, reports*3+exports:4, misc")
      assert.deepStrictEqual(config.queues, { mail: 5, misc: 25 })
      assert.deepStrictEqual(config.pools, [
        { name: "critical>default>low", queues: ["critical", "default", "low"], weights: undefined, concurrency: 20 },
        { name: "reports*3+exports", queues: ["reports", "exports"], weights: [3, 1], concurrency: 4 },
      ])
      assert.deepStrictEqual(
        Settings.allPools(config).map((pool) => pool.name),
        ["mail", "misc", "critical>default>low", "reports*3+exports"],
      )
    }),
  )

  it.effect("a pool without :n gets 25 slots", () =>
    Effect.gen(function* () {
      const config = yield* fromEnv("a>b")
      assert.deepStrictEqual(config.pools, [{ name: "a>b", queues: ["a", "b"], weights: undefined, concurrency: 25 }])
      assert.deepStrictEqual(config.queues, {})
    }),
  )

  const refused: ReadonlyArray<readonly [string, string]> = [
    ["a>b:5,b:3", 'queue b is served by pools "b" and "a>b"'],
    ["a>b:5,b*2+c:3", "queue b is served by pools"],
    ["a:5,a:3", "queue a is listed twice"],
    ["a>a:5", "names a queue twice"],
    ["a*2+a:5", "names queue a twice"],
    ["a>b*2:5", 'mixes ">" (strict order) with "+" or "*" (weights)'],
    ["a*0+b:5", "0 is not a weight"],
    ["a*x+b:5", '"x" is not a weight'],
    ["a**2+b", 'has more than one "*"'],
    ["a>>b:5", '"" is not a queue name'],
    ["a>b:0", "0 is not a concurrency"],
    ["a>b:5:6", 'has more than one ":"'],
  ]
  for (const [text, reason] of refused) {
    it.effect(`VERK_QUEUES=${text} is refused: ${reason}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(fromEnv(text))
        assert.include(error.message, reason)
        assert.include(error.message, Settings.QueuesRule, "the error states the grammar")
      }),
    )
  }
})

describe("pools in code", () => {
  it("an array is a strict order, a record weights; names default to a>b and a*3+b*1; queues default to none", () => {
    const settings = Settings.make({
      pools: [
        { queues: ["critical", "default", "low"], concurrency: 25 },
        { name: "reports", queues: { reports: 3, exports: 1 }, concurrency: 10 },
      ],
    })
    assert.deepStrictEqual(settings.queues, {}, "given pools and no queues, no default queue")
    assert.deepStrictEqual(settings.pools, [
      { name: "critical>default>low", queues: ["critical", "default", "low"], weights: undefined, concurrency: 25 },
      { name: "reports", queues: ["reports", "exports"], weights: [3, 1], concurrency: 10 },
    ])
    assert.deepStrictEqual(Settings.make({}).pools, [])
    assert.strictEqual(Settings.make({ pools: [{ queues: { a: 3, b: 1 }, concurrency: 1 }] }).pools[0]?.name, "a*3+b*1")
  })

  it("resolved settings given back as input keep their pools, weights included (as `verk run` does)", () => {
    const resolved = Settings.make({ pools: [{ queues: { a: 3, b: 1 }, concurrency: 2 }] })
    assert.deepStrictEqual(Settings.make(resolved).pools, resolved.pools)
    assert.deepStrictEqual(resolved.pools[0]?.weights, [3, 1])
  })

  it("a queue served by two pools, or by a pool and `queues`, throws InvalidSetting", () => {
    assert.throws(
      () => Settings.make({ queues: { default: 5 }, pools: [{ queues: ["critical", "default"], concurrency: 5 }] }),
      /Invalid setting pools: queue default is served by pools "default" and "critical>default"/,
    )
    assert.throws(
      () =>
        Settings.make({
          pools: [
            { queues: ["a", "b"], concurrency: 5 },
            { queues: { b: 1, c: 2 }, concurrency: 5 },
          ],
        }),
      /queue b is served by pools/,
    )
    assert.throws(
      () =>
        Settings.make({
          pools: [
            { name: "p", queues: ["a"], concurrency: 5 },
            { name: "p", queues: ["b"], concurrency: 5 },
          ],
        }),
      /two pools are named "p"/,
    )
  })

  it("bad pools throw InvalidSetting naming what is wrong", () => {
    assert.throws(() => Settings.make({ pools: [{ queues: [], concurrency: 5 }] }), /serves no queue/)
    assert.throws(() => Settings.make({ pools: [{ queues: ["a", "a"], concurrency: 5 }] }), /names a queue twice/)
    assert.throws(() => Settings.make({ pools: [{ queues: { a: 0 }, concurrency: 5 }] }), /0 is not a weight/)
    assert.throws(() => Settings.make({ pools: [{ queues: { a: 1.5 }, concurrency: 5 }] }), /1.5 is not a weight/)
    assert.throws(() => Settings.make({ pools: [{ queues: ["a b"], concurrency: 5 }] }), /"a b" is not a queue name/)
    assert.throws(() => Settings.make({ pools: [{ queues: ["a"], concurrency: 0 }] }), /0 is not a concurrency/)
  })
})
