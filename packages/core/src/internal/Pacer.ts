/**
 * This node's memory of the budgets it found full (Admission.ts), so that the jobs it snoozes
 * come back a budget's worth at a time instead of all at once. Without it, every job over a limit
 * is given the same wait (until a rate window frees a start, or a concurrency limit's `snooze`),
 * so they all return together, a few are admitted and the rest are snoozed again: a deep queue of
 * limited jobs is fetched, refused and written back many times per job. With it, the jobs snoozed
 * for a budget are given return slots one period apart, `SlotShare` limits' worth each, so each
 * job is refused about once or twice. A rate budget's period is its window; a concurrency
 * budget's is how long its runs on this node have held their slot lately (`held`), since a slot
 * frees when a run ends.
 *
 * It only ever delays a job: the store still decides every admission. A window that the store
 * said is full stays full until its oldest start leaves it (other nodes' starts only fill it
 * more), so jobs of that budget are snoozed here without asking the store until then. Per node:
 * nodes sharing a budget pace their own jobs, and the store arbitrates between them.
 */

/** One budget's pacing: when its window frees up, and the return slot being filled. */
interface Pace {
  /** A rate window known full until then (epoch ms); 0 for a concurrency budget. */
  fullUntil: number
  /** When the jobs of the slot being filled come back (epoch ms). */
  slotAt: number
  /** Jobs given that slot so far. */
  inSlot: number
}

/**
 * Jobs given one slot, in limits: more than one limit's worth, so that the window stays full when
 * a slot's jobs start late (the jobs past the limit find it full and try again when the store
 * says it frees, right behind them), at the cost of one more refusal for those.
 */
const SlotShare = 2

/** Budgets remembered before the forgotten ones (their slots are past) are dropped. */
const PruneAbove = 1_024

/** How much a new run's hold weighs in a budget's typical hold (an exponential moving average). */
const HeldWeight = 0.2

export interface Pacer {
  /**
   * How long a budget is still known to be full at `nowMillis`, or undefined when this node does
   * not know it to be.
   */
  readonly fullFor: (key: string, nowMillis: number) => number | undefined
  /** A run on this node held a slot of concurrency budget `key` for `millis`. */
  readonly held: (key: string, millis: number) => void
  /** How long runs on this node have held a slot of `key` lately; undefined before any has. */
  readonly typicalHold: (key: string) => number | undefined
  /**
   * The wait of the next job snoozed for `key`, which is full for `waitMillis` and admits
   * `limit` starts per `periodMillis`: slots from then on, one period apart. `rate`: a rate
   * window, known full for `waitMillis`. `told`: the store said so just now (not this pacer). A
   * window the store says frees up before the slots given so far is what a job back from its
   * slot finds when the starts before it came late: it tries again when the store says, rather
   * than behind every job paced since.
   */
  readonly snoozed: (options: {
    readonly key: string
    readonly nowMillis: number
    readonly waitMillis: number
    readonly limit: number
    readonly periodMillis: number
    readonly rate: boolean
    readonly told: boolean
  }) => number
}

/** A node's pacer: plain synchronous bookkeeping, read and written only from its runs' steps. */
export const make = (): Pacer => {
  const paces = new Map<string, Pace>()
  const holds = new Map<string, number>()
  const prune = (nowMillis: number) => {
    if (paces.size <= PruneAbove) return
    for (const [key, pace] of paces) if (pace.slotAt <= nowMillis && pace.fullUntil <= nowMillis) paces.delete(key)
  }
  return {
    fullFor: (key, nowMillis) => {
      const fullUntil = paces.get(key)?.fullUntil ?? 0
      return fullUntil > nowMillis ? fullUntil - nowMillis : undefined
    },
    held: (key, millis) => {
      const typical = holds.get(key)
      if (typical === undefined && holds.size >= PruneAbove) holds.clear()
      holds.set(key, typical === undefined ? millis : typical + HeldWeight * (millis - typical))
    },
    typicalHold: (key) => holds.get(key),
    snoozed: ({ key, nowMillis, waitMillis, limit, periodMillis, rate, told }) => {
      const freeAt = nowMillis + waitMillis
      let pace = paces.get(key)
      if (rate && told && pace !== undefined && freeAt < pace.slotAt) {
        pace.fullUntil = Math.max(pace.fullUntil, freeAt)
        return waitMillis
      }
      if (pace === undefined || pace.slotAt < freeAt) {
        prune(nowMillis)
        pace = { fullUntil: 0, slotAt: freeAt, inSlot: 0 }
        paces.set(key, pace)
      }
      if (rate) pace.fullUntil = Math.max(pace.fullUntil, freeAt)
      const wait = pace.slotAt - nowMillis
      pace.inSlot++
      if (pace.inSlot >= limit * SlotShare) {
        pace.slotAt += Math.max(1, periodMillis)
        pace.inSlot = 0
      }
      return wait
    },
  }
}
