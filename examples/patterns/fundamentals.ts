/**
 * Seed: "Task Fundamentals" — basic and bound tasks, explicit names, the ways to call a task,
 * and signatures.
 */
import { Celeriac, signature } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'
import { runIfMain } from './main.js'

export async function run() {
  const clock = virtualClock()
  const app = new Celeriac({ clock, queues: { default: {}, 'high-priority': {} } })

  // Simple task. Names are always explicit: a rename of the function never breaks queued work.
  const add = app.task('math.add', (x: number, y: number) => x + y)
  // Bound task: `self` gives the request, retries, logging, state updates.
  const processData = app.task('data.process', { bind: true }, async (self, dataId: number) => {
    self.updateState('PROCESSING', { dataId })
    await self.sleep(1_000)
    return `processed ${dataId}`
  })
  const processOrder = app.task('orders.tasks.process_order', (orderId: number) => `order ${orderId} processed`)

  await app.start()
  const viaDelay = await add.delay(2, 2) // shortcut for applyAsync
  const viaApplyAsync = await add.applyAsync([3, 4]) // full control
  const scheduled = await add.applyAsync([5, 6], {
    countdown: 60_000, // run in 60 s
    expires: 3_600_000, // not after an hour
    queue: 'high-priority',
    priority: 9, // 0-9, higher first
  })
  const atTime = await add.applyAsync([1, 1], { eta: new Date(clock.now() + 120_000) })

  const processing = await processData.delay(7)
  await clock.advance(0)
  const whileRunning = { state: await processing.state(), info: await processing.info() }

  // Signatures: by name, the shortcut, and the immutable one.
  const byName = signature<number>('math.add', { args: [2, 2] })
  const sig = add.s(2, 2)
  const immutable = add.si(2, 2)

  await clock.advance(120_000)
  const outcome = {
    delay: await viaDelay.get(),
    applyAsync: await viaApplyAsync.get(),
    countdown: await scheduled.get(),
    eta: await atTime.get(),
    whileRunning,
    processed: await processing.get(),
    order: await (await processOrder.delay(17)).get(),
    byName: await (await byName.delay()).get(),
    sig: await (await sig.delay()).get(),
    immutable: immutable.immutable,
    finalState: await processing.state(),
  }
  await app.stop()
  return outcome
}

runIfMain(import.meta, run)
