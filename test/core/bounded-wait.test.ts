import { afterEach, describe, expect, it, vi } from 'vitest'
import { waitAtMost } from '../../src/core/time/bounded-wait.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('waitAtMost (the shutdown wait of stop({ timeout }))', () => {
  it('resolves when the work does, and leaves no timer behind', async () => {
    vi.useFakeTimers()
    await waitAtMost(Promise.resolve(), 1_000)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('resolves at the timeout when the work never settles', async () => {
    vi.useFakeTimers()
    let done = false
    const waiting = waitAtMost(new Promise(() => undefined), 1_000).then(() => (done = true))
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await waiting
    expect(done).toBe(true)
  })

  it('without a timeout waits for the work alone', async () => {
    let release!: () => void
    let done = false
    const waiting = waitAtMost(new Promise<void>((resolve) => (release = resolve)), undefined).then(() => (done = true))
    await Promise.resolve()
    expect(done).toBe(false)
    release()
    await waiting
    expect(done).toBe(true)
  })
})
