/**
 * Watchers of a result id (Results.watch, what `get()`, `progress()` and a remote app's watch go
 * through): each record goes to the listeners watching when it came, each once, in the order
 * they started watching; one that starts watching while a record is being told hears the next
 * one, one that stops meanwhile still hears the one being told. A listener given twice for an id
 * is told once and unwatched once. (The listeners of an id are kept as the function alone, or an
 * array that is replaced, never changed, when one is added or removed.)
 */
import { expect, it } from 'vitest'
import { Celeriac, memoryStorage } from '../../src/index.js'
import type { ResultRecord } from '../../src/core/model/message.js'

it('tells each record to the listeners watching when it came, in order, each once', async () => {
  const app = new Celeriac({ storage: memoryStorage() })
  let begin!: () => void
  const started = new Promise<void>((resolve) => (begin = resolve))
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const step = app.task('watch.step', { bind: true }, async (self) => {
    await started
    self.updateState('ONE', { n: 1 })
    await gate
    self.updateState('TWO', { n: 2 })
    return 3
  })
  await app.start()
  try {
    const r = await step.delay()
    const heard: string[] = []
    const source = app.results()
    const late = (record: ResultRecord): void => void heard.push(`late ${record.state}`)
    let stopSecond: () => void = () => undefined
    const first = (record: ResultRecord): void => {
      heard.push(`first ${record.state}`)
      if (record.state === 'ONE') {
        // Both while ONE is being told: the one added hears from TWO on, the one removed hears ONE still.
        source.watch(r.id, late)
        stopSecond()
      }
    }
    const second = (record: ResultRecord): void => void heard.push(`second ${record.state}`)
    const twice = (record: ResultRecord): void => void heard.push(`twice ${record.state}`)
    source.watch(r.id, first)
    stopSecond = source.watch(r.id, second)
    source.watch(r.id, twice)
    const stopTwice = source.watch(r.id, twice)
    const one = new Promise<void>((resolve) => {
      source.watch(r.id, (record) => {
        if (record.state === 'ONE') resolve()
      })
    })
    begin()
    await one
    expect(heard).toEqual(['first ONE', 'second ONE', 'twice ONE'])
    // Given twice, unwatched once: it hears nothing more.
    stopTwice()
    release()
    expect(await r.get({ timeout: 5_000 })).toBe(3)
    expect(heard).toEqual(['first ONE', 'second ONE', 'twice ONE', 'first TWO', 'late TWO', 'first SUCCESS', 'late SUCCESS'])
  } finally {
    await app.stop()
  }
})
