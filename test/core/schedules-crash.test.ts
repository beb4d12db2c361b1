/**
 * kill -9 at random points while a schedule fires (file storage, real time): a slot's message and
 * the schedule's progress past it are one storage write, so across every kill and restart each
 * slot is sent once, none lost (`missed: 'all'` sends the ones that fell due while the app was
 * down), and no slot's task runs twice. Kills land at random times after the start, some in the
 * catch-up of the slots missed while down. Rounds: CELERIAC_SCHEDULE_CRASH_ROUNDS (default 30).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import type { ResultRecord } from '../../src/core/model/message.js'
import { decodeError } from '../../src/core/serializer/decode.js'
import { fileStorage } from '../../src/node.js'
import { childLines } from '../child-lines.js'
import { seeded } from '../conformance/setup.js'
import { bundledScript } from '../workers/bundled.js'

const ROUNDS = Number(process.env.CELERIAC_SCHEDULE_CRASH_ROUNDS ?? 30)
/** The child, compiled once per run (test/workers/bundled.ts), not started through tsx. */
const app = bundledScript(new URL('./fixtures/schedules-crash-app.ts', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function launch(dir: string, log: string, mode?: 'drain') {
  const child = spawn(process.execPath, [app, dir, log, ...(mode === undefined ? [] : [mode])], { stdio: ['ignore', 'pipe', 'pipe'] })
  const { exit, waitFor } = childLines(child)
  return { exit, kill: () => child.kill('SIGKILL'), waitFor: (text: string) => waitFor((line) => line === text, text) }
}

it(`sends each slot once across ${String(ROUNDS)} kill -9s, none lost`, async () => {
  const root = mkdtempSync(join(tmpdir(), 'celeriac-schedules-crash-'))
  dirs.push(root)
  const dir = join(root, 'data')
  const log = join(root, 'ran.log')
  const random = seeded(Number(process.env.CELERIAC_CRASH_SEED ?? 18))
  for (let round = 0; round < ROUNDS; round++) {
    const child = launch(dir, log)
    await child.waitFor('ready')
    // Up to 300 ms in: a few slots on time, or still in the catch-up of those missed.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 300)))
    child.kill()
    await child.exit
  }
  const last = launch(dir, log, 'drain')
  await last.waitFor('drained')
  expect(await last.exit).toBe(0)

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
  expect(ran.length).toBeGreaterThanOrEqual(results.size - ROUNDS)
  for (const [id, record] of results) {
    if (record.state === 'SUCCESS') expect(ran).toContain(id)
    else expect([record.state, decodeError(record.result).name]).toEqual(['FAILURE', 'WorkerLostError'])
  }
}, 600_000)
