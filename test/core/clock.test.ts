import { describe, expect, it } from 'vitest'
import { Celeriac, TimeoutError, systemClock } from '../../src/index.js'
import type { Clock } from '../../src/index.js'
import { virtualClock } from '../../src/testing.js'

/** The Clock contract: both clocks fire timers once, in time order, never early, and can cancel. */
function clockContract(name: string, make: () => Clock, run: (clock: Clock, ms: number) => Promise<void>): void {
  describe(`clock contract: ${name}`, () => {
    it('fires timers in time order, never before they are due', async () => {
      const clock = make()
      const start = clock.now()
      const fired: Array<[string, number]> = []
      clock.setTimer(start + 20, () => fired.push(['b', clock.now() - start]))
      clock.setTimer(start + 5, () => fired.push(['a', clock.now() - start]))
      await run(clock, 40)
      expect(fired.map(([n]) => n)).toEqual(['a', 'b'])
      expect(fired[0]![1]).toBeGreaterThanOrEqual(5)
      expect(fired[1]![1]).toBeGreaterThanOrEqual(20)
    })

    it('does not fire a cleared timer', async () => {
      const clock = make()
      let fired = false
      const handle = clock.setTimer(clock.now() + 5, () => (fired = true))
      clock.clearTimer(handle)
      await run(clock, 20)
      expect(fired).toBe(false)
    })

    it('fires a background timer when it is due, like any other', async () => {
      const clock = make()
      let fired = false
      clock.setTimer(clock.now() + 5, () => (fired = true), { background: true })
      await run(clock, 20)
      expect(fired).toBe(true)
    })

    it('fires a timer already due soon, without being advanced past it', async () => {
      const clock = make()
      let fired = false
      clock.setTimer(clock.now() - 1, () => (fired = true))
      await run(clock, 0)
      expect(fired).toBe(true)
    })
  })
}

clockContract('systemClock', systemClock, (_clock, ms) => new Promise((resolve) => setTimeout(resolve, ms + 5)))
clockContract(
  'virtualClock',
  () => virtualClock(),
  (clock, ms) => (clock as ReturnType<typeof virtualClock>).advance(ms),
)

describe('virtualClock', () => {
  it('starts at a fixed instant, or the one given', () => {
    expect(virtualClock().now()).toBe(Date.UTC(2025, 0, 1))
    expect(virtualClock({ now: new Date(Date.UTC(2030, 5, 1)) }).now()).toBe(Date.UTC(2030, 5, 1))
  })

  it('advance moves time by exactly ms and fires what falls due, in order, at its own time', async () => {
    const clock = virtualClock({ now: 0 })
    const seen: number[] = []
    clock.setTimer(300, () => seen.push(clock.now()))
    clock.setTimer(100, () => seen.push(clock.now()))
    clock.setTimer(1_000, () => seen.push(clock.now()))
    await clock.advance(500)
    expect(seen).toEqual([100, 300])
    expect(clock.now()).toBe(500)
    expect(clock.pending()).toBe(1)
  })

  it('a timer set by a firing timer fires in the same advance when it falls inside it', async () => {
    const clock = virtualClock({ now: 0 })
    const seen: number[] = []
    clock.setTimer(100, () => clock.setTimer(150, () => seen.push(clock.now())))
    await clock.advance(200)
    expect(seen).toEqual([150])
  })

  it('runAll fires timer after timer until none is left and reports how many', async () => {
    const clock = virtualClock({ now: 0 })
    let n = 0
    const again = (): void => {
      if (++n < 5) clock.setTimer(clock.now() + 1_000, again)
    }
    clock.setTimer(1_000, again)
    expect(await clock.runAll()).toBe(5)
    expect(clock.now()).toBe(5_000)
  })

  it('background timers: pending() leaves them out, runAll fires them on its way but does not run time to them', async () => {
    const clock = virtualClock({ now: 0 })
    const seen: string[] = []
    clock.setTimer(1_000, () => seen.push('background at 1000'), { background: true })
    clock.setTimer(5_000, () => seen.push('background at 5000'), { background: true })
    clock.setTimer(2_000, () => seen.push('work at 2000'))
    expect(clock.pending()).toBe(1)
    expect(await clock.runAll()).toBe(1)
    expect(seen).toEqual(['background at 1000', 'work at 2000'])
    expect(clock.now()).toBe(2_000)
    expect(clock.pending()).toBe(0)
    await clock.advance(3_000)
    expect(seen).toEqual(['background at 1000', 'work at 2000', 'background at 5000'])
  })

  it('runAll throws TimeoutError at its limit instead of hanging on an endless loop', async () => {
    const clock = virtualClock({ now: 0 })
    const forever = (): void => void clock.setTimer(clock.now() + 1, forever)
    clock.setTimer(1, forever)
    await expect(clock.runAll({ limit: 50 })).rejects.toBeInstanceOf(TimeoutError)
  })

  it('rejects a negative advance', async () => {
    await expect(virtualClock().advance(-1)).rejects.toThrow(RangeError)
  })

  it('advance waits for the engine: a task that became due has finished when advance resolves', async () => {
    const clock = virtualClock()
    const app = new Celeriac({ clock })
    const double = app.task('clock.double', async (n: number) => {
      await Promise.resolve()
      return n * 2
    })
    await app.start()
    const r = await double.applyAsync([21], { countdown: 3_600_000 })
    await clock.advance(3_600_000)
    expect(await r.state()).toBe('SUCCESS')
    expect(await r.get()).toBe(42)
    await app.stop()
  })

  it('a task parked on self.sleep does not hold advance; it wakes when time reaches it', async () => {
    const clock = virtualClock()
    const app = new Celeriac({ clock })
    const nap = app.task('clock.nap', { bind: true }, async (self, ms: number) => {
      await self.sleep(ms)
      return 'rested'
    })
    await app.start()
    const r = await nap.delay(60_000)
    await clock.advance(59_999)
    expect(await r.state()).toBe('STARTED')
    await clock.advance(1)
    expect(await r.get()).toBe('rested')
    await app.stop()
  })
})
