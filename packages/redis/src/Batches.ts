/**
 * The client's side of fetches that take jobs whole (fetch.lua, ARGV[7]): whether a queue's
 * payloads are large enough for it, and which batch list each job so taken is in, so that the
 * write of its outcome (ack, retry, kill, snooze) counts that batch down and the last one deletes
 * the list. A job taken whole costs Redis no Lua copy of its payload (about 1.2 ns a byte); small
 * payloads go the usual way, whose one reply costs less than a list made and deleted per fetch.
 */
import type { Settled } from "./Scripts.ts"

/** A queue's fetches take jobs whole while its recent payloads average this many bytes or more. */
export const WholeBytes = 2048

export interface Batches {
  /** Whether a fetch of `queue` takes its jobs whole. */
  readonly whole: (queue: string) => boolean
  /** Payloads fetched from `queue`: their sizes count towards `whole`. */
  readonly fetched: (queue: string, payloads: ReadonlyArray<Uint8Array>) => void
  /** `count` jobs of `queue` were taken whole into `batch`, under tokens `first`, `first + 1`... */
  readonly opened: (queue: string, node: string, batch: string, first: number, count: number) => void
  /** A job's token with its batch list ('' when it was not taken whole), for an outcome's script. */
  readonly of: (queue: string, node: string, token: string) => Settled
  /** The outcomes of these jobs are written: their batches are no longer theirs to count down. */
  readonly done: (queue: string, node: string, tokens: ReadonlyArray<string>) => void
  /** Every batch of `queue` on `node` was put back (materialized and deleted by a script). */
  readonly forget: (queue: string, node: string) => void
}

export const make = (): Batches => {
  // Moving average of payload sizes per queue.
  const sizes = new Map<string, number>()
  // One entry per job taken whole and not yet settled: at most the node's jobs in progress.
  const lists = new Map<string, string>()
  const entry = (queue: string, node: string, token: string) => `${queue}\u0000${node}\u0000${token}`
  return {
    whole: (queue) => (sizes.get(queue) ?? 0) >= WholeBytes,
    fetched: (queue, payloads) => {
      let size = sizes.get(queue)
      for (const { length } of payloads) size = size === undefined ? length : (size * 7 + length) / 8
      if (size !== undefined) sizes.set(queue, size)
    },
    opened: (queue, node, batch, first, count) => {
      for (let k = 0; k < count; k++) lists.set(entry(queue, node, String(first + k)), batch)
    },
    of: (queue, node, token) => [token, lists.get(entry(queue, node, token)) ?? ""],
    done: (queue, node, tokens) => {
      for (const token of tokens) lists.delete(entry(queue, node, token))
    },
    forget: (queue, node) => {
      const prefix = entry(queue, node, "")
      for (const key of lists.keys()) if (key.startsWith(prefix)) lists.delete(key)
    },
  }
}
