/**
 * What Effect's `Redis` service cannot say, on the same connections (Connection.ts provides both):
 *
 * - commands whose arguments may be bytes and whose bulk replies come back as bytes, so that a
 *   payload is the same bytes end to end whatever its encoding (see Payload.ts in @verk/core);
 *   `evalScript` calls a Lua script that way (by SHA, loading it again after NOSCRIPT);
 * - a subscription that says when it is live again after a reconnect (`Resubscribed`): whatever
 *   was published while it was down never arrives, so its reader must look for itself.
 */
import { createHash } from "node:crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Redis from "effect/persistence/Redis"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"

/** A command argument: text, a number, or bytes (sent as they are). */
export type Arg = string | number | Uint8Array

/** What a `subscribe` stream carries: a message, or news that messages may have been lost. */
export type SubscriptionEvent =
  | { readonly _tag: "Message"; readonly channel: string; readonly message: string }
  /** The subscription is live again after a reconnect; messages published meanwhile are lost. */
  | { readonly _tag: "Resubscribed" }

/**
 * What Verk needs from Redis beyond Effect's `Redis` service: replies as bytes, `WAIT` on the
 * connection that wrote, Cluster awareness, and subscriptions that report reconnects.
 */
export interface WireShape {
  /** Sends a command; every bulk or simple string reply comes back as bytes (a Buffer). */
  readonly send: (command: string, args: ReadonlyArray<Arg>) => Effect.Effect<unknown, Redis.RedisError>
  /**
   * The connection a write on `key` goes out on now, in its current session (a reconnect starts a
   * new one). Taken before the write, for `waitForReplicas` after it.
   */
  readonly writer: (key: string) => Effect.Effect<Writer, Redis.RedisError>
  /**
   * `WAIT`: blocks until `replicas` replicas hold every write sent before it on `writer`'s
   * connection, or `timeoutMillis` passes; returns how many do. A WAIT covers only its own
   * connection's writes, so it answers 0 when that connection reconnected since `writer` was taken
   * (or, on a Cluster, no longer serves the key): the write may have died with the old primary.
   */
  readonly waitForReplicas: (
    writer: Writer,
    replicas: number,
    timeoutMillis: number,
  ) => Effect.Effect<number, Redis.RedisError>
  /** Whether this is a Redis Cluster: keys of one script must then share a slot. */
  readonly cluster: boolean
  /**
   * Subscribes to `channel` on a connection of its own, for the lifetime of the scope; `sharded`:
   * a shard channel (SSUBSCRIBE, Redis 7), served by the shard that owns the channel's slot. The
   * stream's reader, when it waits for events, resumes in the very callback that received them.
   */
  readonly subscribe: (
    channel: string,
    options?: { readonly sharded?: boolean | undefined },
  ) => Effect.Effect<Stream.Stream<SubscriptionEvent>, Redis.RedisError, Scope.Scope>
}

/** A connection and one of its sessions (see `WireShape.writer`). */
export interface Writer {
  readonly key: string
  readonly connection: object
  readonly session: number
}

/** The `WireShape` service: `Connection.layer` provides it beside Effect's `Redis`. */
export class Wire extends Context.Service<Wire, WireShape>()("@verk/redis/Wire") {}

/** Redis names a script by the SHA-1 of its text: computed here, once per script. */
const shas = new WeakMap<object, string>()
const shaOf = (lua: string, script: object): string => {
  let sha = shas.get(script)
  if (sha === undefined) {
    sha = createHash("sha1").update(lua, "utf8").digest("hex")
    shas.set(script, sha)
  }
  return sha
}

const isNoScript = (error: Redis.RedisError): boolean => String(error.cause).includes("NOSCRIPT")

/** Loads and calls again after this many NOSCRIPT replies in a row at most. */
const NoScriptRetries = 3

/**
 * Calls `script` by SHA on `wire`: its arguments may be bytes, and its bulk replies are bytes.
 * After NOSCRIPT (a Redis restart, SCRIPT FLUSH) it loads the script and calls it again: a NOSCRIPT
 * reply means the script did not run, so calling again duplicates nothing. Another flush can land
 * between the load and the call, so that is tried a few times.
 */
export const evalScript =
  <Config extends { readonly params: ReadonlyArray<unknown>; readonly result: unknown }>(
    wire: WireShape,
    script: Redis.Script<Config>,
  ) =>
  (...params: Config["params"]): Effect.Effect<unknown, Redis.RedisError> => {
    const sha = shaOf(script.lua, script)
    const args = ([sha, String(script.numberOfKeys(...params))] as Array<Arg>).concat(
      script.params(...params) as Array<Arg>,
    )
    const call = wire.send("EVALSHA", args)
    const loadAndCall = Effect.andThen(wire.send("SCRIPT", ["LOAD", script.lua]), call)
    return call.pipe(
      Effect.catchIf(isNoScript, () => Effect.retry(loadAndCall, { while: isNoScript, times: NoScriptRetries - 1 })),
    )
  }
