/**
 * examples/electron without Electron (its binary cannot be downloaded here): the main process's
 * engine and the renderer's logic, wired with Node's MessageChannel in place of
 * MessageChannelMain, run as a user runs simulate.ts, in its own process.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'celeriac-electron-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('the renderer renders a batch in the main process’s worker threads on file storage, its bars reaching 100%', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/electron/simulate.ts', dir], { timeout: 120_000 })
  expect(stdout).toContain('done: {"count":3,"files":["a.jpg","b.jpg","c.jpg"]}')
  expect(stdout).toContain('bars: a.jpg=100 b.jpg=100 c.jpg=100')
  expect(stdout).not.toContain('failed')
}, 130_000)
