/**
 * Process lifetime, with real child processes (test/adapters/fixtures/lifetime-app.ts): a
 * consuming app holds Node open until stop() (`keepAlive`, unless false), a threads app exits
 * after stop(), and `shutdownOnSignals` does Celery's warm shutdown on the first SIGINT (the
 * running task finishes, queued ones stay queued, the storage is closed, exit code 1 as Celery's
 * SIGINT handler) and a cold one on the second (exit at once, code 1).
 *
 * That a process stays alive is shown by order, not by time: the child prints `turns done` a few
 * event-loop turns after its main module ended, and `beforeExit` when nothing holds it any more;
 * the test sends `stop` only after it read `turns done`, so `beforeExit` after `stop requested`
 * means the app held the process until then. Timeouts only bound the tests.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Celeriac, ConfigError, WorkerLostError, states } from '../../src/index.js'
import type { ResultRecord, TaskMessage } from '../../src/core/model/message.js'
import { fileStorage, shutdownOnSignals, threads } from '../../src/node.js'
import { childLines } from '../child-lines.js'
import { bundledScript, bundledThreads } from '../workers/bundled.js'
import { RELEASE_CHANNEL, defineLifetimeTasks } from './fixtures/lifetime-tasks.js'

/** The child, compiled once per run (test/workers/bundled.ts), not started through tsx. */
const fixture = bundledScript(new URL('./fixtures/lifetime-app.ts', import.meta.url))
/** Bounds one test: a few child processes starting on a loaded machine. */
const BOUND = 60_000

interface Child {
  readonly lines: string[]
  readonly exit: Promise<number | null>
  /** Resolves once a line equal to `line` was printed; rejects if the process exits first. */
  waitFor(line: string): Promise<void>
  send(line: string): void
  signal(signal: NodeJS.Signals): void
}

const children: Array<{ kill(): void }> = []
const dirs: string[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill()
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function launch(scenario: string, options: { dir?: string; keepAlive?: false; idleWait?: 'atomics' } = {}): Child {
  const child = spawn(process.execPath, [fixture, scenario, ...(options.dir === undefined ? [] : [options.dir])], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...(options.keepAlive === false ? { LIFETIME_KEEP_ALIVE: 'false' } : {}),
      ...(options.idleWait === undefined ? {} : { LIFETIME_IDLE_WAIT: options.idleWait }),
    },
  })
  children.push({ kill: () => child.kill('SIGKILL') })
  // Writing to a child that already exited (the bug some tests look for) is not the failure.
  child.stdin.on('error', () => undefined)
  const { lines, exit, waitFor } = childLines(child)
  return {
    lines,
    exit,
    waitFor: (line) => waitFor((printed) => printed === line, `'${line}'`),
    send: (line) => child.stdin.write(`${line}\n`),
    signal: (signal) => child.kill(signal),
  }
}

function storageDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-lifetime-'))
  dirs.push(dir)
  return dir
}

/** Opens the directory as a next start would, and reads it. */
async function readStorage(dir: string) {
  const storage = fileStorage({ dir })
  await storage.open()
  const results = new Map((await storage.entries('results')).map(([k, v]) => [k, v as ResultRecord]))
  const messages = new Map((await storage.entries('messages')).map(([k, v]) => [k, v as TaskMessage]))
  await storage.close()
  return { results, messages }
}

/** Starts the next incarnation in this process: the work the child left runs here. */
async function nextStart(dir: string): Promise<Celeriac> {
  const app = new Celeriac({ name: 'lifetime', storage: fileStorage({ dir }), keepAlive: false })
  app.task('life.add', (a: number, b: number) => a + b)
  app.task('life.until-sigint', (label: string) => `${label} again`)
  app.task('life.late-forever', { acksLate: true }, (label: string) => `${label} again`)
  app.task('life.forever', (label: string) => `${label} again`)
  await app.start()
  return app
}

async function queuedRanAfterwards(app: Celeriac): Promise<void> {
  for (let i = 0; i < 3; i++) expect(await app.AsyncResult(`queued-${i}`).get({ timeout: 10_000 })).toBe(i + i)
}

