/**
 * An error thrown while the engine expands a canvas node after its parent finished (the next
 * chain step, a chord body, a link) ends that node as FAILURE with a typed error, runs its
 * errbacks as a failure would, counts it as failed where it counts for a chord, and leaves the
 * engine working: before, the run that finished stayed `running` for ever, `runAll()` never
 * settled, and only a `log` event said so. The error here is forced (the expansion throws a
 * plain TypeError, as a bug would) for one task name; test/conformance/nesting-edges.test.ts
 * has the same through a real cause (an undeclared queue).
 */
import { afterEach, expect, it, vi } from 'vitest'
import { Celeriac, ChordError, ConfigError, chain, chord, group, signature, states } from '../../src/index.js'
import type { AsyncResult, Task } from '../../src/index.js'
import type { MessageContext } from '../../src/core/model/context.js'
import type { SignatureJSON } from '../../src/core/model/message.js'
import { virtualClock } from '../../src/testing.js'

/** A node holding this task name throws when it is expanded after a parent (a send as a new root still works). */
const BROKEN = 'x.broken'

vi.mock('../../src/core/canvas/expand.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/core/canvas/expand.js')>()
  return {
    ...original,
    expand: (json: SignatureJSON, context: MessageContext, env: Parameters<typeof original.expand>[2]) => {
      if (context.parentId !== null && JSON.stringify(json).includes(BROKEN)) throw new TypeError('the expansion broke')
      return original.expand(json, context, env)
    },
  }
})

let app: Celeriac | undefined
afterEach(async () => {
  await app?.stop()
  app = undefined
})

async function start() {
  const clock = virtualClock()
  app = new Celeriac({ name: 'expansion-errors', clock })
  const lines: string[] = []
  app.events.on('log', (e) => lines.push(e.text))
  const tag = app.task('x.tag', (...args: unknown[]) => args.map(String).join('+'))
  app.task(BROKEN, () => 'never')
  const errback = app.task('x.errback', { bind: true }, (self: Task, failedId: string, label: string) => {
    self.log.info(`errback ${label} ${failedId}`)
  })
  await app.start()
  const broken = signature(BROKEN)
  const idle = () => {
    expect(app!.inspect.active()).toEqual([])
    expect(app!.inspect.stats()).toEqual({ running: 0, ready: 0, scheduled: 0, parked: 0, paused: 0, pool: null })
  }
  return { app, clock, tag, errback, broken, lines, idle }
}

it('the next chain step: it and the steps after it are FAILURE with a ConfigError, its errback runs once, the engine is idle', async () => {
  const { app, clock, tag, errback, broken, lines, idle } = await start()
  const r = (await app.send(chain(tag.s('a'), broken, tag.s('c')).linkError(errback.s('chain')))) as AsyncResult
  await clock.runAll({ limit: 100 })
  idle()
  const failed = r.parent!
  expect(await failed.parent!.get()).toBe('a')
  for (const handle of [failed, r]) {
    expect(await handle.state()).toBe(states.FAILURE)
    const error = await handle.get().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('the expansion broke')
  }
  expect(lines.filter((l) => l.startsWith('errback'))).toEqual([`errback chain ${failed.id}`])
  // The engine goes on.
  const again = await chain(tag.s('x'), tag.s('y')).delay()
  await clock.runAll({ limit: 100 })
  expect(await again.get()).toBe('x+y')
  idle()
})

it('a chord body, and a chord in an outer chord header: the body is FAILURE, the outer chord fails with ChordError', async () => {
  const { app, clock, tag, broken, idle } = await start()
  const body = await app.send(chord([tag.s('a'), tag.s('b')], broken))
  await clock.runAll({ limit: 100 })
  idle()
  await expect(body.get()).rejects.toThrow(ConfigError)
  const outer = await app.send(chord([chord([tag.s('a')], broken), tag.s('b')], tag.s('c')))
  await clock.runAll({ limit: 100 })
  idle()
  const error = await outer.get().catch((e: unknown) => e)
  expect(error).toBeInstanceOf(ChordError)
  expect((error as ChordError).cause).toBeInstanceOf(ConfigError)
})

it('a chain step in a chord header, a group counted whole there, and a link: the chords fail; the linked task keeps its result', async () => {
  const { app, clock, tag, broken, lines, idle } = await start()
  const step = await app.send(chord([chain(tag.s('a'), broken), tag.s('b')], tag.s('c')))
  const join = await app.send(chord([chain(tag.s('a'), group([broken, tag.s('b')]))], tag.s('c')))
  await clock.runAll({ limit: 100 })
  idle()
  await expect(step.get()).rejects.toThrow(ChordError)
  await expect(join.get()).rejects.toThrow(ChordError)
  const linked = await app.send(tag.s('a').link(broken))
  await clock.runAll({ limit: 100 })
  idle()
  expect(await linked.get()).toBe('a')
  expect(lines.some((l) => l.includes('the expansion broke'))).toBe(true)
})
