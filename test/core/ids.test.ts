import { describe, expect, it } from 'vitest'
import { uuid4 } from '../../src/core/model/ids.js'
import { Celeriac } from '../../src/index.js'

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('task ids', () => {
  it('are distinct random UUIDs v4, across many refills of the random pool', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20_000; i++) {
      const id = uuid4()
      expect(id).toMatch(V4)
      ids.add(id)
    }
    expect(ids.size).toBe(20_000)
  })

  it('use every hex digit in the random positions (the bytes are really random)', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) for (const c of uuid4().replace(/-/g, '').slice(0, 12)) seen.add(c)
    expect(seen.size).toBe(16)
  })

  it('are what delay() gives a task', async () => {
    const app = new Celeriac()
    const add = app.task('ids.add', (a: number, b: number) => a + b)
    await app.start()
    const r = await add.delay(1, 2)
    expect(r.id).toMatch(V4)
    expect(await r.get()).toBe(3)
    await app.stop()
  })
})
