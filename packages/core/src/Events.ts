/**
 * What happens in a node, as typed events on one PubSub: jobs starting, reporting progress,
 * finishing, failing and dying, queues running, pausing and paused, dead nodes recovered.
 * Consume them as a Stream.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Job from "./Job.ts"

/** A job started running on this node. */
export class JobStarted extends Data.TaggedClass("JobStarted")<{
  readonly queue: string
  readonly jid: string
  readonly className: string
}> {}

/** A job succeeded and its outcome is written; `durationMillis` from its start. */
export class JobFinished extends Data.TaggedClass("JobFinished")<{
  readonly queue: string
  readonly jid: string
  readonly className: string
  readonly durationMillis: number
}> {}

/** A job failed: it is scheduled to run again at `retryAt`, or (no `retryAt`) it went to dead. */
export class JobFailed extends Data.TaggedClass("JobFailed")<{
  readonly queue: string
  readonly jid: string
  readonly className: string
  readonly error: string
  /** Verk's 1-based count of failures so far. */
  readonly failures: number
  /** When it runs again (epoch seconds); absent when it went to dead instead. */
  readonly retryAt: number | undefined
  /**
   * The job as it ran (Sidekiq's wire form: `class`, `jid`, `queue`, `args`, `enqueued_at` in epoch
   * seconds, unknown keys kept), before this failure's fields were added: what an error tracker
   * wants beside the error.
   */
  readonly job: Job.Job
  /** The error's class (a tagged error's `_tag`, or the `Error`'s name), as in `error_class`. */
  readonly errorClass: string
  readonly errorMessage: string
  /** The stack trace's lines, as in `error_backtrace`; absent when the failure was no `Error`. */
  readonly backtrace: ReadonlyArray<string> | undefined
}> {}

/** A job went to the dead set: retries exhausted, or a payload that cannot be a job. */
export class JobDead extends Data.TaggedClass("JobDead")<{
  readonly queue: string
  /** Absent for a payload that did not decode. */
  readonly jid: string | undefined
  readonly className: string | undefined
  readonly reason: string
  /** The job, as in `JobFailed`; absent for a payload that did not decode. */
  readonly job: Job.Job | undefined
  /** The last failure's class, message and stack trace, as written into the dead entry. */
  readonly errorClass: string
  readonly errorMessage: string
  readonly backtrace: ReadonlyArray<string> | undefined
}> {}

/**
 * A cancelled job ended on this node (see Cancel.ts): interrupted while it ran (`started`), or
 * dropped when it was about to start. It left in-progress; nothing else of it is written.
 */
export class JobCancelled extends Data.TaggedClass("JobCancelled")<{
  readonly queue: string
  readonly jid: string
  readonly className: string
  /** Whether its code had started (its finalizers then ran). */
  readonly started: boolean
  /** From its start to its end, when it had started; 0 otherwise. */
  readonly durationMillis: number
}> {}

/**
 * A job was over one of its limits (see Limits.ts) and did not run: it went to `schedule` to try
 * again at `until` (epoch seconds), its payload unchanged. Not a failure and not a retry.
 */
export class JobSnoozed extends Data.TaggedClass("JobSnoozed")<{
  readonly queue: string
  readonly jid: string
  readonly className: string
  /** The budget it was over: the limit's name, and its key when it has one. */
  readonly limit: string
  readonly until: number
}> {}

/** A running job reported its progress (`CurrentJob.progress`): `percent` in 0-100. */
export class JobProgress extends Data.TaggedClass("JobProgress")<{
  readonly queue: string
  readonly jid: string
  readonly className: string
  readonly percent: number
  readonly message: string | undefined
}> {}

/** A queue takes jobs: when its processing starts, and when it is resumed after a pause. */
export class QueueRunning extends Data.TaggedClass("QueueRunning")<{ readonly queue: string }> {}
/** A queue was paused: it takes no more jobs, and the ones it is running finish. */
export class QueuePausing extends Data.TaggedClass("QueuePausing")<{ readonly queue: string }> {}
/** A paused queue finished its running jobs: nothing of it runs on this node. */
export class QueuePaused extends Data.TaggedClass("QueuePaused")<{ readonly queue: string }> {}

/** Another node's heartbeat expired and this node put its in-progress jobs back. */
export class NodeRecovered extends Data.TaggedClass("NodeRecovered")<{
  readonly node: string
  readonly jobs: number
}> {}

/** Every event a node publishes. */
export type VerkEvent =
  | JobStarted
  | JobFinished
  | JobFailed
  | JobDead
  | JobCancelled
  | JobSnoozed
  | JobProgress
  | QueueRunning
  | QueuePausing
  | QueuePaused
  | NodeRecovered

/** The tag of an event, as `ofType` takes it. */
export type EventTag = VerkEvent["_tag"]

/** Events buffered per subscriber; a subscriber that falls further behind loses the oldest. */
export const SubscriberCapacity = 65_536

/**
 * The node's events (see the module's comment): `subscribe` or `stream` them; `layer` provides it,
 * and `Verk.layer` includes it.
 */
export class Events extends Context.Service<
  Events,
  {
    readonly publish: (event: VerkEvent) => Effect.Effect<void>
    /** Whether anyone is subscribed now: the job's path makes its events only then. */
    readonly hasSubscribers: () => boolean
    /** Subscribes now (nothing published after this call is missed) and streams from there. */
    readonly subscribe: Effect.Effect<Stream.Stream<VerkEvent>, never, Scope.Scope>
    /** Subscribes when the stream starts running. */
    readonly stream: Stream.Stream<VerkEvent>
  }
>()("@verk/core/Events") {}

/**
 * One PubSub for the node's events, shut down with the layer's scope. With nobody subscribed (a
 * worker process, usually) a publish does nothing: this runs several times for every job.
 */
export const layer: Layer.Layer<Events> = Layer.effect(
  Events,
  Effect.gen(function* () {
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<VerkEvent>(SubscriberCapacity), PubSub.shutdown)
    let subscribers = 0
    const subscribe = Effect.acquireRelease(
      Effect.sync(() => {
        subscribers++
      }),
      () =>
        Effect.sync(() => {
          subscribers--
        }),
    ).pipe(Effect.andThen(PubSub.subscribe(pubsub)), Effect.map(Stream.fromSubscription))
    return {
      publish: (event: VerkEvent) => (subscribers === 0 ? Effect.void : Effect.asVoid(PubSub.publish(pubsub, event))),
      hasSubscribers: () => subscribers > 0,
      subscribe,
      stream: Stream.unwrap(subscribe),
    }
  }),
)
/** Keeps the events with the given tags: `stream.pipe(ofType("JobDead", "JobFailed"))`. */
export const ofType =
  <const Tags extends ReadonlyArray<EventTag>>(...tags: Tags) =>
  <E, R>(stream: Stream.Stream<VerkEvent, E, R>): Stream.Stream<Extract<VerkEvent, { _tag: Tags[number] }>, E, R> =>
    Stream.filter(stream, (event): event is Extract<VerkEvent, { _tag: Tags[number] }> => tags.includes(event._tag))
