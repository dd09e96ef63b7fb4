/**
 * This process's identity among the nodes sharing a store. A fresh id per process by default
 * (`host-pid-random`): a fixed id shared by two live processes, or one that never comes back,
 * is how Verk ran jobs twice or left them stuck. A fixed id stays possible (`nodeId` setting).
 */
import { hostname } from "node:os"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Settings } from "../Settings.ts"

const randomSuffix = (): string => {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(3))
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("")
}

/** Readable and unique: the host, the pid, and a random suffix against pid reuse. */
export const generateId = (): string => `${hostname()}-${process.pid}-${randomSuffix()}`

export class Node extends Context.Service<
  Node,
  {
    readonly id: string
    /** True when the id came from settings: leftovers of an earlier run under it may exist. */
    readonly fixed: boolean
  }
>()("@verk/core/Node") {
  static readonly layer: Layer.Layer<Node, never, Settings> = Layer.effect(
    Node,
    Effect.map(Settings, ({ nodeId }) =>
      nodeId === undefined ? { id: generateId(), fixed: false } : { id: nodeId, fixed: true },
    ),
  )
}