describe('keepAlive', () => {
  it(
    'a consuming app with nothing queued keeps the process alive until stop()',
    async () => {
      const child = launch('idle')
      await child.waitFor('turns done')
      child.send('stop')
      expect(await child.exit).toBe(0)
      expect(child.lines).toEqual(['main done', 'turns done', 'stop requested', 'stopped', 'beforeExit', 'exit 0'])
    },
    BOUND,
  )

  it(
    'with keepAlive: false it exits by itself once idle',
    async () => {
      const child = launch('idle', { keepAlive: false })
      expect(await child.exit).toBe(0)
      expect(child.lines).toEqual(['main done', 'turns done', 'beforeExit', 'exit 0'])
    },
    BOUND,
  )

  // With idleWait 'atomics' the idle workers rest in Atomics.wait: they still hold nothing.
  it.each([{ idleWait: undefined }, { idleWait: 'atomics' as const }])(
    'threads: the app holds the process until stop(), idle workers do not (idleWait: $idleWait)',
    async ({ idleWait }) => {
      const held = launch('threads-idle', { idleWait })
      const free = launch('threads-idle', { keepAlive: false, idleWait })
      // Idle workers no longer hold the process: with keepAlive false it ends after its task.
      expect(await free.exit).toBe(0)
      expect(free.lines).toEqual(['sum 4', 'main done', 'turns done', 'beforeExit', 'exit 0'])
      await held.waitFor('turns done')
      held.send('stop')
      expect(await held.exit).toBe(0)
      expect(held.lines).toEqual(['sum 4', 'main done', 'turns done', 'stop requested', 'stopped', 'beforeExit', 'exit 0'])
    },
    BOUND,
  )

  it.each([{ idleWait: undefined }, { idleWait: 'atomics' as const }])(
    'a threads app exits on its own after stop() (idleWait: $idleWait)',
    async ({ idleWait }) => {
      const child = launch('threads-stop', { idleWait })
      expect(await child.exit).toBe(0)
      expect(child.lines).toEqual(['sum 4', 'stopped', 'main done', 'turns done', 'beforeExit', 'exit 0'])
    },
    BOUND,
  )
})

