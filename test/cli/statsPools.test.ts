/**
 * Acceptance: a `verk run` node with shared pools in VERK_QUEUES (`critical>default:4` strict,
 * `reports*3+exports:2` weighted, `mail:2` a queue of its own) lists them in its heartbeat, and
 * `verk stats` shows them: `--json` has each node's pools (name, queues, weights, slots), the table
 * shows the node's queues pool by pool and a table of its shared pools. A bad VERK_QUEUES is refused
 * with the grammar.
 */
import { Schema } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { QueuesRule } from "../../packages/core/src/Settings.ts"
import { StatsDocument } from "../../packages/node/src/cli/stats.ts"
import { uniqueNamespace } from "../support/redis.ts"
import { type RedisServer, startRedisServer } from "../support/redisServer.ts"
import { quickEnv, startVerk, verk } from "./support.ts"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server.stop()
})

const environment = () => quickEnv(server.url, uniqueNamespace())

describe("verk stats with pools", () => {
  it("--json lists each node's pools; the table shows them", { timeout: 30_000 }, async () => {
    const env = environment()
    const worker = startVerk(["run", "test/examples/workers.ts"], {
      ...env,
      VERK_QUEUES: "critical>default:4,mail:2,reports*3+exports:2",
    })
    await worker.waitFor("worker process ready")

    const result = await verk(["stats", "--json"], env)
    assert.strictEqual(result.code, 0, result.stderr)
    const document = Schema.decodeUnknownSync(Schema.fromJsonString(StatsDocument))(result.stdout)
    const [node] = document.nodes
    assert.deepStrictEqual(node?.pools, [
      { name: "mail", queues: ["mail"], weights: null, concurrency: 2 },
      { name: "critical>default", queues: ["critical", "default"], weights: null, concurrency: 4 },
      { name: "reports*3+exports", queues: ["reports", "exports"], weights: [3, 1], concurrency: 2 },
    ])
    assert.deepStrictEqual(node?.queues, ["mail", "critical", "default", "reports", "exports"])
    assert.strictEqual(node?.concurrency, 8)

    const table = await verk(["stats"], env)
    assert.strictEqual(table.code, 0, table.stderr)
    assert.match(
      table.stdout,
      new RegExp(`^\\S+ +\\S+ +${worker.child.pid} +mail,critical>default,reports\\*3\\+exports\\*1 +0/8 +`, "m"),
    )
    assert.match(table.stdout, /^NODE +POOL +QUEUES +ORDER +SLOTS$/m)
    assert.match(table.stdout, /^\S+ +critical>default +critical>default +strict +4$/m)
    assert.match(table.stdout, /^\S+ +reports\*3\+exports +reports\*3\+exports\*1 +weighted +2$/m)
    assert.notMatch(table.stdout, /^\S+ +mail +mail +strict/m, "a queue of its own is no shared pool")
  })

  it("a queue in two pools is refused at start, with the grammar", async () => {
    const result = await verk(["run", "test/examples/workers.ts"], {
      ...environment(),
      VERK_QUEUES: "critical>default:4,default:2",
    })
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, 'VERK_QUEUES="critical>default:4,default:2"')
    assert.include(result.stderr, 'queue default is served by pools "default" and "critical>default"')
    assert.include(result.stderr, QueuesRule)
  })
})
