/**
 * `celeriac --dir PATH`: the read commands over a file-storage directory that a real app
 * (./fixtures/file-app.ts, a child process) wrote and left, stopped cleanly or killed with
 * SIGKILL, read as a user types it (spawned, exit codes, `--json` parsed). The directory is the
 * same, byte for byte and to the nanosecond of every mtime (the directory's own too, so no file
 * was even created and removed), after every command; `LOCK` is never created nor taken.
 */
import { spawn } from 'node:child_process'
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PAUSED_KEY } from '../../src/core/engine/pauses.js'
import { REVOKE_EXPIRES } from '../../src/core/engine/revoked.js'
import { fileStorage } from '../../src/node.js'
import { frame } from '../../src/storage/file/frame.js'
import { childLines } from '../child-lines.js'
import { bundledScript } from '../workers/bundled.js'
import { celeriac, root } from './run.js'

/** The app, compiled once per run (test/workers/bundled.ts), not started through tsx. */
const fixture = bundledScript(new URL('./fixtures/file-app.ts', import.meta.url))
const base = mkdtempSync(join(tmpdir(), 'celeriac-cli-dir-'))

interface Ids {
  sum: string
  failed: string
  later: string
  cancelled: string
  waiting: string
}

/** Runs the fixture app on `dir`; `stop` resolves once it stopped, `kill` returns it sending. */
function runApp(dir: string, mode: 'stop' | 'kill', compactBytes?: number) {
  const args = [fixture, dir, mode, ...(compactBytes === undefined ? [] : [String(compactBytes)])]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const out = childLines(child)
  const ids = async (): Promise<Ids> => {
    await out.waitFor((l) => l.startsWith('{'), 'the ids')
    return JSON.parse(out.lines.find((l) => l.startsWith('{'))!) as Ids
  }
  return { child, out, ids }
}

/** Every entry of `dir` (and the directory itself): bytes, size, inode, mtime in ns. */
function state(dir: string): Record<string, { bytes: string; ino: bigint; mtimeNs: bigint }> {
  const out: Record<string, { bytes: string; ino: bigint; mtimeNs: bigint }> = {}
  const self = statSync(dir, { bigint: true })
  out['.'] = { bytes: readdirSync(dir).sort().join('\n'), ino: self.ino, mtimeNs: self.mtimeNs }
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const s = statSync(path, { bigint: true })
    out[name] = { bytes: readFileSync(path).toString('base64'), ino: s.ino, mtimeNs: s.mtimeNs }
  }
  return out
}

const json = (r: { stdout: string }): unknown => JSON.parse(r.stdout)

afterAll(() => rmSync(base, { recursive: true, force: true }))

