/**
 * The store conformance suite: every `Store` operation, with Redis's semantics, run against a
 * fresh store per test, one suite per role of the contract (see Store.ts). `MemoryStore` and
 * `RedisStore` (both key schemes, and on a Redis Cluster) must all pass it unchanged.
 */
import { cancelConformance } from "./cancelConformance.ts"
import type { ConformanceOptions, MakeStoreLayer } from "./conformanceSupport.ts"
import { jobsConformance } from "./jobsConformance.ts"
import { limitsConformance } from "./limitsConformance.ts"
import { metricsConformance } from "./metricsConformance.ts"
import { nodesConformance } from "./nodesConformance.ts"
import { notificationsConformance } from "./notificationsConformance.ts"
import { periodicConformance } from "./periodicConformance.ts"
import { resultsConformance } from "./resultsConformance.ts"
import { setsConformance } from "./setsConformance.ts"
import { uniqueConformance } from "./uniqueConformance.ts"

export type { ConformanceOptions } from "./conformanceSupport.ts"

/** Every role's suite on the store kind that `makeLayer` makes, under `name`. */
export const storeConformance = (name: string, makeLayer: MakeStoreLayer, options: ConformanceOptions = {}) => {
  jobsConformance(name, makeLayer, options)
  setsConformance(name, makeLayer, options)
  metricsConformance(name, makeLayer, options)
  nodesConformance(name, makeLayer, options)
  notificationsConformance(name, makeLayer, options)
  periodicConformance(name, makeLayer, options)
  uniqueConformance(name, makeLayer, options)
  resultsConformance(name, makeLayer, options)
  cancelConformance(name, makeLayer, options)
  limitsConformance(name, makeLayer, options)
}
