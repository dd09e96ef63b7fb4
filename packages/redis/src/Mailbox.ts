/**
 * A stream fed from callbacks (a subscription's), for one reader: see `make`.
 */
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Stream from "effect/Stream"

/**
 * The events of a subscription, for one reader. They arrive in ioredis's callbacks; a reader
 * waiting for them resumes right there, in the same turn of the event loop (an Effect `Queue`
 * would hand them over a turn later, through the scheduler): an idle queue's wake-up, and so its
 * fetch, is not delayed by a hop per message. Unbounded, like the queue it replaces: notifications
 * are small, and their reader takes them all at once.
 */
export const make = <A>() => {
  let buffered: Array<A> = []
  let ended = false
  let reader: ((pull: Pull.Pull<Arr.NonEmptyReadonlyArray<A>>) => void) | undefined
  const takeAll = (): Arr.NonEmptyReadonlyArray<A> | undefined => {
    if (!Arr.isArrayNonEmpty(buffered)) return undefined
    const taken = buffered
    buffered = []
    return taken
  }
  const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<A>> = Effect.callback((resume) => {
    const taken = takeAll()
    if (taken !== undefined) return resume(Effect.succeed(taken))
    if (ended) return resume(Cause.done())
    reader = resume
    return Effect.sync(() => {
      if (reader === resume) reader = undefined
    })
  })
  const wake = (pull: Pull.Pull<Arr.NonEmptyReadonlyArray<A>>) => {
    const resume = reader
    reader = undefined
    resume?.(pull)
  }
  return {
    offer: (event: A): void => {
      if (ended) return
      buffered.push(event)
      if (reader !== undefined) wake(Effect.succeed(takeAll()!))
    },
    end: (): void => {
      ended = true
      if (buffered.length === 0) wake(Cause.done())
    },
    stream: Stream.fromPull(Effect.succeed(pull)),
  }
}
