/**
 * The Transport contract: every transport runs this suite. It tests what the seam promises
 * (src/core/engine/transport.ts) and what the engine relies on, nothing about how a broker keeps
 * its messages. It runs under a virtual clock and in real time alike: time moves only through
 * the harness's `advance`, and "not delivered" is asserted after the harness's `settle`.
 *
 * @example
 * transportContract('bullmq over bullmqBackend', () => virtualHarness())
 * transportContract('bullmq on Redis', () => redisHarness(), { unavailable: redisDown })
 */
import { describe, expect, it, type TestContext } from 'vitest'
import type { TaskMessage } from '../../src/core/model/message.js'
import type { Delivery, RemoteRunEvent, Transport } from '../../src/core/engine/transport.js'
import type { Clock } from '../../src/core/time/clock.js'
import { message } from './message.js'

/** One test's broker, and how to move its time. */
export interface TransportHarness {
  /** The app clock every handle is opened with (`host.clock`). */
  readonly clock: Clock
  /** A new handle on the same broker, opened. Closed by `close()` if the test did not. */
  open(): Promise<Transport>
  /** Moves `clock` by `ms`: a virtual clock advances; in real time, a sleep. */
  advance(ms: number): Promise<void>
  /**
   * Gives the broker the time (real, for its own turns) to deliver what is due now, so that a
   * test can assert that something was not delivered.
   */
  settle(): Promise<void>
  /**
   * Moves time (and waits) until a delivery held by a closed handle has been taken back, so that
   * another handle listening on its queue gets it (BullMQ: its lock expires and a stall check
   * finds it).
   */
  reclaim(): Promise<void>
  /** Closes what is still open, and removes what the test stored. */
  close(): Promise<void>
}

export interface TransportContractOptions {
  /** Why this transport cannot run here: the suite is skipped, saying so. */
  unavailable?: string
  /**
   * How early (ms on the app clock) a delayed message may arrive, for a broker that turns an
   * eta into a delay on a clock of its own. The engine holds such a message until its eta.
   * @default 0
   */
  early?: number
  /**
   * Run the cases side by side (each has a broker of its own: a test's harness must not share
   * queues or keys with another's). For a broker in real time, whose cases mostly wait on it.
   * @default false
   */
  concurrent?: boolean
}

/** A delay long next to the broker's own latency, on the app clock. */
const DELAY = 1_000
/** How long (real ms) a test waits for a delivery that should come. */
const PATIENCE = 10_000

/** The deliveries one `listen` got, in order, and a way to wait for more. */
interface Inbox {
  readonly got: Delivery[]
  /** When each was delivered, on the app clock. */
  readonly at: number[]
  readonly deliver: (d: Delivery) => void
  ids(): string[]
  /** Resolves once `n` have come; fails after PATIENCE real ms. */
  until(n: number): Promise<void>
}

function inbox(clock: Clock, onDeliver?: (d: Delivery, box: Inbox) => void): Inbox {
  const box: Inbox = {
    got: [],
    at: [],
    deliver(d) {
      box.got.push(d)
      box.at.push(clock.now())
      onDeliver?.(d, box)
    },
    ids: () => box.got.map((d) => d.message.id),
    async until(n) {
      const deadline = Date.now() + PATIENCE
      while (box.got.length < n) {
        if (Date.now() > deadline)
          throw new Error(`waited ${String(PATIENCE)} ms for ${String(n)} deliveries, got ${String(box.got.length)}: ${box.ids().join(', ')}`)
        await new Promise((r) => setTimeout(r, 5))
      }
    },
  }
  return box
}

