/**
 * How the store's operations reach Redis: commands and scripts whose replies are decoded with a
 * Schema, whose failures are `StoreError`s naming the operation, and whose spans carry its name.
 * Commands without payloads go through Effect's `Redis` service; whatever sends or reads payloads
 * goes through `Wire` (bytes both ways).
 */
import { Store } from "@verk/core"
import * as Effect from "effect/Effect"
import type * as Redis from "effect/persistence/Redis"
import * as Schema from "effect/Schema"
import * as Replies from "./Replies.ts"
import type * as Wire from "./Wire.ts"

export type Commands = ReturnType<typeof make>

export const make = (redis: Redis.Redis["Service"], wire: Wire.WireShape) => {
  /** Runs a command or script, decodes its reply, and names the operation in errors and traces. */
  const run =
    <S extends Schema.Decoder<unknown>>(operation: string, reply: S) =>
    (effect: Effect.Effect<unknown, Redis.RedisError>): Effect.Effect<S["Type"], Store.StoreError> =>
      effect.pipe(
        Effect.flatMap(Schema.decodeUnknownEffect(reply)),
        Effect.mapError((cause) => new Store.StoreError({ operation, cause })),
        // Named by the operation: a stack trace per command would cost more than the command.
        Effect.withSpan(`RedisStore.${operation}`, undefined, { captureStackTrace: false }),
      )
  const send = (operation: string, command: string, ...args: ReadonlyArray<string | number>) =>
    redis.send(command, ...args.map(String)).pipe(run(operation, Schema.Unknown))
  const sendFor =
    <S extends Schema.Decoder<unknown>>(reply: S) =>
    (operation: string, command: string, ...args: ReadonlyArray<string | number>) =>
      redis.send(command, ...args.map(String)).pipe(run(operation, reply))
  /** A command whose arguments may be payloads (sent as their bytes); bulk replies are bytes. */
  const sendBytes =
    <S extends Schema.Decoder<unknown>>(reply: S) =>
    (operation: string, command: string, ...args: ReadonlyArray<Wire.Arg>) =>
      wire.send(command, args).pipe(run(operation, reply))
  /** Payloads read by a command, as the store's strings. */
  const payloads = (operation: string, command: string, ...args: ReadonlyArray<Wire.Arg>) =>
    Effect.map(sendBytes(Replies.Payloads)(operation, command, ...args), Replies.fromBytes)
  return {
    redis,
    wire,
    run,
    send,
    sendFor,
    count: sendFor(Replies.Integer),
    strings: sendFor(Replies.Strings),
    sendBytes,
    payloads,
  }
}
