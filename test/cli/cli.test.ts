/**
 * `celeriac`, the command line, as a user types it: a spawned process (the TS entry through tsx)
 * against a control endpoint over a real app, its `--json` output parsed, its exit codes (0 ok,
 * 1 refused by the app, 2 usage, 3 cannot connect) and its help, against the real control
 * endpoint (`serve()`, ./endpoint.ts) over a real app. What reads and changes the app's state
 * (inspect, result, schedules, the control commands) runs on memory and on file storage; the
 * rest (events, connection, exit codes, help) does not depend on the storage and runs on memory.
 * `--dir` is in ./dir.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { Celeriac } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { childLines } from '../child-lines.js'
import { type Endpoint, endpoint as serveEndpoint } from './endpoint.js'
import { celeriac, start } from './run.js'

const TOKEN = 'cli-test-token-0123456789'

function defineTasks(on: Celeriac) {
  const add = on.task('cli.add', (a: number, b: number) => a + b)
  const halves = on.task('cli.halves', { bind: true }, async (self) => {
    self.progress(1, 2)
    await self.sleep(1)
    self.progress(2, 2)
  })
  return { add, halves }
}

interface Fixture {
  app: Celeriac
  endpoint: Endpoint
  conn: string[]
  add: ReturnType<typeof defineTasks>['add']
  halves: ReturnType<typeof defineTasks>['halves']
  ids: Record<string, string>
  stop(): Promise<void>
}

/**
 * An app with a task running, a success, a failure, a countdown, a paused queue holding a
 * message and a schedule, served: on the default memory storage, or on file storage in a
 * temporary directory.
 */
async function setup(storage: 'memory' | 'file'): Promise<Fixture> {
  const dir = storage === 'file' ? await mkdtemp(join(tmpdir(), 'celeriac-cli-file-')) : undefined
  const app = new Celeriac({
    name: 'cli',
    queues: { 'cli-a': {}, 'cli-b': {} },
    routes: { 'cli.*': { queue: 'cli-a' } },
    ...(dir === undefined ? {} : { storage: fileStorage({ dir }) }),
  })
  let gate = (): void => undefined
  const opened = new Promise<void>((resolve) => (gate = resolve))
  const slow = app.task('cli.slow', () => opened)
  const { add, halves } = defineTasks(app)
  const boom = app.task('cli.boom', () => {
    throw new RangeError('out of range: 42')
  })
  await app.start()
  const endpoint = await serveEndpoint(app, TOKEN)
  const ids: Record<string, string> = {}
  ids.active = (await slow.delay()).id
  const sum = await add.delay(2, 3)
  await sum.get({ timeout: 5_000 })
  ids.sum = sum.id
  const failed = await boom.delay()
  await failed.get({ timeout: 5_000, propagate: false })
  ids.failed = failed.id
  ids.scheduled = (await add.applyAsync([1, 1], { countdown: 3_600_000 })).id
  await app.control.pause('cli-b')
  ids.reserved = (await add.applyAsync([4, 4], { queue: 'cli-b' })).id
  await app.schedules.upsert('cli-nightly', { cron: '0 3 * * *', tz: 'UTC' }, add.s(10, 20))
  await vi.waitFor(() => expect(app.inspect.active()).toHaveLength(1))
  return {
    app,
    endpoint,
    conn: ['--url', endpoint.url, '--token', TOKEN],
    add,
    halves,
    ids,
    async stop() {
      gate()
      await endpoint.close()
      await app.stop({ timeout: 2_000 })
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    },
  }
}

const memoryFixture = (): Fixture => f

/** The memory app: the commands that do not depend on the storage run over it alone. */
let f: Fixture
beforeAll(async () => {
  f = await setup('memory')
}, 20_000)
afterAll(async () => f?.stop())

