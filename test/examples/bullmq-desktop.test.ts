/**
 * examples/bullmq/desktop.ts survives kill -9: killed while it renders a page, then started
 * again on the same directory, it runs the page it was cut short on again and completes every
 * job, which the directory then holds.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { afterAll, expect, it } from 'vitest'
import { bullmqBackend } from '../../src/bullmq/index.js'
import { fileStorage } from '../../src/node.js'

const dir = mkdtempSync(join(tmpdir(), 'celeriac-bullmq-desktop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Run {
  child: ChildProcessWithoutNullStreams
  lines: string[]
  /** Resolves at the first line matching `pattern`; rejects if the app exits first. */
  line(pattern: RegExp): Promise<void>
  exited: Promise<number | null>
}

function start(): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/bullmq/desktop.ts', dir], { env: { ...process.env, STEP_MS: '100' } })
  const lines: string[] = []
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = []
  let rest = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    for (const line of parts) {
      lines.push(line)
      for (const w of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return {
    child,
    lines,
    exited,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        if (lines.some((l) => pattern.test(l))) return resolve()
        waiters.push({ pattern, resolve })
        exited.then(() => reject(new Error(`exited before a line matching ${String(pattern)}:\n${lines.join('\n')}\n${stderr}`)), reject)
      }),
  }
}

/** The pages whose last progress line is below 100%: running when the app died. */
function unfinished(lines: readonly string[]): string[] {
  const last = new Map<string, number>()
  for (const line of lines) {
    const m = /^(report-\d-page-\d): (\d+)%$/.exec(line)
    if (m) last.set(m[1]!, Number(m[2]))
  }
  return [...last].filter(([, percent]) => percent < 100).map(([page]) => page)
}

it('killed with SIGKILL half-way, the desktop app completes every job on its next start', async () => {
  const first = start()
  await first.line(/^report-2-page-1: 25%$/)
  first.child.kill('SIGKILL')
  await first.exited
  const cutShort = unfinished(first.lines)

  const second = start()
  expect(await second.exited).toBe(0)
  // A page whose progress was stored, and not its end, was active on disk when the app died: the
  // next start must find it stalled. (Killed between two pages, a page may or may not have been.)
  for (const page of cutShort) expect(second.lines).toContain(`${page} was cut short by the last exit: it runs again`)
  expect(second.lines).toContain('All 3 reports completed:')
  // report-2 was built from all four pages, the one run again included.
  expect(second.lines.join('\n')).toContain('# Report report-2\npage 1\npage 2\npage 3\npage 4\n')

  const storage = fileStorage({ dir })
  const factory = bullmqBackend({ storage })
  const counts = async (name: string) => {
    const queue = new Queue(name, { connection: {} }, factory)
    const all = await queue.getJobCounts()
    await queue.close()
    return Object.fromEntries(Object.entries(all).filter(([, n]) => n > 0))
  }
  expect(await counts('pages')).toEqual({ completed: 12 })
  expect(await counts('reports')).toEqual({ completed: 3 })
  await storage.close()
}, 120_000)
