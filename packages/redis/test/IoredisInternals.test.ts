/**
 * Pins what IoredisInternals.ts reads of ioredis's undocumented state: the installed version is the
 * one it was checked against, and on a real connection the fields are there and move as expected.
 * An ioredis upgrade fails here first; check the reads against the new version, then bump
 * `CheckedVersion`.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { Cluster, Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { redisUrl } from "../../../test/support/redis.ts"
import * as IoredisInternals from "../src/IoredisInternals.ts"

const installedVersion = (): string => {
  const manifest = createRequire(import.meta.url).resolve("ioredis/package.json")
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version
}

describe("IoredisInternals", () => {
  const clients: Array<Redis> = []
  const connect = async (enableAutoPipelining: boolean): Promise<Redis> => {
    const client = new Redis(redisUrl(), { lazyConnect: true, enableAutoPipelining })
    clients.push(client)
    await client.connect()
    return client
  }
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect()
  })

  it("was checked against the installed ioredis", () => {
    expect(installedVersion()).toBe(IoredisInternals.CheckedVersion)
  })

  it("finds the private fields, with their types, on a connected client", async () => {
    const client = await connect(true)
    expect(typeof client.commandQueue.length).toBe("number")
    expect(typeof client.autoPipelineQueueSize).toBe("number")
    expect(typeof client.stream.cork).toBe("function")
    expect(typeof client.stream.uncork).toBe("function")
  })

  it("counts an auto-pipelined command until its turn ends", async () => {
    const client = await connect(true)
    expect(IoredisInternals.autoPipelined(client)).toBe(0)
    const reply = client.ping()
    expect(IoredisInternals.autoPipelined(client)).toBe(1)
    expect(await reply).toBe("PONG")
    expect(IoredisInternals.autoPipelined(client)).toBe(0)
  })

  it("counts a written command until its reply comes", async () => {
    const client = await connect(false)
    expect(IoredisInternals.awaitingReplies(client)).toBe(0)
    const reply = client.ping()
    expect(IoredisInternals.awaitingReplies(client)).toBe(1)
    expect(await reply).toBe("PONG")
    expect(IoredisInternals.awaitingReplies(client)).toBe(0)
  })

  it("holds writes while the socket is corked", async () => {
    const client = await connect(false)
    const uncork = IoredisInternals.corkSocket(client)
    expect(client.stream.writableCorked).toBe(1)
    const reply = client.ping()
    uncork()
    expect(client.stream.writableCorked).toBe(0)
    expect(await reply).toBe("PONG")
  })

  it("holds a command issued before the connection is ready in the offline queue, until it is sent", async () => {
    const client = new Redis(redisUrl(), { lazyConnect: true, enableAutoPipelining: false })
    clients.push(client)
    expect(IoredisInternals.offlineQueue(client).length).toBe(0)
    const reply = client.ping()
    const queue = IoredisInternals.offlineQueue(client)
    expect(queue.length).toBe(1)
    const item = queue.shift()
    expect(typeof item?.command.reject).toBe("function")
    if (item !== undefined) queue.push(item)
    expect(await reply).toBe("PONG")
    expect(IoredisInternals.offlineQueue(client).length).toBe(0)
  })

  it("runs the ready check's guard with INFO at every connect, and a refusal holds commands for the next", async () => {
    const client = new Redis(redisUrl(), { lazyConnect: true, retryStrategy: () => 10 })
    clients.push(client)
    const roles: Array<string | undefined> = []
    IoredisInternals.guardReadyCheck(client, (info, check) => {
      roles.push(info.role)
      return roles.length > 1 && check(info)
    })
    const reply = client.ping()
    await client.connect().catch(() => {})
    expect(await reply).toBe("PONG")
    // Refused once (the command waited), then accepted on the next connect.
    expect(roles).toEqual(["master", "master"])
  })

  it("finds or makes a Cluster's connection to a primary, once", () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 7000 }], { lazyConnect: true })
    try {
      const node = IoredisInternals.clusterNode(cluster, "127.0.0.1", 7001)
      expect(node).toBeInstanceOf(Redis)
      expect([node.options.host, node.options.port]).toEqual(["127.0.0.1", 7001])
      expect(cluster.nodes("master")).toContain(node)
      expect(IoredisInternals.clusterNode(cluster, "127.0.0.1", 7001)).toBe(node)
    } finally {
      cluster.disconnect()
    }
  })
})