// What the app holds, read and changed through the CLI: on memory and on file storage.
describe.each(['memory', 'file'] as const)('on %s storage', (storage) => {
  let f: Fixture
  beforeAll(async () => {
    f = storage === 'memory' ? memoryFixture() : await setup('file')
  }, 20_000)
  afterAll(async () => {
    if (storage === 'file') await f?.stop()
  })

  describe('celeriac inspect, result, schedules (--json is the endpoint JSON)', () => {
    it('inspect active | scheduled | reserved | queues | stats | revoked', async () => {
      const [active, scheduled, reserved, queues, stats, revoked] = await Promise.all(
        ['active', 'scheduled', 'reserved', 'queues', 'stats', 'revoked'].map((what) => celeriac(['inspect', what, '--json', ...f.conn])),
      )
      for (const r of [active, scheduled, reserved, queues, stats, revoked]) expect(r).toMatchObject({ code: 0, stderr: '' })
      expect(JSON.parse(active!.stdout)).toEqual([expect.objectContaining({ id: f.ids.active, name: 'cli.slow', queue: 'cli-a' })])
      expect(JSON.parse(scheduled!.stdout)).toEqual([expect.objectContaining({ id: f.ids.scheduled, args: [1, 1] })])
      expect(JSON.parse(reserved!.stdout)).toEqual([expect.objectContaining({ id: f.ids.reserved, queue: 'cli-b' })])
      const byName = Object.fromEntries((JSON.parse(queues!.stdout) as Array<{ name: string }>).map((q) => [q.name, q]))
      expect(byName['cli-b']).toMatchObject({ paused: true, reserved: 1 })
      expect(byName['cli-a']).toMatchObject({ paused: false, active: 1, scheduled: 1 })
      expect(JSON.parse(stats!.stdout)).toMatchObject({ running: 1, scheduled: 1 })
      expect(JSON.parse(revoked!.stdout)).toEqual([])
    })

    it('human output: tables with headers, the paused queue marked', async () => {
      const queues = await celeriac(['inspect', 'queues', ...f.conn])
      expect(queues.code).toBe(0)
      const lines = queues.stdout.trim().split('\n')
      expect(lines[0]).toMatch(/^QUEUE\s+STATE\s+CONCURRENCY\s+ACTIVE\s+RESERVED\s+SCHEDULED$/)
      expect(lines.find((l) => l.startsWith('cli-b'))).toMatch(/^cli-b\s+paused since \d{4}-\d\d-\d\dT/)
      const active = await celeriac(['inspect', 'active', ...f.conn])
      expect(active.stdout).toContain(f.ids.active)
      expect(active.stdout).toContain('cli.slow')
    })

    it('result <id>: a success, a failure with its error, an unknown id PENDING', async () => {
      const [sum, failed, unknown] = await Promise.all([
        celeriac(['result', f.ids.sum!, '--json', ...f.conn]),
        celeriac(['result', f.ids.failed!, ...f.conn]),
        celeriac(['result', 'no-such-task', '--json', ...f.conn]),
      ])
      expect(sum.code).toBe(0)
      expect(JSON.parse(sum.stdout)).toMatchObject({ id: f.ids.sum, state: 'SUCCESS', result: 5, task: 'cli.add' })
      expect(failed.code).toBe(0)
      expect(failed.stdout).toMatch(/^state:\s+FAILURE$/m)
      expect(failed.stdout).toContain('out of range: 42')
      expect(JSON.parse(unknown.stdout)).toMatchObject({ id: 'no-such-task', state: 'PENDING' })
    })

    it('schedules: the periodic task with its timing and next slot', async () => {
      const [json, human] = await Promise.all([celeriac(['schedules', '--json', ...f.conn]), celeriac(['schedules', ...f.conn])])
      expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: 'cli-nightly', cron: '0 3 * * *', tz: 'UTC', count: 0 })])
      expect(human.stdout).toMatch(/cli-nightly\s+cron 0 3 \* \* \* UTC\s+cli\.add\s+\d{4}-\d\d-\d\dT03:00:00\.000Z\s+0/)
    })
  })

  describe('celeriac control commands change the app', () => {
    it('pause, resume, revoke and purge', async () => {
      const paused = await celeriac(['pause', 'cli-a', '--json', ...f.conn])
      expect(paused.code).toBe(0)
      expect(JSON.parse(paused.stdout)).toEqual({ ok: true })
      expect(f.app.inspect.queues().find((q) => q.name === 'cli-a')?.paused).toBe(true)
      const resumed = await celeriac(['resume', 'cli-a', ...f.conn])
      expect(resumed).toMatchObject({ code: 0, stdout: 'resumed queue cli-a\n' })
      expect(f.app.inspect.queues().find((q) => q.name === 'cli-a')?.paused).toBe(false)

      const revoked = await celeriac(['revoke', f.ids.scheduled!, 'never-sent', ...f.conn])
      expect(revoked.code).toBe(0)
      expect(await f.app.AsyncResult(f.ids.scheduled!).state()).toBe('REVOKED')
      expect(f.app.inspect.revoked()).toEqual(expect.arrayContaining([f.ids.scheduled, 'never-sent']))

      const purged = await celeriac(['purge', 'cli-b', '--json', ...f.conn])
      expect(purged.code).toBe(0)
      expect(JSON.parse(purged.stdout)).toEqual({ ok: true, purged: 1 })
      expect(f.app.inspect.reserved()).toEqual([])
    })

    it('revoke --terminate stops a running task', async () => {
      const r = await celeriac(['revoke', '--terminate', f.ids.active!, ...f.conn])
      expect(r.code).toBe(0)
      await expect.poll(() => f.app.AsyncResult(f.ids.active!).state()).toBe('REVOKED')
    })
  })
})

