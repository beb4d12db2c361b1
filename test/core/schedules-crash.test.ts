/**
 * kill -9 at random points while a schedule fires (file storage, real time): a slot's message and
 * the schedule's progress past it are one storage write, so across every kill and restart each
 * slot is sent once, none lost (`missed: 'all'` sends the ones that fell due while the app was
 * down), and no slot's task runs twice. Kills land at random times after the start, some in the
 * catch-up of the slots missed while down. Rounds: CELERIAC_SCHEDULE_CRASH_ROUNDS (default 30).
 * Each incarnation is spawned while the one before runs and starts up meanwhile (node and the
 * bundle's imports, most of a round's time); it builds its app only when told to, once the one
 * before is dead (test/child-go.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import type { ResultRecord } from '../../src/core/model/message.js'
import { DEFAULT_CONCURRENCY } from '../../src/core/model/options.js'
import { decodeError } from '../../src/core/serializer/decode.js'
import { fileStorage } from '../../src/node.js'
import { spawnIncarnation } from '../incarnation.js'
import type { Incarnation } from '../incarnation.js'
import { seeded } from '../conformance/setup.js'
import { bundledScript } from '../workers/bundled.js'

const ROUNDS = Number(process.env.CELERIAC_SCHEDULE_CRASH_ROUNDS ?? 30)
/** The child, compiled once per run (test/workers/bundled.ts), not started through tsx. */
const app = bundledScript(new URL('./fixtures/schedules-crash-app.ts', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function launch(dir: string, log: string, mode?: 'drain'): Incarnation {
  return spawnIncarnation(app, [dir, log, ...(mode === undefined ? [] : [mode])])
}

it(`sends each slot once across ${String(ROUNDS)} kill -9s, none lost`, async () => {
  const root = mkdtempSync(join(tmpdir(), 'celeriac-schedules-crash-'))
  dirs.push(root)
  const dir = join(root, 'data')
  const log = join(root, 'ran.log')
  const random = seeded(Number(process.env.CELERIAC_CRASH_SEED ?? 18))
  let next = launch(dir, log, ROUNDS === 0 ? 'drain' : undefined)
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const child = next
      child.go()
      await child.waitFor('ready')
      next = launch(dir, log, round + 1 === ROUNDS ? 'drain' : undefined)
      // Up to 300 ms in: a few slots on time, or still in the catch-up of those missed.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 300)))
      child.kill()
      await child.exit
    }
    const last = next
    last.go()
    await last.waitFor('drained')
    expect(await last.exit).toBe(0)
  } finally {
    // One spawned ahead and left waiting when a round failed.
    next.kill()
  }

  const storage = fileStorage({ dir })
  await storage.open()
  const results = new Map((await storage.entries('results')).map(([id, record]) => [id, record as ResultRecord]))
  const queued = await storage.entries('messages')
  await storage.close()
  const dues = [...results.keys()].map((id) => Number(/^beat@(\d+)$/.exec(id)![1])).sort((a, b) => a - b)
  // Every slot from the first to the last, 50 ms apart: none lost, none twice (one id each).
  expect(dues.length).toBeGreaterThan(ROUNDS)
  expect(dues.every((due, i) => due === dues[0]! + i * 50)).toBe(true)
  expect(queued).toEqual([])
  // Each ran to SUCCESS, or was running at a kill (early ack: FAILURE WorkerLostError, never again).
  const ran = readFileSync(log, 'utf8').trim().split('\n')
  expect(new Set(ran).size).toBe(ran.length)
  // Not run: the early-ack starts a kill caught between their stored start and their body (one
  // tick's batch, up to the queue's concurrency, when a catch-up makes many due at once; on a
  // loaded machine more than one a kill).
  expect(results.size - ran.length).toBeLessThanOrEqual(ROUNDS * DEFAULT_CONCURRENCY)
  for (const [id, record] of results) {
    if (record.state === 'SUCCESS') expect(ran).toContain(id)
    else expect([record.state, decodeError(record.result).name]).toEqual(['FAILURE', 'WorkerLostError'])
  }
}, 600_000)
