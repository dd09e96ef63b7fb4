import * as MemoryStore from "../../packages/core/src/MemoryStore.ts"
import { storeConformance } from "./storeConformance.ts"

storeConformance("MemoryStore", () => MemoryStore.layer)