describe('celeriac --dir over a directory its app left when it stopped', () => {
  const dir = join(base, 'stopped')
  let ids: Ids
  beforeAll(async () => {
    const app = runApp(dir, 'stop')
    ids = await app.ids()
    await app.out.waitFor((l) => l === 'stopped', 'stopped')
    expect(await app.out.exit).toBe(0)
  }, 120_000)

  it('inspect, result and schedules answer with the endpoint JSON shapes; nothing on disk changes, no LOCK', async () => {
    const before = state(dir)
    expect(Object.keys(before)).not.toContain('LOCK')
    const [scheduled, reserved, revoked, stats, queues, sum, failed, cancelled, unknown, schedules] = await Promise.all([
      ...['scheduled', 'reserved', 'revoked', 'stats', 'queues'].map((what) => celeriac(['--dir', dir, 'inspect', what, '--json'])),
      ...[ids.sum, ids.failed, ids.cancelled, 'no-such-id'].map((id) => celeriac(['result', id, '--json', '--dir', dir])),
      celeriac(['schedules', '--json'], { CELERIAC_DIR: dir }),
    ])
    for (const r of [scheduled, reserved, revoked, stats, queues, sum, failed, cancelled, unknown, schedules]) expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(json(scheduled!)).toEqual([expect.objectContaining({ id: ids.later, name: 'dir.add', queue: 'dir-a', args: [1, 1], eta: expect.any(Number) })])
    expect(json(reserved!)).toEqual([expect.objectContaining({ id: ids.waiting, name: 'dir.add', queue: 'dir-b', args: [4, 4] })])
    expect(json(revoked!)).toEqual([ids.cancelled])
    expect(json(stats!)).toEqual({
      ready: 1,
      paused: 1,
      scheduled: 1,
      interrupted: 0,
      results: { SUCCESS: 1, FAILURE: 1, REVOKED: 1 },
      revoked: 1,
      schedules: 1,
    })
    expect(json(queues!)).toEqual([
      { name: 'dir-a', paused: false, pausedAt: null, concurrency: null, active: 0, reserved: 0, scheduled: 1 },
      { name: 'dir-b', paused: true, pausedAt: expect.any(Number), concurrency: null, active: 0, reserved: 1, scheduled: 0 },
    ])
    expect(json(sum!)).toMatchObject({ id: ids.sum, task: 'dir.add', state: 'SUCCESS', result: 5, dateDone: expect.stringMatching(/^\d{4}-/) })
    expect(json(failed!)).toMatchObject({
      state: 'FAILURE',
      result: { name: 'RangeError', message: 'out of range: 42' },
      traceback: expect.stringContaining('RangeError'),
    })
    expect(json(cancelled!)).toMatchObject({ state: 'REVOKED' })
    expect(json(unknown!)).toMatchObject({ id: 'no-such-id', state: 'PENDING', result: null })
    expect(json(schedules!)).toEqual([
      expect.objectContaining({
        id: 'dir-nightly',
        cron: '0 3 * * *',
        tz: 'UTC',
        count: 0,
        next: expect.any(Number),
        signature: expect.objectContaining({ task: 'dir.add', args: [10, 20] }),
      }),
    ])
    expect(new Date((json(schedules!) as Array<{ next: number }>)[0]!.next).toISOString()).toMatch(/T03:00:00\.000Z$/)
    expect(state(dir)).toEqual(before)
  }, 120_000)

  it('human output: the paused queue marked, a directory has no pool line', async () => {
    const [queues, stats] = await Promise.all([celeriac(['--dir', dir, 'inspect', 'queues']), celeriac(['--dir', dir, 'inspect', 'stats'])])
    expect(queues.stdout.split('\n').find((l) => l.startsWith('dir-b'))).toMatch(/^dir-b\s+paused since \d{4}-/)
    expect(stats.stdout).toMatch(/^ready:\s+1$/m)
    expect(stats.stdout).not.toContain('pool')
  }, 30_000)

  it('2 for what needs a running app: inspect active, the control commands, events; and --dir with --url', async () => {
    const before = state(dir)
    const runs = await Promise.all([
      celeriac(['--dir', dir, 'inspect', 'active']),
      celeriac(['--dir', dir, 'revoke', ids.later]),
      celeriac(['--dir', dir, 'purge', '--all']),
      celeriac(['--dir', dir, 'pause', 'dir-a']),
      celeriac(['--dir', dir, 'resume', 'dir-b', '--json']),
      celeriac(['--dir', dir, 'events']),
      celeriac(['--dir', dir, '--url', 'http://127.0.0.1:9', 'inspect', 'stats']),
      celeriac(['inspect', 'stats'], { CELERIAC_DIR: dir, CELERIAC_URL: 'http://127.0.0.1:9' }),
    ])
    for (const r of runs) expect(r).toMatchObject({ code: 2, stdout: '' })
    expect(runs[0]!.stderr).toContain('inspect active needs a running app (--url)')
    for (const r of runs.slice(1, 4)) expect(r.stderr).toMatch(/needs a running app's control endpoint \(--url or --socket/)
    expect(JSON.parse(runs[4]!.stderr)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('resume needs a running app') } })
    expect(runs[5]!.stderr).toContain('events needs a running app')
    expect(runs[6]!.stderr).toContain('give --dir or --url/--socket, not both')
    expect(runs[7]!.stderr).toContain('CELERIAC_DIR and CELERIAC_URL / CELERIAC_SOCKET are both set')
    // The env var loses to the command line.
    expect((await celeriac(['--dir', dir, 'inspect', 'revoked', '--json'], { CELERIAC_URL: 'http://127.0.0.1:9' })).code).toBe(0)
    expect(state(dir)).toEqual(before)
  }, 120_000)

  it('1 for a directory that is no store or is damaged, as an app opening it would refuse it', async () => {
    const empty = mkdtempSync(join(base, 'empty-'))
    const damaged = join(base, 'damaged')
    cpSync(dir, damaged, { recursive: true })
    const journal = join(damaged, 'journal-0.log')
    const bytes = readFileSync(journal)
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff
    writeFileSync(journal, bytes)
    const [none, missing, broken] = await Promise.all([
      celeriac(['--dir', empty, 'inspect', 'stats']),
      celeriac(['--dir', join(base, 'missing'), 'inspect', 'stats']),
      celeriac(['--dir', damaged, 'inspect', 'stats', '--json']),
    ])
    expect(none).toMatchObject({ code: 1, stderr: expect.stringContaining('holds no celeriac file storage') })
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('does not exist') })
    expect(broken.code).toBe(1)
    expect(JSON.parse(broken.stderr)).toEqual({
      error: { code: 'DIRECTORY_UNREADABLE', message: expect.stringMatching(/journal-0\.log is damaged at byte offset \d+.*repair: true/) },
    })
    expect(readdirSync(empty)).toEqual([])
  }, 30_000)
})

