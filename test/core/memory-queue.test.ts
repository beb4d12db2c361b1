/**
 * On memory storage a consuming engine keeps queued messages only in its scheduler (nothing else
 * can read them); a producer-only app still writes them, for the app that consumes the storage.
 */
import { describe, expect, it } from 'vitest'
import { Celeriac, memoryStorage } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'

describe('memory storage and queued messages', () => {
  it('a producer-only app stores its messages; a consumer started later on the same storage runs them', async () => {
    const storage = memoryStorage()
    const producer = new Celeriac({ storage, consume: false })
    await producer.start()
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await producer.sendTask('mq.double', [i])).id)
    await producer.stop()

    const consumer = new Celeriac({ storage })
    consumer.task('mq.double', (x: number) => x * 2)
    await consumer.start()
    expect(await Promise.all(ids.map((id) => consumer.AsyncResult(id).get({ timeout: 5_000 })))).toEqual([0, 2, 4])
    await consumer.stop()
  })

  it('a consumer runs what it sends without writing the queue to storage, and the results are stored', async () => {
    const storage = memoryStorage()
    const clock = virtualClock()
    const app = new Celeriac({ storage, clock })
    const double = app.task('mq.double', (x: number) => x * 2)
    await app.start()
    const later = await double.applyAsync([21], { countdown: 60_000 })
    expect(await storage.entries('messages')).toEqual([])
    expect(app.inspect.scheduled().map((m) => m.id)).toEqual([later.id])
    await clock.advance(60_000)
    expect(await later.get()).toBe(42)
    expect(((await storage.get('results', later.id)) as { state: string }).state).toBe('SUCCESS')
    await app.stop()
  })
})
