/**
 * The ioredis state Connection.ts and ClusterRedirects.ts read beyond ioredis's documented API,
 * all of it here: fields its typings mark `@ignore` or that wrap private ones. Checked against ioredis 6.0.0
 * (`CheckedVersion`); packages/redis/test/IoredisInternals.test.ts fails when the installed
 * version differs or these fields change shape, so an upgrade is looked at before it is trusted.
 */
import type { Cluster, Command, Redis } from "ioredis"

/** The ioredis version these reads were checked against. */
export const CheckedVersion = "6.0.0"

/** Commands written to the socket whose replies have not come yet (`commandQueue`, a Denque). */
export const awaitingReplies = (client: Redis): number => client.commandQueue.length

/** Commands held for the next auto-pipeline (`autoPipelineQueueSize`, a sum over `_autoPipelines`). */
export const autoPipelined = (client: Redis): number => client.autoPipelineQueueSize

/**
 * Corks the connection's socket (`stream`, a net.Socket or tls.TLSSocket): writes are held until
 * the returned function uncorks it.
 */
export const corkSocket = (client: Redis): (() => void) => {
  const stream = client.stream
  stream.cork()
  return () => stream.uncork()
}

/** What a client's offline queue holds: commands waiting for a connection (Deque items). */
export interface OfflineQueue {
  readonly length: number
  shift(): { readonly command: Command } | undefined
  push(item: { readonly command: Command }): void
}

/**
 * Commands issued while the client has no ready connection, sent once it has one (`offlineQueue`,
 * a Denque of `{ command, stream, select }`, or `{ command, stream, node }` on a Cluster; private).
 */
export const offlineQueue = (client: Redis | Cluster): OfflineQueue =>
  (client as unknown as { readonly offlineQueue: OfflineQueue }).offlineQueue

/** The INFO fields ioredis's ready check hands its connector (parsed `INFO`, `role` among them). */
export type ReadyInfo = { readonly role?: string } & { readonly [field: string]: unknown }

/**
 * Adds a test to the ready check that ioredis runs on every (re)connect before the connection is
 * ready (`connector.check(info)`, private; SentinelConnector compares `info.role`): a refusal makes
 * ioredis drop that server and connect again, so nothing waiting is ever sent to it.
 */
export const guardReadyCheck = (
  client: Redis,
  accepts: (info: ReadyInfo, check: (info: ReadyInfo) => boolean) => boolean,
): void => {
  const connector = (client as unknown as { readonly connector: { check: (info: ReadyInfo) => boolean } }).connector
  const check = connector.check.bind(connector)
  connector.check = (info) => accepts(info, check)
}
/**
 * The Cluster's connection to the primary at `host:port`, made if the Cluster has none yet
 * (`connectionPool.findOrCreate`, which ioredis's own MOVED and ASK handling calls): a redirect may
 * name a node the Cluster has not seen, or still knows as a replica.
 */
export const clusterNode = (cluster: Cluster, host: string, port: number): Redis =>
  (
    cluster as unknown as {
      readonly connectionPool: { findOrCreate(node: { host: string; port: number }, readOnly?: boolean): Redis }
    }
  ).connectionPool.findOrCreate({ host, port }, false)
