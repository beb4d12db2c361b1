/**
 * Seed: "Idempotency" — a task that may run twice must do its work once: a state check
 * (compare-and-set), a unique constraint (idempotency key), and deduplication with locks, both
 * declaratively (the `lock` task option) and by hand (`self.lock`, the seed's task_lock).
 */
import { Celeriac } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

export async function run() {
  const clock = virtualClock()
  const app = new Celeriac({ clock })
  const counters = new Map<string, number>([['visits', 0]])
  const orderItems = new Map<string, { orderId: number; productId: number; quantity: number }>()
  const processed: string[] = []

  // BAD: not idempotent, a redelivery increments twice.
  const incrementBlindly = app.task('counters.increment_blindly', (counterId: string) => {
    counters.set(counterId, counters.get(counterId)! + 1)
  })
  // GOOD: only update if the value has not changed since the send (compare-and-set).
  const increment = app.task('counters.increment', (counterId: string, expectedValue: number) => {
    if (counters.get(counterId) !== expectedValue) return false
    counters.set(counterId, expectedValue + 1)
    return true
  })
  // GOOD: a unique constraint on an idempotency key (get-or-create).
  const createOrderItem = app.task('orders.create_item', (orderId: number, productId: number, quantity: number, idempotencyKey: string) => {
    const created = !orderItems.has(idempotencyKey)
    if (created) orderItems.set(idempotencyKey, { orderId, productId, quantity })
    return created
  })
  // Deduplication with locks, declaratively: a second run for the same resource skips.
  const dedupedTask = app.task(
    'resources.process',
    { bind: true, lock: { key: (resourceId: string) => `task-lock-${resourceId}`, ttl: 10 * 60_000, onLocked: 'skip' } },
    async (self, resourceId: string) => {
      await self.sleep(5_000)
      processed.push(resourceId)
      return resourceId
    },
  )
  // The same by hand, as the seed's task_lock context manager.
  const byHand = app.task('resources.process_by_hand', { bind: true }, async (self, resourceId: string) => {
    await using lock = await self.lock(`task-lock-${resourceId}`, { ttl: 10 * 60_000 })
    if (lock === null) {
      self.log.info(`Task for ${resourceId} already running, skipping`)
      return 'skipped'
    }
    await self.sleep(5_000)
    processed.push(`${resourceId} by hand`)
    return 'processed'
  })

  await app.start()
  // A duplicate delivery of each: the blind one counts twice, the others once.
  await (await incrementBlindly.delay('visits')).get()
  await (await incrementBlindly.delay('visits')).get()
  const blind = counters.get('visits')!
  counters.set('visits', 0)
  const first = await (await increment.delay('visits', 0)).get()
  const duplicate = await (await increment.delay('visits', 0)).get()
  const itemFirst = await (await createOrderItem.delay(1, 42, 3, 'order-1-line-1')).get()
  const itemAgain = await (await createOrderItem.delay(1, 42, 3, 'order-1-line-1')).get()
  const runs = [await dedupedTask.delay('r1'), await dedupedTask.delay('r1'), await byHand.delay('r2'), await byHand.delay('r2')]
  await clock.runAll()
  const outcome = {
    blind,
    casCounter: counters.get('visits'),
    casResults: [first, duplicate],
    items: [itemFirst, itemAgain, orderItems.size],
    dedupe: await Promise.all(runs.map((r) => r.get())),
    processed,
  }
  await app.stop()
  return outcome
}

runIfMain(import.meta, run)
