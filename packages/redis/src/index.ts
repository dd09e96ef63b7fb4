export * as Connection from "./Connection.ts"
export * as Keys from "./Keys.ts"
export * as RedisStore from "./RedisStore.ts"
export * as Scripts from "./Scripts.ts"
