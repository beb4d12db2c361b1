/**
 * Seed: "Argument Best Practices" — pass ids, not objects; handle objects deleted since the send;
 * only serializable arguments (anything else fails at the send, naming where).
 */
import { Celeriac, SerializationError } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

/** A stand-in for a database table. */
class Order {
  constructor(
    readonly id: number,
    public status = 'new',
  ) {}
  process(): void {
    this.status = 'processed'
  }
}
const orders = new Map<number, Order>([[1, new Order(1)]])
const users = new Map<number, { id: number; notified: number }>([[1, { id: 1, notified: 0 }]])

export async function run() {
  const app = new Celeriac({ clock: virtualClock() })
  const warnings: string[] = []
  app.events.on('log', (line) => {
    if (line.level === 'warn') warnings.push(line.text)
  })

  // GOOD: pass the primary key; load the object when the task runs.
  const processOrder = app.task('orders.process', (orderId: number) => {
    const order = orders.get(orderId)
    order?.process()
    return order?.status ?? null
  })
  // Handle missing objects: deleted between send and run, so log and skip; do not retry.
  const sendNotification = app.task('users.notify', { bind: true }, (self, userId: number) => {
    const user = users.get(userId)
    if (user === undefined) {
      self.log.warn(`User ${userId} not found, skipping notification`)
      return null
    }
    user.notified++
    return user.notified
  })
  // GOOD: primitives and plain data.
  const process = app.task('users.process', (userId: number, action: string, options: { notify?: boolean } = {}) => ({ userId, action, options }))

  await app.start()
  const processed = await (await processOrder.delay(1)).get()
  const notified = await (await sendNotification.delay(1)).get()
  const missing = await (await sendNotification.delay(99)).get()
  const plain = await (await process.delay(123, 'activate', { notify: true })).get()
  // BAD: a class instance with methods, or a function, cannot be sent.
  const refused: string[] = []
  for (const bad of [
    () => processOrder.applyAsync([orders.get(1) as unknown as number]),
    () => process.applyAsync([1, 'x', { notify: true, callback: () => 1 } as never]),
  ]) {
    await bad().catch((error: unknown) => {
      if (error instanceof SerializationError) refused.push(error.path)
    })
  }
  await app.stop()
  return { processed, notified, missing, warnings, plain, refused }
}

runIfMain(import.meta, run)
