/**
 * README's "Dashboard" section as pasted: the command starts the example and prints an address
 * whose page and API answer (one change to what a reader pastes: PORT picks a free port, as
 * another app may hold 8556), and the `mountDashboard` block type-checks against the built
 * package (`celeriac/browser`, `celeriac/dashboard`), with the DOM's types as a page has them.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { childLines } from '../child-lines.js'
import { ensureBuilt } from '../package/built.js'
import { blockIn, codeBlocks } from './markdown.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
const blocks = codeBlocks(new URL('../../README.md', import.meta.url))
const base = join(root, '.snippets')
let dir = ''

beforeAll(async () => {
  // The built package, fresh and whole (another test file may be rebuilding it).
  await ensureBuilt()
  mkdirSync(base, { recursive: true })
  dir = mkdtempSync(join(base, 'dashboard-'))
}, 180_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("README's Dashboard section runs as pasted", () => {
  it('the command prints the dashboard address; its page and API answer; Ctrl+C ends it', async () => {
    const command = blockIn(blocks, 'Dashboard', 'sh').code.split('#')[0]?.trim() ?? ''
    expect(command).toBe('npx tsx examples/dashboard/serve.ts')
    const child = spawn('bash', ['-c', `exec ${command}`], {
      cwd: root,
      env: { ...process.env, PORT: '0', DIR: join(dir, 'jobs'), CELERIAC_TOKEN: 'readme-token-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl+C in a terminal signals the whole group (npx, tsx, node).
      detached: true,
    })
    const out = childLines(child)
    try {
      await out.waitFor((line) => line.startsWith('dashboard: '), 'the dashboard address')
      const address = new URL(out.lines.find((line) => line.startsWith('dashboard: '))?.slice('dashboard: '.length) ?? '')
      expect(address.pathname).toBe('/dashboard/')
      const token = new URLSearchParams(address.hash.slice(1)).get('token')
      expect(token).toBe('readme-token-0123456789')
      expect((await fetch(address)).status).toBe(200)
      const queues = await fetch(new URL('/v1/inspect/queues', address), { headers: { authorization: `Bearer ${token}` } })
      expect(((await queues.json()) as { name: string }[]).map((q) => q.name)).toEqual(['default', 'emails'])
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT')
    }
    // npx ends once the program has (shutdownOnSignals ends it with 1 after SIGINT).
    expect(await out.exit).not.toBe(0)
  }, 60_000)

  it('the mountDashboard block type-checks against the built package', async () => {
    const at = join(dir, 'mount')
    mkdirSync(at)
    writeFileSync(join(at, 'mount.ts'), blockIn(blocks, 'Dashboard', 'ts').code)
    writeFileSync(
      join(at, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['mount.ts'],
      }),
    )
    try {
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', at], { cwd: at, timeout: 120_000 })
    } catch (error) {
      const { stdout } = error as { stdout?: string }
      throw new Error(`README's Dashboard block does not type-check:\n${stdout ?? String(error)}`)
    }
  }, 180_000)
})
