/**
 * The built command as npm installs it: package.json's "bin" names dist/cli.js, which starts
 * with its `#!` line, and `npx celeriac --help` runs it in a project that installed this checkout
 * (test/package/reader-project.ts: in the checkout itself, npx would run the `prepare` build).
 * Builds dist/ first if the CLI is not in it (CI builds before testing).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../package/built.js'
import { readerProject } from '../package/reader-project.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('the celeriac bin', () => {
  // The built package, fresh and whole (another test file may be rebuilding it).
  let project = ''
  beforeAll(async () => {
    await ensureBuilt()
    project = mkdtempSync(join(tmpdir(), 'celeriac-bin-project-'))
    readerProject(project)
  }, 180_000)
  afterAll(() => {
    if (project !== '') rmSync(project, { recursive: true, force: true })
  })

  it('package.json "bin" points at the built entry, a node script', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string> }
    expect(pkg.bin).toEqual({ celeriac: './dist/cli.js' })
    expect(readFileSync(`${root}dist/cli.js`, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
  })

  it('npx celeriac --help prints the commands and exits 0', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'celeriac', '--help'], { cwd: project, timeout: 30_000 })
    expect(stdout).toContain('Usage: celeriac [options] [command]')
    expect(stdout).toContain('events [options]')
  })

  it('--dir loads its reader (a chunk of its own, imported on demand) from the build', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'celeriac-bin-'))
    try {
      const run = promisify(execFile)('npx', ['--no-install', 'celeriac', '--dir', empty, 'inspect', 'stats', '--json'], { cwd: project, timeout: 30_000 })
      const failed = (await run.then(
        () => undefined,
        (error: unknown) => error,
      )) as { code?: number; stderr?: string } | undefined
      expect(failed?.code).toBe(1)
      expect(JSON.parse(failed?.stderr ?? '')).toMatchObject({
        error: { code: 'DIRECTORY_UNREADABLE', message: expect.stringContaining('holds no celeriac file storage') },
      })
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })
})
