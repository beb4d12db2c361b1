/**
 * In Chromium (the `chromium` vitest project runs this file): periodic tasks across tabs on one
 * IndexedDB database with `consume: 'leader'` (two apps in one page stand for two tabs: the Web
 * Locks API elects one of them either way). The leader fires; a schedule another tab upserts
 * reaches it (storage.watch); when the leader stops, the next one takes over where it left off,
 * and no slot is sent twice.
 */
import { expect, it } from 'vitest'
import { Celeriac, indexedDBStorage, inline } from '../../src/browser.js'
import { virtualClock } from '../../src/testing.js'

const MINUTE = 60_000

it('the leader tab fires the schedules any tab upserts; the next leader goes on, each slot once', async () => {
  const name = `schedules-tabs-${crypto.randomUUID()}`
  const clock = virtualClock({ now: Date.UTC(2026, 0, 5) })
  const t0 = clock.now()
  const ran: string[] = []
  const tab = (label: string) => {
    const app = new Celeriac({ name: 'tabs', storage: indexedDBStorage({ name }), executor: inline(), clock, consume: 'leader' })
    const tick = app.task('tick', { bind: true }, (self) => {
      ran.push(`${label} ${self.request.id}`)
    })
    return { app, tick }
  }
  const { app: a } = tab('a')
  const { app: b, tick } = tab('b')
  try {
    await a.start()
    await expect.poll(() => a.isConsumer).toBe(true)
    await b.start()
    expect(b.isConsumer).toBe(false)
    // Upserted in the tab that does not lead: the leader hears of it and arms its timer.
    await b.schedules.upsert('beat', { every: MINUTE }, tick.s())
    await expect.poll(() => clock.pending()).toBeGreaterThan(0)
    await clock.advance(3 * MINUTE)
    await a.stop()
    await expect.poll(() => b.isConsumer).toBe(true)
    await clock.advance(3 * MINUTE)
    expect(ran).toEqual([1, 2, 3, 4, 5, 6].map((k) => `${k <= 3 ? 'a' : 'b'} beat@${String(t0 + k * MINUTE)}`))
    expect(await b.schedules.list()).toMatchObject([{ id: 'beat', count: 6, next: t0 + 7 * MINUTE }])
  } finally {
    await a.stop()
    await b.stop()
  }
})
