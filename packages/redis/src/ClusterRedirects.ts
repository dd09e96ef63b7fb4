/**
 * Commands on a Redis Cluster, each sent on the connection of the primary that owns its slot, and
 * sent again, on its own, while the Cluster answers that it did not run it:
 *
 * - `MOVED` (the slot has a new owner, after a failover or a finished migration): at once to the
 *   node it names, and the Cluster's slot map is read again;
 * - `ASK` (the slot is being migrated and the command's keys are gone from the source): at once to
 *   the target, after `ASKING`;
 * - `TRYAGAIN` (a migrating slot whose keys are split between the two nodes: a queue's script
 *   cannot run until the migration ends) and `CLUSTERDOWN` or a closed connection (a failover):
 *   again after a pause that doubles up to a quarter of a second.
 *
 * A command tries for `waitMillis` at most (the connection's `offlineTimeout`), then fails: with
 * `SlotMoving` when its slot was still being migrated, else with the Cluster's last answer. None
 * of this holds up another command: ioredis's auto-pipelines (one per node, one at a time, a
 * redirected one resent whole) stalled every queue of a node while one slot moved, did not follow
 * redirects for a pipeline mixing replies (redis/ioredis#2075), and refused pipelines whose slots
 * one redirect had split (`All keys in the pipeline should belong to the same slots allocation
 * group`). Here each command goes out on its own; the commands of one turn still leave in one write.
 *
 * A command that is sent again may have run (a connection closed after it was written): every
 * write of the store is safe to repeat, as after ioredis's own resends (tokens, see the README).
 */
import * as Data from "effect/Data"
import { type Cluster, Command, type Redis } from "ioredis"
import * as IoredisInternals from "./IoredisInternals.ts"

/** A command's slot stayed in migration (ASK or TRYAGAIN) for as long as the command could wait. */
export class SlotMoving extends Data.TaggedError("SlotMoving")<{
  readonly slot: number
  readonly waitedMillis: number
  /** The Cluster's last answer. */
  readonly reply: string
}> {
  override get message() {
    return `Redis Cluster slot ${this.slot} is being migrated: the command did not run within ${this.waitedMillis} ms (last answer: ${this.reply})`
  }
}

/** The first pause before a command is sent again, and the longest. */
const FirstPauseMillis = 10
const LongestPauseMillis = 250
/** Redirects (MOVED, ASK) followed at once before a pause: more mean the slot map is in flux. */
const ImmediateHops = 3

/** What the Cluster answered instead of running a command. */
type NotRun =
  | { readonly kind: "moved" | "ask"; readonly host: string; readonly port: number }
  | { readonly kind: "tryagain" | "down" }

const Redirect = /^(MOVED|ASK) \d+ (\S+):(\d+)/
const Later = /^(TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN)\b|^Connection is closed\./

const notRun = (error: unknown): NotRun | undefined => {
  if (!(error instanceof Error)) return undefined
  const redirect = Redirect.exec(error.message)
  if (redirect !== null) {
    const [, kind, host = "", port] = redirect
    return { kind: kind === "ASK" ? "ask" : "moved", host, port: Number(port) }
  }
  const later = Later.exec(error.message)
  if (later === null) return undefined
  return { kind: later[1] === "TRYAGAIN" ? "tryagain" : "down" }
}

/** The connection of the primary the Cluster last saw owning `slot` (any primary for no slot). */
const ownerOf = (cluster: Cluster, slot: number | null): Redis | undefined => {
  const masters = cluster.nodes("master")
  if (slot === null) return masters[0]
  const owner = cluster.slots[slot]?.[0]
  return masters.find(({ options }) => `${options.host}:${options.port}` === owner)
}

/**
 * Sockets corked until the end of the turn: the commands issued in one turn on one connection go
 * out in one write, as auto-pipelining batched them, without waiting for a later turn.
 */
const corked = new WeakSet<Redis>()
const corkForTurn = (node: Redis): void => {
  if (corked.has(node) || node.status !== "ready") return
  corked.add(node)
  const uncork = IoredisInternals.corkSocket(node)
  process.nextTick(() => {
    corked.delete(node)
    uncork()
  })
}

const write = (node: Redis, command: Command, asking: boolean): Promise<unknown> => {
  corkForTurn(node)
  // ASKING holds for the next command on the connection: written just before it, in the same turn.
  if (asking) node.asking().catch(() => {})
  return node.sendCommand(command) as Promise<unknown>
}

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/**
 * Sends `command` to the primary of its keys' slot on `cluster`, following redirects and waiting
 * out migrations and failovers for up to `waitMillis` (see the module's comment).
 */
export const send = async (
  cluster: Cluster,
  command: string,
  args: ReadonlyArray<string | number | Buffer>,
  replyEncoding: "utf8" | null,
  waitMillis: number,
): Promise<unknown> => {
  const keyPrefix = cluster.options.keyPrefix
  const options = { replyEncoding, ...(keyPrefix === undefined ? {} : { keyPrefix }) }
  // A Command settles once: each try sends a new one (the first also gives the slot).
  let next: Command | undefined = new Command(command, [...args], options)
  const slot = next.getSlot()
  const started = Date.now()
  let redirect: { readonly node: Redis; readonly asking: boolean } | undefined
  let pause = FirstPauseMillis
  let hops = 0
  let last: { readonly error: unknown; readonly moving: boolean } | undefined
  while (true) {
    const node = redirect?.node ?? ownerOf(cluster, slot)
    if (node !== undefined) {
      try {
        const attempt = next ?? new Command(command, [...args], options)
        next = undefined
        return await write(node, attempt, redirect?.asking === true)
      } catch (error) {
        const answer = notRun(error)
        if (answer === undefined) throw error
        last = { error, moving: answer.kind === "ask" || answer.kind === "tryagain" }
        redirect = answer.kind === "moved" || answer.kind === "ask" ? redirectTo(cluster, answer) : undefined
        if (answer.kind === "moved" || answer.kind === "down") cluster.refreshSlotsCache()
        if (redirect !== undefined && ++hops <= ImmediateHops) continue
      }
    } else {
      // A failover under way: the slot's primary is gone and its successor not known yet.
      cluster.refreshSlotsCache()
      redirect = undefined
    }
    const waited = Date.now() - started
    if (waited >= waitMillis) throw givingUp(slot, waited, last)
    // The last try comes at the end of the wait.
    await sleep(Math.min(pause, waitMillis - waited))
    pause = Math.min(pause * 2, LongestPauseMillis)
    hops = 0
  }
}

const redirectTo = (cluster: Cluster, answer: { readonly kind: "moved" | "ask"; host: string; port: number }) => ({
  node: IoredisInternals.clusterNode(cluster, answer.host, answer.port),
  asking: answer.kind === "ask",
})

const givingUp = (
  slot: number | null,
  waited: number,
  last: { readonly error: unknown; readonly moving: boolean } | undefined,
): unknown => {
  if (last === undefined) return new Error(`no known primary serves slot ${slot} of the Redis Cluster`)
  if (!last.moving || slot === null) return last.error
  const reply = last.error instanceof Error ? last.error.message : String(last.error)
  return new SlotMoving({ slot, waitedMillis: waited, reply })
}
