/**
 * One producer (this process) and three worker processes on the local Redis through
 * bullmqTransport run 5,000 tasks: plain early-ack tasks, acksLate tasks, chains of three,
 * chords of four with a sum body, and tasks that retry once. Once a third of the runs are on
 * record one worker is killed with SIGKILL mid-run. Afterwards every task is accounted for:
 * done; failed with WorkerLostError (an early-ack task that had started in the killed worker,
 * or a chain / chord that contains one); run again under acksLate. No chord body ran twice, no
 * chain step ran twice, no early-ack task ran twice.
 *
 * Real time (BullMQ's locks and stall checks run on Redis's clock): the workers use a 1 s lock
 * and a 0.5 s stall check, so the dead worker's jobs come back within seconds. The size:
 * CELERIAC_CLUSTER_TASKS (default 5,000), kills: CELERIAC_CLUSTER_KILLS (default 1). Workers are bundled once with esbuild, as
 * test/bullmq/kill9.test.ts does (a tsx start costs seconds on a loaded machine).
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
import { Celeriac, ChordError, WorkerLostError, chain, chord } from '../../src/index.js'
import type { AsyncResult } from '../../src/index.js'
import { childLines } from '../child-lines.js'
import { deleteKeys } from '../bullmq/backends.js'
import { reachable } from '../reachable.js'
import { defineClusterTasks } from './fixtures/cluster-tasks.js'

const REDIS = { host: '127.0.0.1', port: 6379 } as const
const up = await reachable(REDIS.host, REDIS.port)
const TASKS = Number(process.env.CELERIAC_CLUSTER_TASKS ?? 5_000)
const WORKERS = 3
/** Workers killed, one after another (each replaced but the last): CELERIAC_CLUSTER_KILLS, default 1. */
const KILLS = Number(process.env.CELERIAC_CLUSTER_KILLS ?? 1)
const WAIT = { timeout: 120_000 + TASKS * 10 }

