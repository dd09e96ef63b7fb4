/**
 * What a one-queue pool reads ahead (see Pool.ts): jobs fetched beyond its free slots, in progress
 * in the store like any fetched job, each started in the next slot to free; and how many more it
 * may take, from how long its runs took lately and how large their payloads were.
 */
import type { InProgressJob } from "../Store.ts"

/** Pools whose runs average under this long read ahead: a job read ahead waits about one run. */
export const RunMillis = 20

/**
 * Payload bytes read ahead at most, and taken by one fetch at most (by the recent average size), so
 * that large jobs' replies stay small.
 */
export const Bytes = 1024 * 1024

/** A job read ahead, and the queue of the pool it came from. */
export interface Held<Owner> {
  readonly owner: Owner
  readonly job: InProgressJob
}

export class ReadAhead<Owner> {
  /** At most this many jobs (the pool's concurrency; 0 for a pool that never reads ahead). */
  readonly limit: number
  /** The jobs held, oldest first. */
  private readonly jobs: Array<Held<Owner>> = []
  /** Moving averages of the runs' time (unknown until one has ended) and of payload sizes. */
  private runMillis = Number.POSITIVE_INFINITY
  private bytes = 0
  constructor(limit: number) {
    this.limit = limit
  }

  /**
   * How many jobs a fetch may read ahead now. None until half the room is free: refilling after
   * each start would cost a fetch per job where jobs end one callback at a time (jobs on I/O).
   */
  room(): number {
    if (!(this.runMillis < RunMillis)) return 0
    const cap = Math.min(this.limit, this.withinBytes())
    const room = cap - this.jobs.length
    return room > 0 && room >= cap / 2 ? room : 0
  }

  /** How many jobs one fetch may take, by the recent average payload size (at least one). */
  perFetch(): number {
    return Math.max(1, this.withinBytes())
  }

  /** How many jobs of the recent average size `Bytes` holds. */
  private withinBytes(): number {
    return Math.floor(Bytes / Math.max(1, this.bytes))
  }

  /** A run ended after `millis`. */
  ran(millis: number): void {
    this.runMillis = this.runMillis === Number.POSITIVE_INFINITY ? millis : (this.runMillis * 15 + millis) / 16
  }

  /** A job was fetched (held or not): its size counts. */
  fetched(job: InProgressJob): void {
    this.bytes = (this.bytes * 15 + job.raw.length) / 16
  }

  /** The jobs held, oldest first. */
  get held(): ReadonlyArray<Held<Owner>> {
    return this.jobs
  }

  /** Holds `job` until a slot frees. */
  hold(owner: Owner, job: InProgressJob): void {
    this.jobs.push({ owner, job })
  }

  /** The oldest job held, no longer held; undefined when none is. */
  next(): Held<Owner> | undefined {
    return this.jobs.shift()
  }

  /** Lets go of every job held; returns their fetch tokens, oldest first. */
  clear(): Array<string> {
    const tokens = this.jobs.map(({ job }) => job.token)
    this.jobs.length = 0
    return tokens
  }
}