export function transportContract(name: string, factory: () => Promise<TransportHarness>, options: TransportContractOptions = {}): void {
  const suite = options.unavailable === undefined ? describe : describe.skip
  const early = options.early ?? 0
  const title = `transport contract: ${name}${options.unavailable === undefined ? '' : ` (skipped: ${options.unavailable})`}`
  suite(title, { concurrent: options.concurrent ?? false }, () => {
    /** The test's own broker, closed when the test is over (cases may run side by side). */
    async function setup(context: TestContext): Promise<TransportHarness> {
      const harness = await factory()
      context.onTestFinished(() => harness.close())
      return harness
    }

    it('names itself and has a store', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      expect(t.name).toMatch(/\S/)
      expect(typeof t.store.transact).toBe('function')
    })

    it('a message added is delivered once, equal to what was sent, to the handle that listens on its queue only', async (context) => {
      const h = await setup(context)
      const [producer, mine, other] = [await h.open(), await h.open(), await h.open()]
      const here = inbox(h.clock)
      const elsewhere = inbox(h.clock)
      await mine.listen('q1', 4, here.deliver)
      await other.listen('q2', 4, elsewhere.deliver)
      const sent = message('m1', { queue: 'q1', headers: { trace: 'x' }, chord: { id: 'body', size: 2, index: 1 }, retries: 2 })
      await producer.add([sent])
      await here.until(1)
      expect(here.got[0]!.message).toEqual(sent)
      expect(here.got[0]!.redelivered).toBe(false)
      await here.got[0]!.ack(false)
      await h.settle()
      expect(here.got).toHaveLength(1)
      expect(elsewhere.got).toHaveLength(0)
    })

    it('ids with colons, all digits or percent signs arrive as sent', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock, (d) => void d.ack(false))
      await t.listen('q', 4, box.deliver)
      const ids = ['a:b:c', '12345', '-7', '0', '%3A', '100%', 'uuid-like-1f2e']
      await t.add(ids.map((id) => message(id, { queue: 'q' })))
      await box.until(ids.length)
      expect(box.ids().sort()).toEqual([...ids].sort())
    })

    it('adds messages for several queues in one call, each to its own queue', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const a = inbox(h.clock)
      const b = inbox(h.clock)
      await t.listen('qa', 4, a.deliver)
      await t.listen('qb', 4, b.deliver)
      await t.add([message('a1', { queue: 'qa' }), message('b1', { queue: 'qb' }), message('a2', { queue: 'qa' })])
      await a.until(2)
      await b.until(1)
      expect(a.ids().sort()).toEqual(['a1', 'a2'])
      expect(b.ids()).toEqual(['b1'])
    })

    it('an id added again while it waits is not sent twice: the first message stays', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const first = message('dup', { queue: 'q', retries: 0 })
      await t.add([first])
      await t.add([{ ...first, retries: 5 }])
      const box = inbox(h.clock)
      await t.listen('q', 4, box.deliver)
      await box.until(1)
      await box.got[0]!.ack(false)
      await h.settle()
      expect(box.got).toHaveLength(1)
      expect(box.got[0]!.message).toEqual(first)
    })

    it('an id added again while it runs, or after its ack, is not delivered again', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock)
      await t.listen('q', 4, box.deliver)
      const m = message('once', { queue: 'q' })
      await t.add([m])
      await box.until(1)
      await t.add([m])
      await h.settle()
      expect(box.got).toHaveLength(1)
      await box.got[0]!.ack(false)
      await t.add([m])
      await h.settle()
      expect(box.got).toHaveLength(1)
    })

    it('a failed ack forgets the message too', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock, (d) => void d.ack(true))
      await t.listen('q', 4, box.deliver)
      const m = message('failing', { queue: 'q' })
      await t.add([m])
      await box.until(1)
      await h.settle()
      await t.add([m])
      await h.settle()
      expect(box.got).toHaveLength(1)
    })

    it('pause (where a transport has it): nothing more of the queue is delivered, what was delivered stays to settle; resume delivers what waited', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      if (t.pause === undefined || t.resume === undefined) return context.skip('this transport has no pause: the engine holds what it delivers')
      const box = inbox(h.clock)
      await t.listen('q', 4, box.deliver)
      await t.add([message('before', { queue: 'q' })])
      await box.until(1)
      await t.pause('q')
      await t.add([message('during', { queue: 'q' })])
      await h.settle()
      expect(box.ids()).toEqual(['before'])
      // Given back, as the engine does with what it took and did not start.
      await box.got[0]!.requeue(box.got[0]!.message)
      await h.settle()
      expect(box.ids()).toEqual(['before'])
      await t.resume('q')
      await box.until(3)
      expect(box.ids().slice(1).sort()).toEqual(['before', 'during'])
    })

    it('a message with an eta is not delivered before it, and is once it is due', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock)
      await t.listen('q', 4, box.deliver)
      const eta = h.clock.now() + DELAY
      await t.add([message('later', { queue: 'q', eta }), message('now', { queue: 'q', eta: h.clock.now() - 5_000 })])
      await box.until(1)
      expect(box.ids()).toEqual(['now'])
      await h.advance(DELAY / 2)
      await h.settle()
      expect(box.ids()).toEqual(['now'])
      await h.advance(DELAY / 2)
      await box.until(2)
      expect(box.ids()).toEqual(['now', 'later'])
      expect(box.at[1]).toBeGreaterThanOrEqual(eta - early)
    })

    it('priority 0–9: higher first, FIFO among equals', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const sent: Array<[string, number]> = [
        ['a', 0],
        ['b', 9],
        ['c', 5],
        ['d', 9],
        ['e', 0],
        ['f', 5],
      ]
      for (const [id, priority] of sent) await t.add([message(id, { queue: 'q', priority })])
      const box = inbox(h.clock, (d) => void d.ack(false))
      await t.listen('q', 1, box.deliver)
      await box.until(sent.length)
      expect(box.ids()).toEqual(['b', 'd', 'c', 'f', 'a', 'e'])
    })

    it('at most `concurrency` deliveries are unsettled at once; the next comes after an ack', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock)
      await t.listen('q', 2, box.deliver)
      await t.add(['c1', 'c2', 'c3', 'c4'].map((id) => message(id, { queue: 'q' })))
      await box.until(2)
      await h.settle()
      expect(box.got).toHaveLength(2)
      await box.got[0]!.ack(false)
      await box.until(3)
      await h.settle()
      expect(box.got).toHaveLength(3)
      await box.got[1]!.defer(box.got[1]!.message, h.clock.now() + DELAY)
      await box.until(4)
      await h.settle()
      expect(box.got).toHaveLength(4)
    })

    it('an acked message is never delivered again, not even to a handle opened after a close', async (context) => {
      const h = await setup(context)
      const first = await h.open()
      const box = inbox(h.clock)
      await first.listen('q', 1, box.deliver)
      await first.add([message('done', { queue: 'q' })])
      await box.until(1)
      await box.got[0]!.ack(false)
      await first.close()
      const second = await h.open()
      const later = inbox(h.clock)
      await second.listen('q', 1, later.deliver)
      await h.reclaim()
      await h.settle()
      await h.settle()
      expect(later.got).toHaveLength(0)
    })

    it('forget(ids) lets a finished id be sent and delivered again; a waiting one stays as it is', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock)
      await t.listen('q', 1, box.deliver)
      await t.add([message('again', { queue: 'q', args: ['first'] })])
      await box.until(1)
      await box.got[0]!.ack(false)
      await t.forget(['again', 'unknown'])
      await t.add([message('again', { queue: 'q', args: ['second'] })])
      await box.until(2)
      expect(box.got.map((d) => d.message.args)).toEqual([['first'], ['second']])
      // Forgetting one that waits (behind the unsettled one) does not drop it.
      await t.add([message('waits', { queue: 'q' })])
      await t.forget(['waits'])
      await box.got[1]!.ack(false)
      await box.until(3)
      expect(box.ids()).toEqual(['again', 'again', 'waits'])
    })

    it('defer: delivered again at `at` with the new content, not as a redelivery', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock)
      await t.listen('q', 1, box.deliver)
      const m = message('retry', { queue: 'q' })
      await t.add([m])
      await box.until(1)
      const next = { ...m, retries: m.retries + 1 }
      const at = h.clock.now() + DELAY
      await box.got[0]!.defer(next, at)
      await h.advance(DELAY / 2)
      await h.settle()
      expect(box.got).toHaveLength(1)
      await h.advance(DELAY / 2)
      await box.until(2)
      expect(box.got[1]!.message).toEqual(next)
      expect(box.got[1]!.redelivered).toBe(false)
      expect(box.at[1]).toBeGreaterThanOrEqual(at - early)
      await box.got[1]!.ack(false)
      await h.settle()
      expect(box.got).toHaveLength(2)
    })

    it('requeue: delivered again soon with the new content, not as a redelivery', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const box = inbox(h.clock)
      await t.listen('q', 1, box.deliver)
      const m = message('again', { queue: 'q' })
      await t.add([m])
      await box.until(1)
      const next: TaskMessage = { ...m, retries: 1 }
      await box.got[0]!.requeue(next)
      await box.until(2)
      expect(box.got[1]!.message).toEqual(next)
      expect(box.got[1]!.redelivered).toBe(false)
    })

    it('a delivery left unsettled by a closed handle goes to another handle, as redelivered', async (context) => {
      const h = await setup(context)
      const dying = await h.open()
      const lost = inbox(h.clock)
      await dying.listen('q', 1, lost.deliver)
      const m = message('orphan', { queue: 'q', acksLate: true })
      await dying.add([m])
      await lost.until(1)
      await dying.close()
      const survivor = await h.open()
      const box = inbox(h.clock)
      await survivor.listen('q', 1, box.deliver)
      await h.reclaim()
      await box.until(1)
      expect(box.got[0]!.message).toEqual(m)
      expect(box.got[0]!.redelivered).toBe(true)
      await box.got[0]!.ack(false)
      await h.reclaim()
      await h.settle()
      expect(box.got).toHaveLength(1)
    })

    it('a redelivered message deferred is then delivered as not redelivered', async (context) => {
      const h = await setup(context)
      const dying = await h.open()
      const lost = inbox(h.clock)
      await dying.listen('q', 1, lost.deliver)
      const m = message('orphan-retry', { queue: 'q', acksLate: true })
      await dying.add([m])
      await lost.until(1)
      await dying.close()
      const survivor = await h.open()
      const box = inbox(h.clock)
      await survivor.listen('q', 1, box.deliver)
      await h.reclaim()
      await box.until(1)
      expect(box.got[0]!.redelivered).toBe(true)
      await box.got[0]!.defer({ ...m, retries: 1 }, h.clock.now())
      await box.until(2)
      expect(box.got[1]!.redelivered).toBe(false)
      expect(box.got[1]!.message.retries).toBe(1)
    })

    it('purge(queue) drops the waiting and delayed messages of that queue only, and says how many', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      await t.add([
        message('p1', { queue: 'q1' }),
        message('p2', { queue: 'q1', eta: h.clock.now() + DELAY }),
        message('p3', { queue: 'q1', priority: 7 }),
        message('kept', { queue: 'q2' }),
      ])
      expect(await t.purge('q1')).toBe(3)
      const one = inbox(h.clock)
      const two = inbox(h.clock)
      await t.listen('q1', 4, one.deliver)
      await t.listen('q2', 4, two.deliver)
      await two.until(1)
      await h.advance(DELAY)
      await h.settle()
      expect(one.got).toHaveLength(0)
      expect(two.ids()).toEqual(['kept'])
      expect(await t.purge('q1')).toBe(0)
    })

    it('purge(undefined) drops the waiting messages of every queue', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      await t.add([message('x1', { queue: 'q1' }), message('x2', { queue: 'q2', eta: h.clock.now() + DELAY })])
      expect(await t.purge(undefined)).toBe(2)
      const box = inbox(h.clock)
      await t.listen('q1', 4, box.deliver)
      await t.listen('q2', 4, box.deliver)
      await h.advance(DELAY)
      await h.settle()
      expect(box.got).toHaveLength(0)
    })

    it('remove(ids) takes waiting and delayed messages out and resolves with them; a delivered or unknown id is left', async (context) => {
      const h = await setup(context)
      // The seam's `remove` is on its way to main (the engine's revoke); until then it is optional here.
      const t = (await h.open()) as Transport & { remove?(ids: readonly string[]): Promise<TaskMessage[]> }
      if (t.remove === undefined) throw new Error(`${t.name} has no remove(ids)`)
      const box = inbox(h.clock)
      await t.listen('q1', 1, box.deliver)
      const running = message('r-running', { queue: 'q1' })
      await t.add([running])
      await box.until(1)
      const waiting = message('r-waiting', { queue: 'q1' })
      const delayed = message('r-delayed', { queue: 'q2', eta: h.clock.now() + DELAY })
      const kept = message('r-kept', { queue: 'q1' })
      await t.add([waiting, delayed, kept])
      const removed = await t.remove(['r-waiting', 'r-delayed', 'r-running', 'r-unknown'])
      expect(removed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([delayed, waiting])
      await box.got[0]!.ack(false)
      await box.until(2)
      const other = inbox(h.clock)
      await t.listen('q2', 1, other.deliver)
      await h.advance(DELAY)
      await h.settle()
      expect(box.ids()).toEqual(['r-running', 'r-kept'])
      expect(other.got).toHaveLength(0)
    })

    it('listen twice on a queue is a no-op: the first listener and its concurrency stay', async (context) => {
      const h = await setup(context)
      const t = await h.open()
      const first = inbox(h.clock)
      const second = inbox(h.clock)
      await t.listen('q', 1, first.deliver)
      await t.listen('q', 5, second.deliver)
      await t.add([message('l1', { queue: 'q' }), message('l2', { queue: 'q' })])
      await first.until(1)
      await h.settle()
      expect(first.got).toHaveLength(1)
      expect(second.got).toHaveLength(0)
      await first.got[0]!.ack(false)
      await first.until(2)
      expect(second.got).toHaveLength(0)
    })

    /** Waits (real time) until `events` holds `n`; fails after PATIENCE real ms. */
    async function heard(events: RemoteRunEvent[], n: number): Promise<void> {
      const deadline = Date.now() + PATIENCE
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`waited ${String(PATIENCE)} ms for ${String(n)} events, got ${JSON.stringify(events)}`)
        await new Promise((r) => setTimeout(r, 5))
      }
    }

    it('run reports reach each other handle that listens, once and in order, with the task’s fields; never the handle that holds the run', async (context) => {
      const h = await setup(context)
      const [producer, worker] = [await h.open(), await h.open()]
      const there: RemoteRunEvent[] = []
      const own: RemoteRunEvent[] = []
      const stop = await producer.events!(['ev'], (e) => there.push(e))
      await worker.events!(['ev'], (e) => own.push(e))
      const box = inbox(h.clock)
      await worker.listen('ev', 4, box.deliver)
      await producer.add([
        message('ok', { queue: 'ev', parentId: 'p', rootId: 'r' }),
        message('retry', { queue: 'ev', retries: 1 }),
        message('bad', { queue: 'ev' }),
      ])
      await box.until(3)
      const [ok, retry, bad] = ['ok', 'retry', 'bad'].map((id) => box.got.find((d) => d.message.id === id)!)
      const error = { name: 'Error', message: 'no' }
      await ok!.report!({ type: 'started', at: 1 })
      await ok!.report!({ type: 'progress', at: 2, state: 'PROGRESS', meta: { done: 1 } })
      await ok!.ack(false, { type: 'succeeded', at: 3, result: { sum: 42 }, runtime: 2 })
      await retry!.report!({ type: 'retried', at: 4, error, eta: 99 })
      await retry!.defer({ ...retry!.message, retries: 2 }, h.clock.now())
      await bad!.ack(true, { type: 'failed', at: 5, error, runtime: 1 })
      await heard(there, 5)
      const task = (id: string, fields: Partial<RemoteRunEvent['task']> = {}) => ({
        id,
        name: 'tasks.add',
        queue: 'ev',
        retries: 0,
        parentId: null,
        rootId: id,
        ...fields,
      })
      expect(there).toEqual([
        { type: 'started', at: 1, task: task('ok', { parentId: 'p', rootId: 'r' }) },
        { type: 'progress', at: 2, state: 'PROGRESS', meta: { done: 1 }, task: task('ok', { parentId: 'p', rootId: 'r' }) },
        { type: 'succeeded', at: 3, result: { sum: 42 }, runtime: 2, task: task('ok', { parentId: 'p', rootId: 'r' }) },
        { type: 'retried', at: 4, error, eta: 99, task: task('retry', { retries: 1 }) },
        { type: 'failed', at: 5, error, runtime: 1, task: task('bad') },
      ])
      // An ack with no report says nothing; the handle that held the runs heard none of them.
      await box.until(4)
      await box.got[3]!.ack(false)
      await stop()
      await h.settle()
      expect(there).toHaveLength(5)
      expect(own).toEqual([])
    })

    it('a handle hears reports from the time its events() resolves, on a queue it only sends to later', async (context) => {
      const h = await setup(context)
      const [producer, worker] = [await h.open(), await h.open()]
      const there: RemoteRunEvent[] = []
      await producer.events!([], (e) => there.push(e))
      const box = inbox(h.clock)
      await worker.listen('later', 4, box.deliver)
      await producer.add([message('late', { queue: 'later' })])
      await box.until(1)
      await box.got[0]!.ack(false, { type: 'succeeded', at: 7, result: null, runtime: 0 })
      await heard(there, 1)
      expect(there.map((e) => [e.type, e.task.id, e.task.queue])).toEqual([['succeeded', 'late', 'later']])
    })
  })
}