describe('celeriac events --follow', () => {
  it('--json: one JSON object a line, as the app emits them', async () => {
    const out = childLines(start(['events', '--follow', '--json', '--max', '4', ...f.conn]))
    // Events that come in one chunk: --max still stops at its count.
    const one = childLines(start(['events', '--json', '--max', '1', ...f.conn]))
    await expect.poll(() => f.endpoint.streams(), { timeout: 15_000 }).toBe(2)
    const sent = await (await f.add.delay(20, 22)).get({ timeout: 5_000 })
    expect(sent).toBe(42)
    expect(await out.exit).toBe(0)
    expect(await one.exit).toBe(0)
    expect(one.lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['task-sent'])
    const events = out.lines.map((l) => JSON.parse(l) as { event: string; data: { name: string; result?: unknown } })
    expect(events.map((e) => e.event)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded'])
    expect(events.every((e) => e.data.name === 'cli.add')).toBe(true)
    expect(events[3]?.data.result).toBe(42)
  })

  it('a line per event, a progress bar for task-progress', async () => {
    const child = start(['events', '-f', '--max', '6', ...f.conn])
    const out = childLines(child)
    await expect.poll(() => f.endpoint.streams(), { timeout: 15_000 }).toBe(1)
    await f.halves.delay()
    expect(await out.exit).toBe(0)
    expect(out.lines.map((l) => l.split(/ +/)[1])).toEqual(['task-sent', 'task-received', 'task-started', 'task-progress', 'task-progress', 'task-succeeded'])
    expect(out.lines[3]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}task-progress +\S+ {2}cli\.halves {2}\[#{10}-{10}\] {2}50% {2}1\/2$/)
    expect(out.lines[4]).toMatch(/\[#{20}\] 100% {2}2\/2$/)
    expect(out.lines[5]).toMatch(/task-succeeded .*cli\.halves {2}result=null/)
  })
})

describe('connection, exit codes and help', () => {
  it('the environment gives the endpoint and token; --socket reaches a Unix socket', async () => {
    const byEnv = await celeriac(['inspect', 'revoked', '--json'], { CELERIAC_URL: f.endpoint.url, CELERIAC_TOKEN: TOKEN })
    expect(byEnv.code).toBe(0)
    expect(Array.isArray(JSON.parse(byEnv.stdout))).toBe(true)
    const dir = await mkdtemp(join(tmpdir(), 'celeriac-cli-'))
    const onSocket = await serveEndpoint(f.app, TOKEN, join(dir, 'control.sock'))
    try {
      // --socket PATH, or --url unix:PATH as serve() prints it.
      const [bySocket, byUnixUrl] = await Promise.all([
        celeriac(['--socket', onSocket.url, '--token', TOKEN, 'inspect', 'queues', '--json']),
        celeriac(['inspect', 'queues', '--json', '--url', `unix:${onSocket.url}`, '--token', TOKEN]),
      ])
      for (const r of [bySocket, byUnixUrl]) {
        expect(r.code).toBe(0)
        expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((q) => q.name)).toContain('cli-a')
      }
    } finally {
      await onSocket.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('1 when the app refuses: a wrong token (401), a queue it does not declare (its ConfigError)', async () => {
    const [badToken, badQueue, badQueueJson] = await Promise.all([
      celeriac(['inspect', 'stats', '--url', f.endpoint.url, '--token', 'wrong-token-0123456789']),
      celeriac(['pause', 'no-such-queue', ...f.conn]),
      celeriac(['pause', 'no-such-queue', '--json', ...f.conn]),
    ])
    expect(badToken).toMatchObject({ code: 1, stdout: '' })
    expect(badToken.stderr).toMatch(/^celeriac: .*--token/)
    expect(badQueue).toMatchObject({ code: 1, stdout: '' })
    expect(badQueue.stderr).toContain('no-such-queue')
    expect(JSON.parse(badQueueJson.stderr)).toMatchObject({ error: { code: 'CONFIG' } })
  })

  it('2 on a usage error: an unknown command, a missing argument, no endpoint, purge without a queue', async () => {
    const results = await Promise.all([
      celeriac(['inspect', 'everything', ...f.conn]),
      celeriac(['revoke', ...f.conn]),
      celeriac(['inspect', 'active']),
      celeriac(['purge', ...f.conn]),
      celeriac(['inspect']),
    ])
    for (const r of results) expect(r).toMatchObject({ code: 2, stdout: '' })
    expect(results[0]!.stderr).toContain("unknown command 'everything'")
    expect(results[1]!.stderr).toContain("missing required argument 'id'")
    expect(results[2]!.stderr).toMatch(/no endpoint given: pass --url .* serve\(app/)
    expect(results[3]!.stderr).toContain('--all')
  })

  it('3 when nothing answers, saying how to start the endpoint', async () => {
    const closed = await serveEndpoint(f.app, TOKEN)
    const url = closed.url
    await closed.close()
    const [refused, noSocket] = await Promise.all([
      celeriac(['inspect', 'active', '--url', url, '--token', TOKEN]),
      celeriac(['inspect', 'active', '--socket', join(tmpdir(), 'celeriac-no-such.sock'), '--token', TOKEN]),
    ])
    expect(refused).toMatchObject({ code: 3, stdout: '' })
    expect(refused.stderr).toContain(`cannot connect to ${url} (ECONNREFUSED)`)
    expect(refused.stderr).toContain('serve(app, { port: 7777, token })')
    expect(noSocket.code).toBe(3)
    expect(noSocket.stderr).toContain('ENOENT')
  })

  it('--help on the program and on each command, exit 0', async () => {
    const [top, inspect, revoke, events] = await Promise.all([
      celeriac(['--help']),
      celeriac(['inspect', 'active', '--help']),
      celeriac(['revoke', '--help']),
      celeriac(['events', '--help']),
    ])
    for (const r of [top, inspect, revoke, events]) expect(r.code).toBe(0)
    for (const command of ['inspect', 'result <id>', 'revoke', 'purge', 'pause <queue>', 'resume <queue>', 'schedules', 'events'])
      expect(top.stdout).toContain(command)
    expect(top.stdout).toContain('Exit codes: 0 ok, 1')
    expect(inspect.stdout).toContain('Usage: celeriac inspect active')
    expect(inspect.stdout).toMatch(/--json/)
    expect(revoke.stdout).toContain('--terminate')
    expect(events.stdout).toContain('--follow')
  })
})

describe('celeriac events when the stream ends', () => {
  it('3 when the endpoint closes the stream (the app stopped), with a message', async () => {
    const other = await serveEndpoint(f.app, TOKEN)
    const child = start(['events', '--follow', '--url', other.url, '--token', TOKEN])
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exit = childLines(child).exit
    await expect.poll(() => other.streams(), { timeout: 15_000 }).toBe(1)
    await other.close()
    expect(await exit).toBe(3)
    expect(stderr).toContain(`${other.url} closed the event stream`)
  })
})
