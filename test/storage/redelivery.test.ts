/**
 * A re-delivered chord header task is counted once (DESIGN §4). An acksLate task is delivered
 * again only when the process dies while it runs, so these scenarios need durable storage and a
 * restart: they run on file storage. The crash is a copy of the storage directory taken while
 * the engine is quiet (every write that resolved is in it, as after kill -9; the owner's LOCK
 * is left behind), opened by a second app. test/storage/crash.test.ts kills real processes;
 * here the moment of the crash is chosen, so the outcome can be asserted exactly.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { Celeriac, chord, inline, states } from '../../src/index.js'
import type { GroupResult, Task } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { virtualClock } from '../../src/testing.js'
import type { VirtualClock } from '../../src/testing.js'

const dirs: string[] = []
const apps: Celeriac[] = []

afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop({ timeout: 1_000 })
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-redelivery-'))
  dirs.push(dir)
  return dir
}

/** What a kill -9 right now would leave on disk, in a new directory. */
function crashImage(dir: string): string {
  const image = tempDir()
  cpSync(dir, image, { recursive: true, filter: (path) => basename(path) !== 'LOCK' })
  return image
}

interface Started {
  app: Celeriac
  clock: VirtualClock
  lines: string[]
  member: Task<[label: string, ms: number], string>
  body: Task<[values: string[]], string[]>
}

async function start(dir: string, now?: number): Promise<Started> {
  const clock = virtualClock(now === undefined ? {} : { now })
  const app = new Celeriac({ name: 'redelivery', storage: fileStorage({ dir, onWarning: () => {} }), executor: inline(), clock })
  const lines: string[] = []
  app.events.on('log', (e) => lines.push(e.text))
  const member = app.task('rd.member', { bind: true, acksLate: true }, async (self: Task, label: string, ms: number) => {
    self.log.info(`start ${label}${self.request.deliveryInfo.redelivered ? ' redelivered' : ''}`)
    await self.sleep(ms)
    return label
  })
  const body = app.task('rd.body', { bind: true }, (self: Task, values: string[]) => {
    self.log.info(`body ${JSON.stringify(values)}`)
    return values
  })
  await app.start()
  apps.push(app)
  return { app, clock, lines, member, body }
}

it('an acksLate header task running at a crash runs again after the restart; the body runs once, with every result', async () => {
  const dir = tempDir()
  const first = await start(dir)
  const r = await chord([first.member.s('a', 0), first.member.s('b', 5_000)], first.body.s()).delay()
  await first.clock.advance(0)
  expect(first.lines).toEqual(['start a', 'start b'])
  // a is done and counted; b is running, leased.
  const image = crashImage(dir)
  await first.clock.runAll()

  const second = await start(image, first.clock.now())
  await second.clock.advance(0)
  expect(second.lines).toEqual(['start b redelivered'])
  expect(await second.app.AsyncResult(r.id).state()).toBe(states.PENDING)
  await second.clock.advance(5_000)
  expect(await second.app.AsyncResult(r.id).get()).toEqual(['a', 'b'])
  await second.app.whenIdle()
  expect(second.lines).toEqual(['start b redelivered', 'body ["a","b"]'])
})

it('a header task delivered again after it was counted (its ack lost) is not counted again: the body waits for the rest and runs once', async () => {
  const dir = tempDir()
  const first = await start(dir)
  const r = await chord([first.member.s('a', 1_000), first.member.s('b', 5_000)], first.body.s()).delay()
  const aId = (r.parent as unknown as GroupResult).results[0]!.id
  await first.clock.advance(0)
  // Both running: a's message is leased, not yet acked.
  const beforeAck = crashImage(dir)
  await first.clock.advance(1_000)
  // a is done: its result stored, its message acked and the chord counter at 1, in one step.
  const image = crashImage(dir)
  expect(first.lines).toEqual(['start a', 'start b'])
  await first.clock.runAll()

  // Put a's unacked message back, as a broker that lost the ack would deliver it again.
  const old = fileStorage({ dir: beforeAck, onWarning: () => {} })
  await old.open()
  const leased = await old.get('messages', aId)
  await old.close()
  expect(leased).toMatchObject({ id: aId, leased: true, acksLate: true })
  const storage = fileStorage({ dir: image, onWarning: () => {} })
  await storage.open()
  await storage.write([{ op: 'put', ns: 'messages', key: aId, value: leased }])
  await storage.close()

  const second = await start(image, first.clock.now())
  await second.clock.advance(1_000)
  // a ran again and finished; counting it twice would complete the chord without b.
  expect(second.lines).toEqual(['start a redelivered', 'start b redelivered'])
  expect(await second.app.AsyncResult(r.id).state()).toBe(states.PENDING)
  await second.clock.advance(4_000)
  expect(await second.app.AsyncResult(r.id).get()).toEqual(['a', 'b'])
  await second.app.whenIdle()
  expect(second.lines).toEqual(['start a redelivered', 'start b redelivered', 'body ["a","b"]'])
})