it(
  'warm shutdown: runs a worker holds but has not started stay queued, as a Celery worker leaves prefetched messages unacked',
  async () => {
    const dir = storageDir()
    const module = new URL('./fixtures/lifetime-tasks.ts', import.meta.url)
    const app = new Celeriac({
      name: 'lifetime',
      storage: fileStorage({ dir }),
      executor: threads({ ...bundledThreads(module), size: 1, prefetch: 4 }),
      keepAlive: false,
    })
    const { add, untilReleased } = defineLifetimeTasks(app)
    const release = new BroadcastChannel(RELEASE_CHANNEL)
    const listening = new Promise<void>((resolve) => (release.onmessage = (event) => event.data === 'listening' && resolve()))
    await app.start()
    await untilReleased.applyAsync(['a'], { taskId: 'running' })
    for (let i = 0; i < 3; i++) await add.applyAsync([i, i], { taskId: `queued-${i}` })
    // The worker holds the three behind the running one (prefetch 4).
    for (let turn = 0; (await app.inspect.reserved()).length < 3; turn++) {
      expect(turn).toBeLessThan(10_000)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect((await app.inspect.active()).map((t) => t.id)).toEqual(['running'])
    // The body must be listening before the release is sent, or the release is lost.
    await listening
    const stopped = app.stop()
    release.postMessage('go')
    release.close()
    await stopped
    const { results, messages } = await readStorage(dir)
    expect(results.get('running')?.state).toBe(states.SUCCESS)
    for (let i = 0; i < 3; i++) {
      expect(results.has(`queued-${i}`)).toBe(false)
      expect(messages.get(`queued-${i}`)?.leased).toBe(false)
    }
    const next = await nextStart(dir)
    try {
      await queuedRanAfterwards(next)
    } finally {
      await next.stop()
    }
  },
  BOUND,
)

describe('shutdownOnSignals', () => {
  it(
    'SIGINT: warm shutdown, the running task finishes, queued tasks stay queued, the store is closed, exit code 1',
    async () => {
      const dir = storageDir()
      const child = launch('sigint', { dir })
      await child.waitFor('running a')
      await child.waitFor('turns done')
      child.signal('SIGINT')
      // Celery's SIGINT handler ends a warm shutdown with EX_FAILURE (1); SIGTERM with 0.
      expect(await child.exit).toBe(1)
      // The signal came after `running a` and `turns done`: what followed it, in order.
      const after = child.lines.filter((line) => /^(celeriac:|finished|exit)/.test(line))
      expect(after).toEqual(['celeriac: warm shutdown (SIGINT): waiting for running tasks; SIGINT again to exit at once', 'finished a', 'exit 1'])
      expect(readdirSync(dir)).not.toContain('LOCK')
      const { results, messages } = await readStorage(dir)
      expect(results.get('running')?.state).toBe(states.SUCCESS)
      expect(messages.has('running')).toBe(false)
      for (let i = 0; i < 3; i++) {
        expect(messages.get(`queued-${i}`)?.leased).toBe(false)
        expect(results.has(`queued-${i}`)).toBe(false)
      }
      const app = await nextStart(dir)
      try {
        expect(await app.AsyncResult('running').get()).toBe('a')
        await queuedRanAfterwards(app)
      } finally {
        await app.stop()
      }
    },
    BOUND,
  )

  it(
    'SIGINT with a warm timeout: an acksLate task that does not end is left for the next start to run again',
    async () => {
      const dir = storageDir()
      const child = launch('sigint-late', { dir })
      await child.waitFor('running a')
      await child.waitFor('turns done')
      child.signal('SIGINT')
      expect(await child.exit).toBe(1)
      expect(child.lines).not.toContain('finished a')
      expect(readdirSync(dir)).not.toContain('LOCK')
      const { results, messages } = await readStorage(dir)
      expect(results.get('running')?.state).not.toBe(states.SUCCESS)
      expect(messages.has('running')).toBe(true)
      const app = await nextStart(dir)
      try {
        expect(await app.AsyncResult('running').get({ timeout: 10_000 })).toBe('a again')
        await queuedRanAfterwards(app)
      } finally {
        await app.stop()
      }
    },
    BOUND,
  )

  it(
    'SIGTERM: the same warm shutdown, exit code 0 (Celery: EX_OK)',
    async () => {
      const dir = storageDir()
      const child = launch('sigint-late', { dir })
      await child.waitFor('running a')
      child.signal('SIGTERM')
      expect(await child.exit).toBe(0)
      expect(child.lines).toContain('celeriac: warm shutdown (SIGTERM): waiting for running tasks; SIGTERM again to exit at once')
      expect(readdirSync(dir)).not.toContain('LOCK')
    },
    BOUND,
  )

  it(
    'a second SIGINT is a cold shutdown: the process exits at once, a next start recovers',
    async () => {
      const dir = storageDir()
      const child = launch('sigint-stuck', { dir })
      await child.waitFor('running a')
      await child.waitFor('turns done')
      child.signal('SIGINT')
      await child.waitFor('celeriac: warm shutdown (SIGINT): waiting for running tasks; SIGINT again to exit at once')
      child.signal('SIGINT')
      expect(await child.exit).toBe(1)
      expect(child.lines.at(-2)).toMatch(/^celeriac: cold shutdown \(SIGINT\)/)
      // The lock of a process that is gone does not stop the next open.
      expect(existsSync(join(dir, 'LOCK'))).toBe(true)
      const app = await nextStart(dir)
      try {
        // Acked early, lost with the process: FAILURE WorkerLostError, never silently lost.
        await expect(app.AsyncResult('running').get({ timeout: 10_000 })).rejects.toBeInstanceOf(WorkerLostError)
        await queuedRanAfterwards(app)
      } finally {
        await app.stop()
      }
    },
    BOUND,
  )
})

it('shutdownOnSignals refuses bad options with a ConfigError naming them', () => {
  expect(() => shutdownOnSignals(new Celeriac(), { signals: [] })).toThrow(/signals/)
  expect(() => shutdownOnSignals(new Celeriac(), { timeout: -1 })).toThrow(ConfigError)
  expect(() => shutdownOnSignals(new Celeriac(), { timeout: Number.NaN })).toThrow(/timeout/)
})
