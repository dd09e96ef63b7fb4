/**
 * A Verk worker process on a Redis Cluster, for the cluster scale-out phase (clusterScaleOut.ts):
 * verkWorkerMain.ts's worker, with the store on the cluster nodes in BENCH_CLUSTER_NODES
 * (`host:port,host:port,...`; the product reads no cluster setting from the environment) and the
 * runtime's settings from the environment (VERK_QUEUES, ...) as `NodeProcess.run` reads them.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Verk } from "@verk/core"
import { NodeProcess } from "@verk/node"
import { RedisStore } from "@verk/redis"
import { Effect, Layer } from "effect"
import { startReporter } from "./childReport.ts"
import { hooks, NoOp } from "./verkWorkers.ts"

const nodes = (process.env.BENCH_CLUSTER_NODES ?? "")
  .split(",")
  .filter((each) => each !== "")
  .map((each) => {
    const colon = each.lastIndexOf(":")
    return { host: each.slice(0, colon), port: Number(each.slice(colon + 1)) }
  })
if (nodes.length === 0 || nodes.some(({ host, port }) => host === "" || !Number.isInteger(port))) {
  console.error("verkClusterWorkerMain: BENCH_CLUSTER_NODES=host:port,... is required (the bench's private cluster)")
  process.exit(2)
}

hooks.noOp = startReporter()
// `url` only lends credentials with `cluster`; the bench's cluster has none.
const layer = Verk.layerConfig({ workers: [NoOp] }).pipe(
  Layer.provideMerge(RedisStore.layer({ url: "redis://127.0.0.1", cluster: { nodes } })),
)
NodeProcess.serve.pipe(Effect.provide(layer), (main) => NodeRuntime.runMain(main, { teardown: NodeProcess.teardown }))
