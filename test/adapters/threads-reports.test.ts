/**
 * How the main thread takes a worker's reports off its port (src/adapters/node/reports.ts), on a
 * real MessageChannel: a few at a time in one callback, all of them once the worker has ended.
 */
import { MessageChannel } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { REPORTS_PER_CALLBACK, takeAllReports, takeReports } from '../../src/adapters/node/reports.js'

const channels: MessageChannel[] = []
afterEach(() => {
  for (const { port1, port2 } of channels.splice(0)) {
    port1.close()
    port2.close()
  }
})

function channelWith(count: number): MessageChannel {
  const channel = new MessageChannel()
  channels.push(channel)
  for (let i = 1; i <= count; i++) channel.port2.postMessage(i)
  return channel
}

describe('a worker’s reports on the main thread', () => {
  it('one callback takes the delivered report and a bounded number waiting behind it, in order, and leaves the rest for the next callback', () => {
    // A worker that reports without pause must not hold the main thread in one callback for as
    // long as it runs: the rest wait for Node's next delivery, with timers and I/O between.
    const { port1 } = channelWith(100)
    const taken: number[] = []
    takeReports(port1, 0, (report: number) => taken.push(report))
    expect(taken).toEqual(Array.from({ length: REPORTS_PER_CALLBACK }, (_, i) => i))
    const rest: number[] = []
    takeAllReports(port1, (report: number) => rest.push(report))
    expect(rest).toEqual(Array.from({ length: 100 - (REPORTS_PER_CALLBACK - 1) }, (_, i) => i + REPORTS_PER_CALLBACK))
  })

  it('a batch’s reports (4 runs by default) are taken in one callback', () => {
    const { port1 } = channelWith(3)
    const taken: number[] = []
    takeReports(port1, 0, (report: number) => taken.push(report))
    expect(taken).toEqual([0, 1, 2, 3])
  })

  it('once the worker has ended, every report left is taken', () => {
    const { port1 } = channelWith(1_000)
    const taken: number[] = []
    takeAllReports(port1, (report: number) => taken.push(report))
    expect(taken).toHaveLength(1_000)
    expect(taken[999]).toBe(1_000)
  })
})