describe.skipIf(!up)(`three worker processes on Redis, one killed mid-run${up ? '' : ': skipped, no Redis at 127.0.0.1:6379'}`, () => {
  const prefix = `celeriac-cluster-${randomUUID()}`
  const out = mkdtempSync(join(tmpdir(), 'celeriac-cluster-'))
  const bundle = join(out, 'cluster-worker.mjs')
  const workers: Array<{ pid: number; kill(signal: NodeJS.Signals): void; exit: Promise<number | null> }> = []
  let producer: Celeriac | undefined
  const redis = new Redis(REDIS)

  beforeAll(async () => {
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/cluster-worker.ts', import.meta.url))],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'warning',
    })
  })

  afterAll(async () => {
    await producer?.stop()
    for (const w of workers) w.kill('SIGTERM')
    await Promise.all(workers.map((w) => w.exit))
    await redis.quit()
    await deleteKeys(prefix)
    rmSync(out, { recursive: true, force: true })
  })

  it(`accounts for every one of ${String(TASKS)} tasks after a SIGKILL`, { timeout: 300_000 + TASKS * 20 }, async () => {
    const launch = async (name: string): Promise<void> => {
      const proc = spawn(process.execPath, [bundle, prefix, name], { stdio: ['ignore', 'pipe', 'pipe'] })
      const lines = childLines(proc)
      workers.push({ pid: proc.pid!, kill: (s) => proc.kill(s), exit: lines.exit })
      await lines.waitFor((l) => l === 'ready', 'ready')
    }
    for (let i = 0; i < WORKERS; i++) await launch(`worker-${String(i)}`)
    producer = new Celeriac({ name: 'producer', consume: false, transport: bullmqTransport({ connection: { ...REDIS }, prefix }) })
    const t = defineClusterTasks(producer)
    await producer.start()

    // The mix, in tasks: 40% plain, 20% acksLate, 18% chain steps (3 each), 15% chords (4 + body),
    // 7% retried once; interleaved, so that the killed worker holds some of each kind.
    const unit = TASKS / 100
    type Sent = { kind: 'plain' | 'late' | 'chain' | 'chord' | 'flaky'; i: number; r: AsyncResult<number> }
    const kinds: Array<[Sent['kind'], number, (i: number) => Promise<AsyncResult<unknown>>]> = [
      ['plain', 40 * unit, (i) => t.add.delay(i, 1)],
      ['late', 20 * unit, (i) => t.lateAdd.delay(i, 2)],
      ['chain', 6 * unit, (i) => chain(t.add.s(i, 1), t.add.s(1), t.add.s(1)).delay()],
      ['chord', 3 * unit, (i) => chord([t.add.s(i, 0), t.add.s(i, 1), t.add.s(i, 2), t.add.s(i, 3)], t.sum.s()).delay()],
      ['flaky', 7 * unit, (i) => t.flaky.delay(i)],
    ]
    const sends: Array<Promise<Sent>> = []
    for (let i = 0; i < 40 * unit; i++)
      for (const [kind, n, send] of kinds) if (i < n) sends.push(send(i).then((r) => ({ kind, i, r: r as AsyncResult<number> })))
    const sent = await Promise.all(sends)

    // Kill a worker once a share of the runs are on record (a third with one kill); with more
    // kills, a fresh worker takes each killed one's place.
    const victims: string[] = []
    for (let k = 1; k <= KILLS; k++) {
      while ((await redis.llen(`${prefix}:runs`)) < (TASKS * k) / (KILLS + 2)) await new Promise((r) => setTimeout(r, 20))
      const victim = workers[k - 1]!
      victim.kill('SIGKILL')
      expect(await victim.exit).toBeNull()
      victims.push(String(victim.pid))
      if (k < KILLS) await launch(`worker-${String(WORKERS + k - 1)}`)
    }

    const ends = await Promise.all(sent.map(async ({ kind, i, r }) => ({ kind, i, r, end: await r.get(WAIT).catch((e: unknown) => e as Error) })))
    const expected = {
      plain: (i: number) => i + 1,
      late: (i: number) => i + 2,
      chain: (i: number) => i + 3,
      chord: (i: number) => 4 * i + 6,
      flaky: (i: number) => i,
    }
    const runs = await redis.lrange(`${prefix}:runs`, 0, -1)
    // A task never finished: say where it is (BullMQ's job, the stored record, its runs) before failing.
    const stuck = ends.filter(({ end }) => end instanceof Error && end.name === 'TimeoutError')
    for (const { kind, i, r } of stuck.slice(0, 5)) process.stdout.write(`stuck ${kind} ${String(i)}: ${await whereIs(redis, prefix, r.id, runs)}\n`)
    expect(stuck.map(({ kind, i, r }) => `${kind} ${String(i)} ${r.id}`)).toEqual([])
    const lost: Record<Sent['kind'], number> = { plain: 0, late: 0, chain: 0, chord: 0, flaky: 0 }
    let bodiesLost = 0
    for (const { kind, i, r, end } of ends) {
      if (typeof end === 'number') {
        expect(end, `${kind} ${String(i)}`).toBe(expected[kind](i))
        continue
      }
      lost[kind]++
      // Early-ack work that had started in the killed worker, or a chain / chord holding some.
      if (kind !== 'chord') expect(end, `${kind} ${String(i)}: ${String(end)}`).toBeInstanceOf(WorkerLostError)
      else if (end instanceof WorkerLostError) {
        // The body itself (early-ack) was running in a killed worker: all four members were in.
        expect(
          victims.some((pid) => runs.includes(`sum|${r.id}|${pid}`)),
          `chord ${String(i)}: ${end.message}`,
        ).toBe(true)
        bodiesLost++
      } else expect(end, `chord ${String(i)}: ${String(end)}`).toBeInstanceOf(ChordError)
    }
    // acksLate tasks are never lost: run again.
    expect(lost.late).toBe(0)

    // Runs: no chord body, chain step or other early-ack task ran twice; only acksLate ones may.
    const count = new Map<string, number>()
    const pids = new Map<string, Set<string>>()
    for (const line of runs) {
      const [task, id, pid] = line.split('|') as [string, string, string]
      if (task === 'flaky') continue // a retry is a second run of the same id, on purpose
      count.set(`${task}|${id}`, (count.get(`${task}|${id}`) ?? 0) + 1)
      let set = pids.get(id)
      if (set === undefined) pids.set(id, (set = new Set()))
      set.add(pid)
    }
    const twice = [...count].filter(([key, n]) => n > 1 && !key.startsWith('lateAdd|'))
    expect(twice).toEqual([])
    // Every acksLate task that ran more than once had a run in a killed worker.
    for (const [key, n] of count) {
      if (n > 1) expect([...(pids.get(key.split('|')[1]!) ?? [])].some((pid) => victims.includes(pid))).toBe(true)
    }
    // The killed worker did run tasks: the crash landed mid-run.
    for (const pid of victims) expect(runs.some((line) => line.endsWith(`|${pid}`))).toBe(true)
    const again = [...count].filter(([k, n]) => n > 1 && k.startsWith('lateAdd|')).length
    process.stdout.write(
      `cluster: ${String(runs.length)} runs, lost ${JSON.stringify(lost)} (chord bodies lost while running: ${String(bodiesLost)}), acksLate run again: ${String(again)}\n`,
    )
  })
})

/** Where message `id` is: its BullMQ job (state, counters, data), its stored result and outbox entry, its runs. */
async function whereIs(redis: Redis, prefix: string, id: string, runs: readonly string[]): Promise<string> {
  const job = `${prefix}:default:${id}`
  const [fields, wait, active, delayed, prioritized, completed, failed, result, outbox] = await Promise.all([
    redis.hgetall(job),
    redis.lpos(`${prefix}:default:wait`, id),
    redis.lpos(`${prefix}:default:active`, id),
    redis.zscore(`${prefix}:default:delayed`, id),
    redis.zscore(`${prefix}:default:prioritized`, id),
    redis.zscore(`${prefix}:default:completed`, id),
    redis.zscore(`${prefix}:default:failed`, id),
    redis.get(`${prefix}::results:${id}`),
    redis.get(`${prefix}::messages:${id}`),
  ])
  const where = { wait, active, delayed, prioritized, completed, failed }
  const { data, ...counters } = fields
  return JSON.stringify({ where, counters, data, result, outbox, runs: runs.filter((line) => line.includes(id)) })
}
