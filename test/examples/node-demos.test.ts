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

it('npm run demo processes the dataset through a chord and prints the aggregate', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/node/demo.ts'], { timeout: 120_000 })
  expect(stdout).toContain('Processing 2000 records in 8 chunks')
  expect(stdout).toContain(`primes: ${String(expectedPrimes(2_000))}`)
}, 130_000)

it('the desktop demo runs on file storage and worker threads, and a second run finds the stored report', async () => {
  const env = { ...process.env, RECORDS: '600', CHUNK: '100' }
  const first = await run(process.execPath, ['--import', 'tsx', 'examples/node/desktop.ts', dir], { env, timeout: 120_000 })
  expect(first.stdout).toContain('Processing 600 records in 6 chunks on worker threads')
  expect(first.stdout).toContain(`primes: ${String(expectedPrimes(600))}`)
  const second = await run(process.execPath, ['--import', 'tsx', 'examples/node/desktop.ts', dir], { env, timeout: 120_000 })
  expect(second.stdout).toContain('already holds the report')
  expect(second.stdout).toContain(`primes: ${String(expectedPrimes(600))}`)
}, 250_000)
