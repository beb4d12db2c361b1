/**
 * examples/celery runs as its README says, both ways, with Debian's Python Celery (5.2): a Python
 * worker on tasks.py serves node-to-python.ts, and the celeriac worker node-worker.ts serves
 * call_node.py. Each side is a process of its own, started and stopped by its pid. Redis db 15 is
 * the examples' own: what they leave there (results, queues, kombu's bookkeeping, celeriac's
 * keys) is deleted before and after.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { celeryInterop } from '../celery/python-worker.js'
import { childLines } from '../child-lines.js'

const run = promisify(execFile)
const EXAMPLE = fileURLToPath(new URL('../../examples/celery/', import.meta.url))
const URL_15 = 'redis://127.0.0.1:6379/15'
const env = { ...process.env, CELERY_URL: URL_15, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' }

const { python, skipWhy } = await celeryInterop()

/** Every process started here: one a timed-out test left running is killed after the file. */
const started = new Set<ChildProcess>()

/** Deletes what the examples leave in db 15. */
async function clean(redis: Redis): Promise<void> {
  const lists = ['celery', 'node'].flatMap((q) => [q, ...[3, 6, 9].map((s) => `${q}\x06\x16${String(s)}`)])
  const found: string[] = [...lists, 'unacked', 'unacked_index', 'unacked_mutex']
  for (const pattern of ['celery-task-meta-*', 'celery-taskset-meta-*', 'celeriac:*', '_kombu.binding.*']) {
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      found.push(...keys)
      cursor = next
      if (cursor === '0') break
    }
  }
  await redis.del(...found)
}

/** Ends `child` with SIGTERM (a warm shutdown), SIGKILL after 10 s; resolves with its exit code. */
async function stop(child: ChildProcess, exit: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await exit
  clearTimeout(timer)
  return code
}

describe.skipIf(skipWhy !== '')(`examples/celery${skipWhy}`, () => {
  let redis: Redis
  beforeAll(async () => {
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: 15 })
    await clean(redis)
  })
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await clean(redis)
    redis.disconnect()
  })

  it('node-to-python.ts: args, kwargs, a chain, a chord and an exception, run by a Python worker on tasks.py', async () => {
    // solo: one process is enough here; the README's command runs Celery's default prefork pool.
    const worker = spawn(
      python!,
      ['-m', 'celery', '-A', 'tasks', 'worker', '-Q', 'celery', '--pool=solo', '--without-heartbeat', '--without-gossip', '--without-mingle', '-l', 'INFO'],
      { cwd: EXAMPLE, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    started.add(worker)
    let log = ''
    worker.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()))
    const exit = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)))
    try {
      await new Promise<void>((resolve, reject) => {
        const onData = (): void => {
          if (/ ready\.\s*$/m.test(log)) resolve()
        }
        worker.stderr.on('data', onData)
        void exit.then(() => reject(new Error(`the Python worker exited before it was ready:\n${log}`)))
        setTimeout(() => reject(new Error(`the Python worker was not ready within 30 s:\n${log}`)), 30_000).unref()
      })
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/celery/node-to-python.ts'], { env, timeout: 60_000 })
      expect(stdout.trim().split('\n')).toEqual([
        'tasks.add(2, 3) = 5',
        'tasks.greet = Hi, Ada!',
        'chain(add(2, 2), mul(10)) = 40',
        'chord(squares of 1..4, xsum) = 30',
        'tasks.divide(1, 0) raised ZeroDivisionError: division by zero',
      ])
    } finally {
      await stop(worker, exit)
    }
  }, 90_000)

  it('call_node.py: send_task, kwargs, a stub .delay() and a TypeError, served by node-worker.ts', async () => {
    const worker = spawn(process.execPath, ['--import', 'tsx', 'examples/celery/node-worker.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    started.add(worker)
    const lines = childLines(worker)
    try {
      await lines.waitFor((l) => l.startsWith('celeriac worker ready'), 'that it is ready')
      const { stdout } = await run(python!, ['call_node.py'], { cwd: EXAMPLE, env, timeout: 60_000 })
      expect(stdout.trim().split('\n')).toEqual([
        'node.add(2, 3) = 5',
        'node.greet = Hi, Ada!',
        'add.delay(20, 22) = 42',
        'ten adds = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]',
        'node.parse raised TypeError: "not a number" is not a number',
      ])
    } finally {
      // The warm shutdown ends the process with Celery's code for SIGTERM: 0.
      expect(await stop(worker, lines.exit)).toBe(0)
    }
    // Every message was acked: nothing left in kombu's bookkeeping.
    expect(await redis.hlen('unacked')).toBe(0)
  }, 90_000)
})
