/**
 * Canvases across the languages on Celery's own wire: chains, groups and chords that Python
 * builds run on celeriac workers (which forward the chain, call links and count chord members
 * Celery's way), on Python workers, or on both, and the same from a celeriac sender. Real Python
 * Celery 5.2 callers and workers (Debian's python3-celery), child processes by pid; real time.
 * Redis db 8, a queue and key prefix per test, keys deleted.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, chain, chord, group, signature } from '../../src/index.js'
import { celeryInterop, type PythonWorker, pythonResult, runPythonCanvas, startPythonWorker } from './python-worker.js'

const DB = 8
const URL = `redis://127.0.0.1:6379/${String(DB)}`
const { python, skipWhy } = await celeryInterop()

describe.skipIf(skipWhy !== '')(`Canvases across Python and Node over Celery's wire${skipWhy}`, () => {
  let redis: Redis
  const apps: Celeriac[] = []
  const workers: PythonWorker[] = []
  const queues: string[] = []
  const prefixes: string[] = []

  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: DB })
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()))
    await Promise.all(workers.splice(0).map((worker) => worker.stop()))
    // Everything of this db that the tests made: results, chord keys, queues, celeriac's own.
    const patterns = [
      'celery-task-meta-*',
      'celery-taskset-meta-*',
      ...queues.map((q) => `${q}*`),
      ...queues.map((q) => `_kombu.binding.${q}`),
      ...prefixes.map((p) => `${p}::*`),
    ]
    for (const pattern of patterns) {
      const found = await redis.keys(pattern)
      if (found.length > 0) await redis.del(...found)
    }
    await redis.del('unacked', 'unacked_index')
    queues.length = 0
    prefixes.length = 0
  })
  afterAll(() => redis.disconnect())

  function names(): { node: string; py: string; prefix: string } {
    const run = randomUUID().slice(0, 8)
    const names = { node: `celeriac-cv-node-${run}`, py: `celeriac-cv-py-${run}`, prefix: `celeriac-cv-${run}` }
    queues.push(names.node, names.py)
    prefixes.push(names.prefix)
    return names
  }

  /** A celeriac worker serving `queue` with node.add, node.mul, node.sum and node.typeError. */
  function nodeWorker(queue: string, prefix: string): Celeriac {
    const app = new Celeriac({ transport: celeryTransport({ url: URL, prefix, queues: [queue] }), queues: { [queue]: {} } })
    app.task('node.add', (a: number, b: number) => a + b)
    app.task('node.mul', (a: number, b: number) => a * b)
    app.task('node.sum', (numbers: number[]) => numbers.reduce((a, b) => a + b, 0))
    app.task('node.typeError', (text: string) => {
      throw new TypeError(text)
    })
    apps.push(app)
    return app
  }

  async function pythonWorker(queue: string): Promise<void> {
    workers.push(await startPythonWorker(python!, URL, queue))
  }

  it('runs a chain Python sends to celeriac tasks: each step forwarded with the result prepended (not to an immutable one), each with its parent', {
    timeout: 60_000,
  }, async () => {
    const { node, prefix } = names()
    await nodeWorker(node, prefix).start()
    const out = await runPythonCanvas(python!, URL, {
      chain: [
        { task: 'node.add', args: [1, 2], queue: node },
        { task: 'node.mul', args: [10], queue: node },
        { task: 'node.add', args: [100, 5], queue: node, immutable: true },
      ],
    })
    expect(out.get).toEqual({ ok: true, value: 105 })
    expect(out.parents.map((p) => p.state)).toEqual(['SUCCESS', 'SUCCESS'])
    // Each step's parent is the step before it (celeriac does not list a chain's next step in
    // `children`, where a Python worker does: NOTES).
    const [second, first] = out.parents
    const meta = JSON.parse((await redis.get(`celery-task-meta-${second!.id}`))!) as { result: number; parent_id: string }
    expect(meta).toMatchObject({ result: 30, parent_id: first!.id })
    const last = JSON.parse((await redis.get(`celery-task-meta-${out.id}`))!) as { parent_id: string }
    expect(last.parent_id).toBe(second!.id)
  })

  it('runs a group and a chord Python sends to celeriac tasks, and fails the chord body with ChordError when a member fails', { timeout: 60_000 }, async () => {
    const { node, prefix } = names()
    await nodeWorker(node, prefix).start()
    const grouped = await runPythonCanvas(python!, URL, { group: [1, 2, 3].map((n) => ({ task: 'node.add', args: [n, n], queue: node })) })
    expect(grouped.get).toEqual({ ok: true, value: [2, 4, 6] })
    const chorded = await runPythonCanvas(python!, URL, {
      chord: [1, 2, 3].map((n) => ({ task: 'node.add', args: [n, n], queue: node })),
      body: { task: 'node.sum', queue: node },
    })
    expect(chorded.get).toEqual({ ok: true, value: 12 })
    // Fired once: the chord's keys are gone.
    expect(await redis.keys('celery-taskset-meta-*')).toEqual([])
    const failed = await runPythonCanvas(python!, URL, {
      chord: [
        { task: 'node.add', args: [1, 1], queue: node },
        { task: 'node.typeError', args: ['boom'], queue: node },
      ],
      body: { task: 'node.sum', queue: node },
    })
    // The body's own result is Celery's ChordError naming the member and its exception.
    expect(failed.fresh).toMatchObject({ ok: false, type: 'ChordError', module: 'celery.exceptions' })
    expect(failed.fresh.args![0]).toMatch(/^Dependency [0-9a-f-]{36} raised TypeError\('boom'\)$/)
    expect(pythonResult(python!, URL, failed.id).state).toBe('FAILURE')
  })

  it('runs mixed chains and chords: steps and chord members on Python and celeriac workers, bodies on either', { timeout: 60_000 }, async () => {
    const { node, py, prefix } = names()
    await nodeWorker(node, prefix).start()
    await pythonWorker(py)
    const chained = await runPythonCanvas(python!, URL, {
      chain: [
        { task: 'node.add', args: [1, 2], queue: node },
        { task: 'tasks.add', args: [10], queue: py },
        { task: 'node.mul', args: [2], queue: node },
      ],
    })
    expect(chained.get).toEqual({ ok: true, value: 26 })
    const pythonBody = await runPythonCanvas(python!, URL, {
      chord: [
        { task: 'node.add', args: [1, 1], queue: node },
        { task: 'tasks.add', args: [2, 2], queue: py },
        { task: 'node.add', args: [3, 3], queue: node },
      ],
      body: { task: 'tasks.xsum', queue: py },
    })
    expect(pythonBody.get).toEqual({ ok: true, value: 12 })
    const nodeBody = await runPythonCanvas(python!, URL, {
      chord: [
        { task: 'tasks.add', args: [1, 1], queue: py },
        { task: 'node.add', args: [2, 2], queue: node },
        { task: 'tasks.add', args: [3, 3], queue: py },
      ],
      body: { task: 'node.sum', queue: node },
    })
    expect(nodeBody.get).toEqual({ ok: true, value: 12 })
    expect(await redis.keys('celery-taskset-meta-*')).toEqual([])
  })

  it('runs chains and chords a celeriac app sends, on celeriac workers and across both languages', { timeout: 60_000 }, async () => {
    const { node, py, prefix } = names()
    const worker = nodeWorker(node, prefix)
    await worker.start()
    await pythonWorker(py)
    const onNode = { queue: node }
    const add = (...args: number[]) => signature('node.add', { args, options: onNode })
    const mul = (...args: number[]) => signature('node.mul', { args, options: onNode })
    const sum = signature('node.sum', { options: onNode })
    const pyAdd = (...args: number[]) => signature('tasks.add', { args, options: { queue: py } })
    const r1 = await worker.send(chain(add(1, 2), mul(10), add(5)))
    expect(await r1.get({ timeout: 30_000 })).toBe(35)
    const r2 = await worker.send(chord([add(1, 1), add(2, 2)], sum))
    expect(await r2.get({ timeout: 30_000 })).toBe(6)
    const r3 = await worker.send(chain(add(1, 2), pyAdd(10), mul(2)))
    expect(await r3.get({ timeout: 30_000 })).toBe(26)
    const r4 = await worker.send(chord([pyAdd(1, 1), add(2, 2), pyAdd(3, 3)], sum))
    expect(await r4.get({ timeout: 30_000 })).toBe(12)
    const r5 = await worker.send(group([add(1, 1), pyAdd(2, 2)]))
    expect(await r5.get({ timeout: 30_000 })).toEqual([2, 4])
  })

  it('sends nested canvases to Python workers as Celery group, chain and chord dicts, and serves those Python sends', { timeout: 90_000 }, async () => {
    const { node, py, prefix } = names()
    const worker = nodeWorker(node, prefix)
    await worker.start()
    await pythonWorker(py)
    const onNode = { queue: node }
    const add = (...args: number[]) => signature('node.add', { args, options: onNode })
    const sum = signature('node.sum', { options: onNode })
    const pyAdd = (...args: number[]) => signature('tasks.add', { args, options: { queue: py } })
    const pyXsum = signature('tasks.xsum', { options: { queue: py } })
    // A Python step forwards to a group: Python expands it, with the ids celeriac gave its members.
    const r1 = await worker.send(chain(pyAdd(1, 2), group([pyAdd(10), add(20)])))
    expect(await r1.get({ timeout: 30_000 })).toEqual([13, 23])
    // A Python step forwards to a chord (its result given to each header task), header on both languages.
    const r2 = await worker.send(chain(pyAdd(1, 1), chord([pyAdd(1), add(2)], sum)))
    expect(await r2.get({ timeout: 30_000 })).toBe(7)
    // A chord followed by a step: the body and that step travel as a chain in the chord's embed.
    const r3 = await worker.send(chain(chord([pyAdd(1, 1), pyAdd(2, 2)], pyXsum), pyAdd(100)))
    expect(await r3.get({ timeout: 30_000 })).toBe(106)
    // Python sends the same shapes to celeriac steps: the engine forwards a group and a chord.
    const grouped = await runPythonCanvas(python!, URL, {
      chain: [
        { task: 'node.add', args: [1, 2], queue: node },
        {
          group: [
            { task: 'node.add', args: [10], queue: node },
            { task: 'tasks.add', args: [20], queue: py },
          ],
        },
      ],
    })
    expect(grouped.get).toEqual({ ok: true, value: [13, 23] })
    const chorded = await runPythonCanvas(python!, URL, {
      chain: [
        { task: 'node.add', args: [1, 1], queue: node },
        {
          chord: [
            { task: 'node.add', args: [1], queue: node },
            { task: 'tasks.add', args: [2], queue: py },
          ],
          body: { task: 'tasks.xsum', queue: py },
        },
      ],
    })
    expect(chorded.get).toEqual({ ok: true, value: 7 })
  })
})