describe('celeriac --dir over a directory whose app is running, then was killed mid-write (compacting)', () => {
  const dir = join(base, 'killed')

  it('4 while the app runs (its pid named, --url advised); after kill -9, reads it with a torn tail, changing nothing', async () => {
    // Compacting every 16 KiB: the reader replays a snapshot and the journals after it.
    const app = runApp(dir, 'kill', 16 * 1024)
    const ids = await app.ids()
    await app.out.waitFor((l) => l === 'sending', 'sending')
    const owned = await celeriac(['--dir', dir, 'inspect', 'queues'])
    expect(owned.code).toBe(4)
    expect(owned.stderr).toContain(`owned by process ${String(app.child.pid)}`)
    expect(owned.stderr).toContain('celeriac --url')

    app.child.kill('SIGKILL')
    expect(await app.out.exit).toBe(null)
    const lock = readFileSync(join(dir, 'LOCK'), 'utf8')
    expect(JSON.parse(lock)).toMatchObject({ pid: app.child.pid })
    // What a write cut short by the kill leaves: a frame's first bytes (whether or not the kill
    // itself landed mid-write, which no test can make certain).
    expect(readdirSync(dir)).toContain('snapshot')
    const generations = readdirSync(dir)
      .flatMap((n) => /^journal-(\d+)\.log$/.exec(n)?.[1] ?? [])
      .map(Number)
    const journal = `journal-${String(Math.max(...generations))}.log`
    const torn = frame(Buffer.from(JSON.stringify([[{ op: 'delete', ns: 'messages', key: 'x' }]]))).subarray(0, 20)
    appendFileSync(join(dir, journal), torn)
    const tornSize = statSync(join(dir, journal)).size

    const before = state(dir)
    const [stats, sum, queues] = await Promise.all([
      celeriac(['--dir', dir, 'inspect', 'stats', '--json']),
      celeriac(['--dir', dir, 'result', ids.sum, '--json']),
      celeriac(['--dir', dir, 'inspect', 'queues', '--json']),
    ])
    for (const r of [stats, sum, queues]) expect(r.code).toBe(0)
    expect(stats.stderr).toContain(`LOCK names process ${String(app.child.pid)}, which is gone`)
    expect(stats.stderr).toMatch(new RegExp(`${journal}: a torn tail of \\d+ bytes at offset \\d+ was ignored`))
    expect(json(sum)).toMatchObject({ state: 'SUCCESS', result: 5 })
    // The countdowns sent before the kill (at least the 20 before `sending`), the first one's too.
    const counted = json(stats) as { scheduled: number; ready: number }
    expect(counted.scheduled).toBeGreaterThanOrEqual(21)
    expect(counted.ready).toBe(1)
    expect(json(queues)).toContainEqual(expect.objectContaining({ name: 'dir-b', paused: true }))
    expect(state(dir)).toEqual(before)
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(lock)

    // What the reader found is what the storage finds when it opens the directory (which now
    // takes the stale lock and cuts the torn tail off).
    const storage = fileStorage({ dir, onWarning: () => undefined })
    await storage.open()
    try {
      const messages = (await storage.entries('messages')).length
      expect(messages).toBe(counted.ready + counted.scheduled + (json(stats) as { interrupted: number }).interrupted)
      expect((await storage.entries('results')).length).toBe(3)
    } finally {
      await storage.close()
    }
    expect(statSync(join(dir, journal)).size).toBeLessThanOrEqual(tornSize - torn.length)
  }, 120_000)
})

it("the directory reader's copies of the engine's constants agree with it", async () => {
  const source = readFileSync(join(root, 'src/cli/directory.ts'), 'utf8')
  expect(source).toContain(`const PAUSED_KEY = '${PAUSED_KEY}'`)
  expect(source).toContain(`const REVOKE_EXPIRES = ${REVOKE_EXPIRES.toLocaleString('en').replaceAll(',', '_')}`)
})
