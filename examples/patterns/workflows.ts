/**
 * Seed: "Workflow Patterns" — chains, groups, chords, and the complex workflow (a chain holding
 * a chord: validate the order, process its items in parallel, finalize, confirm).
 */
import { Celeriac, chain, chord, group } from '../../src/index.js'
import { runIfMain } from './main.js'

export async function run() {
  const app = new Celeriac()
  const stored: unknown[] = []
  const notices: string[] = []

  const fetchData = app.task('etl.fetch', (url: string) => `<rows of ${url}>`)
  const parseData = app.task('etl.parse', (data: string) => data.slice(1, -1).split(' '))
  const storeData = app.task('etl.store', (parsed: string[]) => {
    stored.push(parsed)
    return parsed.length
  })
  const notifyComplete = app.task('etl.notify', () => {
    notices.push('pipeline complete')
    return 'notified'
  })
  const processItem = app.task('items.process', (itemId: number) => ({ itemId, price: itemId * 10 }))
  const aggregateResults = app.task('items.aggregate', (results: Array<{ price: number }>) => results.reduce((sum, r) => sum + r.price, 0))
  const validateOrder = app.task('orders.validate', (orderId: number) => ({ orderId, valid: true }))
  const finalizeOrder = app.task('orders.finalize', (items: Array<{ itemId: number; price: number }>, orderId: number) => ({
    orderId,
    total: items.reduce((sum, i) => sum + i.price, 0),
  }))
  const sendConfirmation = app.task('orders.confirm', (order: { orderId: number; total: number }) => `order ${order.orderId} confirmed: ${order.total}`)

  await app.start()
  // Chains: each result is passed to the next step; si() ignores it.
  const pipeline = await chain(fetchData.s('https://example.org/report'), parseData.s(), storeData.s(), notifyComplete.si()).delay()
  // Groups: in parallel; get() returns every result, in order.
  const itemIds = [1, 2, 3]
  const parallel = await group(itemIds.map((id) => processItem.s(id))).delay()
  // Chords: in parallel, then a callback with all the results.
  const chorded = await chord(
    itemIds.map((id) => processItem.s(id)),
    aggregateResults.s(),
  ).delay()
  // Complex workflow: the items are processed in parallel between validation and confirmation.
  // (validate's result goes to each item task in Celery; here the items ignore it with si.)
  const orderId = 7
  const complex = await chain(
    validateOrder.s(orderId),
    chord(
      itemIds.map((id) => processItem.si(id)),
      finalizeOrder.s(orderId),
    ),
    sendConfirmation.s(),
  ).delay()
  const outcome = {
    chain: await pipeline.get(),
    stored,
    notices,
    group: await parallel.get(),
    chord: await chorded.get(),
    complex: await complex.get(),
  }
  await app.stop()
  return outcome
}

runIfMain(import.meta, run)
