/**
 * Type test for `Verk.module` (type-checked by `npm run check`, not run): a module whose layer
 * provides every service its workers use compiles; one whose layer misses a service, or has none,
 * does not. Each `@ts-expect-error` makes tsc fail if the check ever stops catching the mistake.
 */
import { Verk, Worker } from "@verk/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

class Orders extends Context.Service<Orders, { readonly ship: (id: string) => Effect.Effect<void> }>()("app/Orders") {}
class Mailer extends Context.Service<Mailer, { readonly send: (to: string) => Effect.Effect<void> }>()("app/Mailer") {}
class Region extends Context.Service<Region, { readonly name: string }>()("app/Region") {}

const ShipOrder = Worker.make({
  name: "ShipOrder",
  args: Schema.Tuple([Schema.String]),
  perform: ([id]) => Orders.use((orders) => orders.ship(id)),
})
const SendMail = Worker.make({
  name: "SendMail",
  args: Schema.Tuple([Schema.String]),
  perform: ([to]) => Mailer.use((mailer) => mailer.send(to)),
})
const Ping = Worker.make({ name: "Ping", args: Schema.Tuple([]), perform: () => Effect.void })

const OrdersLive = Layer.succeed(Orders, { ship: () => Effect.void })
const MailerLive = Layer.succeed(Mailer, { send: () => Effect.void })
const RegionLive = Layer.succeed(Region, { name: "eu" })
const MailerNeedingRegion = Layer.effect(
  Mailer,
  Effect.map(Region, () => ({ send: () => Effect.void })),
)

// Correct modules: the layer covers the workers' services (providing more is fine).
export const complete = Verk.module({ workers: [ShipOrder, SendMail], layer: Layer.mergeAll(OrdersLive, MailerLive) })
export const more = Verk.module({ workers: [ShipOrder], layer: Layer.mergeAll(OrdersLive, MailerLive, RegionLive) })
export const wired = Verk.module({
  workers: [ShipOrder, SendMail],
  layer: Layer.merge(OrdersLive, MailerNeedingRegion.pipe(Layer.provide(RegionLive))),
})
// Workers that use no service need no layer.
export const plain = Verk.module({ workers: [Ping] })
export const plainWithLayer = Verk.module({ workers: [Ping], layer: RegionLive })

// The layer misses Mailer, which SendMail uses: a compile error, not "Service not found" at run time.
// @ts-expect-error Mailer is not provided
export const missing = Verk.module({ workers: [ShipOrder, SendMail], layer: OrdersLive })
// A worker that uses a service and no layer at all.
// @ts-expect-error layer is required when the workers use services
export const noLayer = Verk.module({ workers: [ShipOrder] })
// A layer that itself needs a service nobody provides (verk run has none to give it).
// @ts-expect-error the layer needs Region
export const openLayer = Verk.module({ workers: [SendMail], layer: MailerNeedingRegion })

// What `verk run` gets: a branded value with the workers, as given.
const workers: readonly [typeof ShipOrder, typeof SendMail] = complete.workers
export const names = workers.map((worker) => worker.name)
export const branded: boolean = Verk.isModule(complete)
