/** The Node examples run as a user runs them, in their own processes. */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, expect, it } from 'vitest'
import { countPrimes } from '../../examples/node/dataset-tasks.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'celeriac-desktop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The report of `records` records, computed here without celeriac. */
function expectedPrimes(records: number): number {
  let primes = 0
  for (let id = 1; id <= records; id++) primes += countPrimes(2_000 + (id % 500) * 20)
  return primes
}

it('npm run demo processes the dataset through a chord and prints the aggregate; piped, a line per chunk done and one table', async () => {
  const env = { ...process.env, PACE_MS: '0' }
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/node/demo.ts'], { env, timeout: 120_000 })
  expect(stdout).toContain('Processing 2000 records in 8 chunks')
  expect(stdout).toContain(`primes: ${String(expectedPrimes(2_000))}`)
  // Not a frame per progress step (there are 2,000 steps): no escapes, 8 "done" lines, 8 rows.
  expect(stdout).not.toContain('\x1b')
  const lines = stdout.split('\n')
  expect(lines.filter((line) => /^chunk \d\/8 done \(\d of 8 done\)$/.test(line))).toHaveLength(8)
  expect(lines.filter((line) => /^chunk \d\/8 {2}\[#{20}\] done$/.test(line))).toHaveLength(8)
  expect(lines.length).toBeLessThan(25)
}, 130_000)

it('a bad setting is one line saying what to set, not a stack trace', async () => {
  const failed = await run(process.execPath, ['--import', 'tsx', 'examples/node/demo.ts'], { env: { ...process.env, PACE_MS: 'slow' } }).catch(
    (error: { code: number; stderr: string }) => error,
  )
  expect(failed).toMatchObject({ code: 2, stderr: 'PACE_MS must be a whole number of 0 or more, got "slow"\n' })
})

it('the desktop demo runs on file storage and worker threads, and a second run finds the stored report', async () => {
  const env = { ...process.env, RECORDS: '600', CHUNK: '100', PACE_MS: '0' }
  const first = await run(process.execPath, ['--import', 'tsx', 'examples/node/desktop.ts', dir], { env, timeout: 120_000 })
  expect(first.stdout).toContain('Processing 600 records in 6 chunks on worker threads')
  expect(first.stdout).toContain(`primes: ${String(expectedPrimes(600))}`)
  const second = await run(process.execPath, ['--import', 'tsx', 'examples/node/desktop.ts', dir], { env, timeout: 120_000 })
  expect(second.stdout).toContain('already holds the report')
  expect(second.stdout).toContain(`primes: ${String(expectedPrimes(600))}`)
}, 250_000)
