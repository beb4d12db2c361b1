/**
 * `npm run bench` the way a user runs it from a fresh clone: in a copy of this checkout's files
 * (tracked, and new ones not ignored: what a clone would hold if they were committed) with no
 * dist/, and this checkout's node_modules linked in (as after `npm ci --ignore-scripts`; no
 * install here). The bench must build dist/ before anything imports it (bench/cases/shared.ts does so
 * as it loads), measure, and write its results inside the copy.
 *
 * A bounded subset of `--quick`: the whole of it runs every case (Redis, Chromium, Python Celery,
 * threads; minutes), so this runs one case, inline-throughput, for one round. Every case module
 * still loads, in run.ts and in each case runner, so an import of dist/ before the build fails
 * here whichever case does it. The bench builds the JavaScript only (`CELERIAC_BUILD=javascript`:
 * the cases run nothing else, and tsup's declaration pass was 74 s of a 79 s build here); the
 * same build with declarations is `npm ci`'s, which the package tests use.
 */
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { root } from '../package/built.js'

const exec = promisify(execFile)
/** A cap for a build and two measurements on a loaded 2-core machine, not a speed requirement. */
const LIMIT_MS = 10 * 60_000

let clone = ''

/** The files a clone of the current tree would hold: tracked and not deleted, plus new unignored ones. */
async function checkoutFiles(): Promise<string[]> {
  const { stdout } = await exec('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 64 * 1024 * 1024 })
  return [...new Set(stdout.split('\0'))].filter((file) => file !== '' && existsSync(join(root, file)))
}

interface Recorded {
  quick: boolean
  rounds: number
  cases: Array<{ name: string; skipped?: string; results: Array<{ impl: string; values: number[] }> }>
}

describe('npm run bench on a fresh clone', () => {
  afterAll(() => {
    if (clone !== '') rmSync(clone, { recursive: true, force: true })
  })

  it(
    'builds dist/ before loading the cases, measures, and writes its results in the clone',
    async () => {
      clone = mkdtempSync(join(tmpdir(), 'celeriac-bench-clone-'))
      for (const file of await checkoutFiles()) {
        mkdirSync(dirname(join(clone, file)), { recursive: true })
        copyFileSync(join(root, file), join(clone, file))
      }
      symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir')
      expect(existsSync(join(clone, 'dist'))).toBe(false)
      const resultsBefore = readdirSync(join(clone, 'bench', 'results'))
      const summaryBefore = readFileSync(join(clone, 'bench', 'RESULTS.md'), 'utf8')

      const { stdout } = await exec('npm', ['run', 'bench', '--', '--quick', '--only', 'inline-throughput', '--rounds', '1'], {
        cwd: clone,
        env: { ...process.env, CELERIAC_BUILD: 'javascript' },
        timeout: LIMIT_MS,
        maxBuffer: 64 * 1024 * 1024,
      })

      expect(existsSync(join(clone, 'dist', 'index.js'))).toBe(true)
      // Built without declarations, so test/package/built.ts's default check would build again.
      expect(existsSync(join(clone, 'dist', 'index.d.ts'))).toBe(false)
      const written = readdirSync(join(clone, 'bench', 'results')).filter((name) => !resultsBefore.includes(name))
      expect(written).toHaveLength(1)
      expect(written[0]).toMatch(/^\d{4}-\d{2}-\d{2}-quick-only-inline-throughput\.json$/)
      expect(stdout).toContain(`wrote bench/results/${written[0]!}`)
      const record = JSON.parse(readFileSync(join(clone, 'bench', 'results', written[0]!), 'utf8')) as Recorded
      expect(record.quick).toBe(true)
      expect(record.rounds).toBe(1)
      expect(record.cases.map((c) => c.name)).toEqual(['inline-throughput'])
      const [measured] = record.cases
      expect(measured!.skipped).toBeUndefined()
      expect(measured!.results.map((r) => r.impl)).toEqual(['celeriac', 'p-queue (concurrency 16)'])
      for (const r of measured!.results) {
        expect(r.values).toHaveLength(1)
        expect(r.values[0]).toBeGreaterThan(0)
        expect(stdout).toContain(r.impl)
      }
      // A partial run leaves the full run's summary alone.
      expect(readFileSync(join(clone, 'bench', 'RESULTS.md'), 'utf8')).toBe(summaryBefore)
    },
    LIMIT_MS,
  )
})
