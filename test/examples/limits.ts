// limits.ts: a CRM API that takes 5 calls a second per customer, a PDF renderer that runs 4 at once
// on the whole cluster, and a mail queue that sends 100 mails a second whatever the worker.
import { Limits, Verk, Worker } from "@verk/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const SyncCustomer = Worker.make({
  name: "SyncCustomer",
  args: Schema.Tuple([Schema.String, Schema.Number]), // [customer, revision]
  // One budget per customer: the key is computed from the decoded args.
  limits: [
    Limits.rate({ name: "crm", limit: 5, per: "1 second", key: ([customer]: readonly [string, number]) => customer }),
  ],
  perform: ([customer, revision]) => Effect.log(`sync ${customer} at revision ${revision}`),
})

// A limit of its own, so that every worker that lists it shares the same 4 slots.
export const Renderers = Limits.concurrency({ name: "pdf-renderer", limit: 4, snooze: "2 seconds" })

export const RenderInvoice = Worker.make({
  name: "RenderInvoice",
  args: Schema.Tuple([Schema.String]),
  limits: [Renderers],
  perform: ([invoice]) => Effect.log(`render ${invoice}`),
})

export const SendMail = Worker.make({
  name: "SendMail",
  queue: "mail",
  args: Schema.Tuple([Schema.String]),
  perform: ([to]) => Effect.log(`mail ${to}`),
})

// Per queue: every job of "mail", whatever its worker, shares the SMTP relay's 100 a second.
export const queueLimits = { mail: [Limits.rate({ name: "smtp", limit: 100, per: "1 second" })] }

export const node = Verk.layer({
  workers: [SyncCustomer, RenderInvoice, SendMail],
  queues: { default: 25, mail: 10 },
  queueLimits,
})
