/**
 * The public API of @verk/redis: the store, and the connection it runs on. The scripts and the
 * key layout are internals (the README's "Redis keys" section documents the layout).
 */
export * as Connection from "./Connection.ts"
export * as RedisStore from "./RedisStore.ts"
export * as Wire from "./Wire.ts"
