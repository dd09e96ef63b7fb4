/**
 * The store's node registry: heartbeats (Verk's node key and Sidekiq's process registry, which
 * Sidekiq's UI reads), the nodes that may hold in-progress jobs, and a node's removal.
 */
import type { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Replies from "./Replies.ts"
import * as Scripts from "./Scripts.ts"
import type { Operations, StoreContext } from "./StoreContext.ts"

const { Integer } = Replies

/** Sidekiq's process registry, as its UI shows it. */
const readProcesses = ({ keys, strings, sendFor }: StoreContext) =>
  Effect.gen(function* () {
    const identities = [...(yield* strings("processes", "SMEMBERS", keys.processes))].sort()
    const entries: Array<Store.ProcessEntry> = []
    for (const identity of identities) {
      const [info, busy, beat, rss] = yield* sendFor(Replies.NullableStrings)(
        "processes",
        "HMGET",
        keys.process(identity),
        "info",
        "busy",
        "beat",
        "rss",
      )
      // The hash expires when beats stop; the set member may linger (Sidekiq's UI skips it too).
      if (info === null || info === undefined) continue
      const work = yield* sendFor(Replies.Strings)("processes", "HGETALL", keys.processWork(identity))
      const pairs: Array<readonly [string, string]> = []
      for (let i = 0; i + 1 < work.length; i += 2) pairs.push([work[i] ?? "", work[i + 1] ?? ""])
      const rssKb = Number(rss ?? 0)
      entries.push({
        identity,
        info,
        busy: Number(busy ?? 0),
        beat: Number(beat ?? 0),
        rss: Number.isFinite(rssKb) && rssKb > 0 ? rssKb : undefined,
        work: pairs,
      })
    }
    return entries
  }).pipe(Effect.withSpan("RedisStore.processes"))

/**
 * Removes `node` from the registries. Sidekiq's scheme looks at the in-progress lists inside the
 * one script (atomically). The cluster's registers nodes per queue, in each queue's slot: the node
 * leaves each queue where it holds nothing first, and the shared registries only if it left them all.
 */
const deregister = ({ keys, scheme, redis, run, strings }: StoreContext) =>
  Effect.fn("RedisStore.deregister")(function* (node: string) {
    const inProgress = scheme.cluster
      ? []
      : (yield* strings("deregister", "SMEMBERS", keys.nodeQueues(node))).map(
          (queue) => [queue, keys.inProgress(queue, node)] as const,
        )
    let keptElsewhere = false
    if (scheme.cluster) {
      for (const queue of yield* scheme.nodeQueues(node)) {
        const left = yield* redis
          .eval(Scripts.deregisterQueue)({ inProgress: keys.inProgress(queue, node), nodes: keys.nodesOf(queue) }, node)
          .pipe(run("deregister", Integer))
        if (left === 0) keptElsewhere = true
      }
    }
    const removed = yield* redis
      .eval(Scripts.deregisterNode)(
        [
          keys.nodes,
          keys.node(node),
          keys.nodeQueues(node),
          keys.processes,
          keys.process(node),
          keys.processWork(node),
          keys.processWorkers(node),
        ],
        node,
        inProgress,
        keptElsewhere,
      )
      .pipe(run("deregister", Integer))
    return removed > 0
  })

export const make: Operations<"heartbeat" | "nodes" | "processes" | "isAlive" | "nodeQueues" | "deregister"> = (
  context,
) => {
  const { keys, scheme, redis, run, count } = context
  return {
    heartbeat: (beat) =>
      redis
        .eval(Scripts.heartbeat)(
          [
            keys.node(beat.node),
            keys.nodes,
            keys.processes,
            keys.process(beat.node),
            keys.processWork(beat.node),
            keys.processWorkers(beat.node),
          ],
          beat.node,
          beat.ttlMillis,
          beat.now / 1000,
          beat.info,
          beat.busy,
          Math.round(beat.rss ?? 0),
          beat.work.flat(),
        )
        .pipe(run("heartbeat", Integer), Effect.asVoid),
    nodes: scheme.nodes,
    processes: readProcesses(context),
    isAlive: (node) => count("isAlive", "EXISTS", keys.node(node)).pipe(Effect.map((found) => found > 0)),
    nodeQueues: scheme.nodeQueues,
    deregister: deregister(context),
  }
}
