/**
 * kill -9 at random points: a child process runs a mixed workload on file storage and is killed
 * with SIGKILL again and again. After each kill, every task whose send had resolved must be in
 * storage (queued, scheduled, running or finished), every result read must still be there, and
 * no chord body may ever start twice. At the end a last incarnation drains the work: everything
 * finishes, the early-ack tasks that died with a process as FAILURE WorkerLostError.
 *
 * Rounds: CELERIAC_CRASH_ROUNDS (default 50), seed: CELERIAC_CRASH_SEED. Time is real here on purpose: the point is where a
 * real process dies, so the test is bounded by rounds, not by speed.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { states } from '../../src/index.js'
import type { ResultRecord } from '../../src/core/message.js'
import { fileStorage } from '../../src/node.js'
import { seeded } from '../conformance/setup.js'

const ROUNDS = Number(process.env.CELERIAC_CRASH_ROUNDS ?? 50)
const app = fileURLToPath(new URL('./fixtures/crash-app.ts', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
type ExecutorKind = 'inline' | 'threads'

interface Incarnation {
  lines: string[]
  exit: Promise<number | null>
  kill(): void
  /** Resolves when a line matching `pattern` has been printed (or rejects when the process exits). */
  waitFor(pattern: RegExp): Promise<void>
}

function launch(dir: string, executor: ExecutorKind, mode?: 'drain'): Incarnation {
  const child = spawn(process.execPath, ['--import', 'tsx', app, dir, ...(mode === undefined ? [] : [mode])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CRASH_EXECUTOR: executor },
  })
  const lines: string[] = []
  let partial = ''
  const watchers: Array<{ pattern: RegExp; resolve: () => void }> = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdout.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString()
    const parts = text.split('\n')
    partial = parts.pop()!
    for (const line of parts) {
      lines.push(line)
      for (const w of [...watchers]) if (w.pattern.test(line)) watchers.splice(watchers.indexOf(w), 1), w.resolve()
    }
  })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    lines,
    exit,
    kill: () => child.kill('SIGKILL'),
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some((l) => pattern.test(l))) return resolve()
        watchers.push({ pattern, resolve })
        void exit.then((code) => reject(new Error(`the app exited (${String(code)}) before printing ${String(pattern)}:\n${stderr}`)))
      }),
  }
}

async function readStorage(dir: string) {
  const storage = fileStorage({ dir, onWarning: () => {} })
  await storage.open()
  const results = new Map((await storage.entries('results')).map(([k, v]) => [k, v as ResultRecord]))
  const messages = new Set((await storage.entries('messages')).map(([k]) => k))
  const chords = JSON.stringify(await storage.entries('chords'))
  await storage.close()
  return { results, messages, chords }
}

// Threads rounds cost more (each incarnation starts workers), so they run a third as many.
it.each([
  ['inline', ROUNDS],
  ['threads', Math.ceil(ROUNDS / 3)],
] as const)('%s executor: survives %i kill -9s at random points with every sent task accounted for', async (executor, rounds) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-crash-'))
  dirs.push(dir)
  const random = seeded(Number(process.env.CELERIAC_CRASH_SEED ?? 20261124))
  const sent = new Map<string, string>()
  const chordBodies = new Map<string, string>()
  const done = new Map<string, string>()
  const bodyStarts = new Map<string, string[]>()
  const note = (lines: readonly string[]): void => {
    for (const line of lines) {
      const [kind, a, b] = line.split(' ') as [string, string, string]
      if (kind === 'sent') sent.set(b, a)
      else if (kind === 'chord') chordBodies.set(b, a)
      else if (kind === 'done') done.set(a, b)
      else if (kind === 'body') bodyStarts.set(a, [...(bodyStarts.get(a) ?? []), b])
    }
  }

  for (let round = 0; round < rounds; round++) {
    const run = launch(dir, executor)
    await run.waitFor(/^ready$/)
    // Die somewhere in the next 5-150 ms of real work.
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(random() * 145)))
    run.kill()
    await run.exit
    note(run.lines)

    const { results, messages, chords } = await readStorage(dir)
    for (const [id, kind] of sent) {
      expect(results.has(id) || messages.has(id), `${kind} task ${id} was sent but is gone after kill ${round}`).toBe(true)
    }
    for (const [id, label] of chordBodies) {
      expect(results.has(id) || messages.has(id) || chords.includes(id), `chord ${label} (body ${id}) is gone after kill ${round}`).toBe(true)
    }
    for (const [id, value] of done) {
      const record = results.get(id)
      expect(record?.state, `the result of ${id} was read, then lost at kill ${round}`).toBe(states.SUCCESS)
      expect(String(record?.result)).toBe(value)
    }
  }
  expect(sent.size).toBeGreaterThan(rounds)

  const drain = launch(dir, executor, 'drain')
  await drain.waitFor(/^drained$/)
  await drain.exit
  note(drain.lines)
  const { results, messages } = await readStorage(dir)
  expect([...messages]).toEqual([])
  const lost: string[] = []
  for (const [id, kind] of [...sent, ...[...chordBodies.keys()].map((id) => [id, 'chord'] as const)]) {
    const record = results.get(id)
    expect(record, `${kind} ${id} has no result after the drain`).toBeDefined()
    expect([states.SUCCESS, states.FAILURE], `${kind} ${id} ended ${String(record?.state)}`).toContain(record!.state)
    if (record!.state === states.FAILURE) {
      const error = JSON.stringify(record!.result)
      // Only tasks that were running when their process died may fail, and only as lost work.
      if (!error.includes('WorkerLostError') && !error.includes('ChordError')) lost.push(`${kind} ${id}: ${error}`)
    }
  }
  expect(lost).toEqual([])
  for (const [label, starts] of bodyStarts) expect(starts, `chord body ${label} started more than once: ${starts.join(" ")}`).toHaveLength(1)
}, 600_000)
