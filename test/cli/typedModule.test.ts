/**
 * A worker module written with `Verk.module` (its type is checked in typedModule.types.ts): `verk run`
 * takes its workers and its layer from the default export, and nothing else from the module.
 */
import { assert as effectAssert, it as effectIt } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { afterEach, describe, expect, it } from "vitest"
import { load } from "../../packages/node/src/cli/run.ts"
import { deleteNamespace, redisUrl, uniqueNamespace } from "../support/redis.ts"
import { fixture, startVerk, verk } from "./support.ts"

const namespaces: Array<string> = []
afterEach(async () => {
  for (const namespace of namespaces.splice(0)) await deleteNamespace(redisUrl(), namespace)
})

describe("verk run: a Verk.module default export", () => {
  effectIt.effect("load takes the module's workers and layer, not the other exports", () =>
    Effect.gen(function* () {
      const { workers, layer } = yield* load(fixture("typedModule.ts"))
      effectAssert.deepStrictEqual(
        workers.map((worker) => worker.name),
        ["ShipOrder", "Ping"],
      )
      effectAssert.isTrue(Layer.isLayer(layer))
      const exported = (yield* Effect.promise(() => import("./fixtures/typedModule.ts"))) as Record<string, unknown>
      effectAssert.strictEqual(layer, (exported.default as { readonly layer: unknown }).layer)
      effectAssert.notStrictEqual(layer, exported.layer)
    }),
  )

  it("runs a job with the service of the module's layer; SIGTERM closes the layer", async () => {
    const namespace = uniqueNamespace()
    namespaces.push(namespace)
    const env = {
      REDIS_URL: redisUrl(),
      VERK_NAMESPACE: namespace,
      VERK_POLL_INTERVAL: "200ms",
      VERK_HEARTBEAT_INTERVAL: "500ms",
      VERK_SHUTDOWN_TIMEOUT: "2s",
    }
    const worker = startVerk(["run", "test/cli/fixtures/typedModule.ts"], env)
    await worker.waitFor("worker process ready")
    expect(worker.stdout()).toContain("running ShipOrder, Ping from test/cli/fixtures/typedModule.ts")
    expect(worker.stdout()).toContain("orders: connected")
    expect(worker.stdout()).not.toContain("the named layer export was built")

    const enqueued = await verk(
      ["enqueue", "ShipOrder", '["order-7"]', "--module", "test/cli/fixtures/typedModule.ts"],
      env,
    )
    expect(enqueued.code).toBe(0)
    await worker.waitFor("shipped: shipment of order-7")

    worker.child.kill("SIGTERM")
    expect((await worker.exited).code).toBe(0)
    expect(worker.stdout()).toContain("orders: disconnected")
    expect(worker.stderr()).toBe("")
    const stats = await verk(["stats"], env)
    expect(stats.stdout).toContain("processed 1  failed 0")
  })
})
