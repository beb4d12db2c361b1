/**
 * A schedule on bullmqTransport with two worker processes on Redis db 7, one killed with SIGKILL
 * while slots run: BullMQ's scheduler goes on in the other, every slot is sent once (no task id
 * runs twice; an early-ack slot that had started in the killed process ends WorkerLostError, one
 * only prefetched runs in the other), and the schedule makes exactly its `limit` of slots.
 * Real time (BullMQ's locks: 1 s, stall checks 0.5 s); the worker is bundled once with esbuild,
 * as multiprocess.test.ts does.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bullmqTransport } from '../../src/bullmq/index.js'
import { Celeriac, WorkerLostError } from '../../src/index.js'
import { childLines } from '../child-lines.js'
import { reachable } from '../reachable.js'

const REDIS = { host: '127.0.0.1', port: 6379, db: 7 } as const
const up = await reachable(REDIS.host, REDIS.port)
const LIMIT = 20

describe.skipIf(!up)(`a schedule across two worker processes, one killed${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  const prefix = `celeriac-sched-kill-${randomUUID()}`
  const out = mkdtempSync(join(tmpdir(), 'celeriac-sched-kill-'))
  const bundle = join(out, 'schedule-worker.mjs')
  const workers: Array<{ kill(signal: NodeJS.Signals): void; exit: Promise<number | null> }> = []
  const redis = new Redis(REDIS)
  let reader: Celeriac | undefined

  beforeAll(async () => {
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/schedule-worker.ts', import.meta.url))],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'warning',
    })
  })

  afterAll(async () => {
    await reader?.stop()
    for (const w of workers) w.kill('SIGTERM')
    await Promise.all(workers.map((w) => w.exit))
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
    await redis.quit()
    rmSync(out, { recursive: true, force: true })
  })

  it('sends each slot once and makes exactly its limit of slots after a SIGKILL', { timeout: 60_000 }, async () => {
    const launch = async (): Promise<(typeof workers)[number]> => {
      const proc = spawn(process.execPath, [bundle, prefix], { stdio: ['ignore', 'pipe', 'pipe'] })
      const lines = childLines(proc)
      const worker = { kill: (s: NodeJS.Signals) => proc.kill(s), exit: lines.exit }
      workers.push(worker)
      await lines.waitFor((l) => l === 'ready', 'ready')
      return worker
    }
    const victim = await launch()
    await launch()
    // Kill one once a few slots have run (it may hold a slot, running or prefetched).
    while ((await redis.llen(`${prefix}:runs`)) < 5) await new Promise((r) => setTimeout(r, 20))
    victim.kill('SIGKILL')
    expect(await victim.exit).toBeNull()

    reader = new Celeriac({ name: 'reader', consume: false, transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    await reader.start()
    // Wait for the schedule to have made its last slot and every slot to have an outcome.
    const deadline = Date.now() + 45_000
    for (;;) {
      const [beat] = await reader.schedules.list()
      if (beat?.count === LIMIT && beat.next === null) break
      if (Date.now() > deadline) throw new Error(`the schedule did not end: ${JSON.stringify(beat)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const admin = new (await import('bullmq')).Queue('default', { connection: { ...REDIS }, prefix })
    const slotIds = (await admin.getJobs(['completed', 'failed', 'active', 'waiting', 'prioritized', 'delayed'])).map((j) => j.id!)
    await admin.close()
    const slots = slotIds.map((id) => `beat@${id.slice('repeat:beat:'.length)}`).sort()
    expect(slots).toHaveLength(LIMIT)
    const ends = await Promise.all(
      slots.map((id) =>
        reader!
          .AsyncResult(id)
          .get({ timeout: 15_000 })
          .catch((e: unknown) => e),
      ),
    )
    for (const [i, end] of ends.entries()) {
      if (end !== slots[i]) expect(end, slots[i]).toBeInstanceOf(WorkerLostError)
    }
    const runs = await redis.lrange(`${prefix}:runs`, 0, -1)
    // No slot ran twice, and each ran (a WorkerLostError one started in the killed process).
    expect(runs.length).toBe(new Set(runs).size)
    expect([...runs].sort()).toEqual(slots)
  })
})
