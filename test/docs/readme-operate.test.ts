/**
 * README's "operate it" sections run as pasted (issue 18): the Periodic tasks and Pausing a queue
 * programs, the Control endpoint program with the curl and `npx celeriac` commands that
 * README runs against it, and the Command line's `--dir` commands over the directory its
 * shop.ts program leaves. Each program is the README block, type-checked against the built
 * package and run with tsx, in a reader's project as README's Install leaves it
 * (test/package/reader-project.ts), so `import ... from 'celeriac'` and `npx celeriac` resolve as
 * in a user's project. Three changes to what a reader pastes, all said here: the endpoint's
 * port 8555 becomes a free one (another test or app may hold 8555); its `tick` schedule runs
 * every 500 ms instead of every 5 s (two commands wait for the app's next events: a reader waits
 * up to 5 s, the test ten times less); and a command that runs until Ctrl+C (`curl -N` on the
 * event stream) gets the signal once its first line has come (the stream is open).
 *
 * The four programs are type-checked by one `tsc` (each its own file and module, its errors
 * mapped back to it): one process instead of one per program, with the same files and options.
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../package/built.js'
import { readerProject } from '../package/reader-project.js'
import { blockIn, codeBlocks } from './markdown.js'
import { type Diagnostic, parseDiagnostics } from './snippets.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
const blocks = codeBlocks(new URL('../../README.md', import.meta.url))
const token = 'change-me-to-a-long-secret'

// Inside the repository (gitignored, removed afterwards), so tsc and tsx find this checkout's
// node_modules (@types/node, tsx) above the reader's project, as a global install would be found.
const base = join(root, '.snippets')
let dir = ''
let port = ''
const children: ChildProcess[] = []
/** The README programs: name -> code, each written as `<name>/<name>.ts` in the reader's project. */
const programs = new Map<string, string>()
let diagnostics: Diagnostic[] = []

beforeAll(async () => {
  // The built package, fresh and whole (another test file may be rebuilding it).
  await ensureBuilt()
  mkdirSync(base, { recursive: true })
  dir = mkdtempSync(join(base, 'readme-'))
  readerProject(dir)
  port = String(await freePort())
  programs.set('schedules', blockIn(blocks, 'Periodic tasks', 'ts').code)
  programs.set('pausing', blockIn(blocks, 'Pausing a queue', 'ts').code)
  programs.set('control', swap(blockIn(blocks, 'Control endpoint', 'ts').code.replaceAll('8555', port), '{ every: 5_000 }', '{ every: 500 }'))
  programs.set('shop', blockIn(blocks, 'Command line', 'ts').code)
  for (const [name, code] of programs) {
    mkdirSync(join(dir, name))
    writeFileSync(join(dir, name, `${name}.ts`), code)
  }
  // As a user's strict project would check them.
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: [...programs.keys()].map((name) => `${name}/${name}.ts`),
    }),
  )
  try {
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], { cwd: dir, timeout: 170_000 })
  } catch (error) {
    const { stdout } = error as { stdout?: string }
    if (stdout === undefined || stdout === '') throw error
    diagnostics = parseDiagnostics(stdout)
  }
}, 360_000)

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

/**
 * The directory of README's `name` program, once it type-checks; a diagnostic in no program's
 * file (a missing type package, a bad option) fails every program.
 */
function program(name: string): string {
  const file = `${name}/${name}.ts`
  const errors = diagnostics.filter((d) => d.file === file || ![...programs.keys()].some((other) => d.file === `${other}/${other}.ts`))
  if (errors.length > 0)
    throw new Error(`README's ${name} block does not type-check:\n${errors.map((d) => `${d.file}(${String(d.line)}): ${d.text}`).join('\n')}`)
  return join(dir, name)
}

/** `code` with `from` replaced by `to`; throws when README no longer has `from`. */
function swap(code: string, from: string, to: string): string {
  if (!code.includes(from)) throw new Error(`README's program no longer has ${from}: update readme-operate.test.ts`)
  return code.replace(from, to)
}

async function runProgram(at: string, name: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `${name}.ts`], { cwd: at, env: { ...process.env, ...env }, timeout: 60_000 })
  return stdout
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

describe("README's operate-it sections run as pasted", () => {
  it('Periodic tasks: the program stores, lists and removes schedules on file storage, and exits', async () => {
    const at = program('schedules')
    await runProgram(at, 'schedules')
    expect(existsSync(join(at, '.jobs'))).toBe(true)
  }, 180_000)

  it('Pausing a queue: the send waits while paused, runs after resume', async () => {
    const at = program('pausing')
    const out = await runProgram(at, 'pausing')
    expect(out).toContain('emails paused')
    expect(out).toMatch(/name: 'emails',\s+paused: true/)
    expect(out.trimEnd().split('\n').at(-1)).toBe('sent to ada@example.com')
  }, 180_000)

  it('Control endpoint and Command line: the curl and npx celeriac commands talk to the running program', async () => {
    const at = program('control')
    expect(blockIn(blocks, 'Control endpoint', 'ts').code).toContain('CELERIAC_TOKEN=change-me-to-a-long-secret npx tsx control.ts')
    const app = spawn(process.execPath, ['--import', 'tsx', 'control.ts'], {
      cwd: at,
      env: { ...process.env, CELERIAC_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(app)
    let printed = ''
    await new Promise<void>((resolve, reject) => {
      app.stdout!.on('data', (chunk: Buffer) => {
        printed += chunk.toString()
        if (printed.includes('control endpoint on')) resolve()
      })
      app.once('exit', (code) => reject(new Error(`control.ts exited with ${String(code)} before its endpoint was up`)))
    })
    expect(printed).toContain(`control endpoint on http://127.0.0.1:${port}`)

    for (const [section, expectOut] of [
      ['Control endpoint', ['"ok":true', ': connected']],
      ['Command line', ['QUEUE', 'tick', 'math.add']],
    ] as const) {
      const script = blockIn(blocks, section, 'sh')
        .code.replaceAll('8555', port)
        // Runs until Ctrl+C: once its first line has come, the signal a reader's Ctrl+C sends
        // (job control on, so the background command does not ignore SIGINT; a poll on its
        // output). A command that ends by itself first fails the script with its own status.
        .replace(
          /^(.*)#\s*Ctrl\+C to stop$/m,
          ': > ctrl-c.out; set -m; $1 > ctrl-c.out & until [ -s ctrl-c.out ] || ! kill -0 $! 2>/dev/null; do sleep 0.05; done; kill -INT $! 2>/dev/null || true; wait $! || [ $? -eq 130 ]; set +m; cat ctrl-c.out',
        )
      // A cap for ten npx commands on a loaded 2-core machine (at a load average of 20 each took
      // 5-15 s and 90 s was not enough), not a speed requirement.
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, timeout: 180_000 })
      for (const text of expectOut) expect(stdout, `${section} output`).toContain(text)
    }
    // Ctrl+C, as README says: a warm shutdown, then the process ends (1, shutdownOnSignals' code for SIGINT).
    let stderr = ''
    app.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => app.once('exit', (exitCode) => resolve(exitCode)))
    app.kill('SIGINT')
    expect(await exited).toBe(1)
    expect(stderr).toContain('celeriac: warm shutdown (SIGINT)')
  }, 420_000)

  it('Command line, --dir: the commands read the directory the stopped shop.ts left', async () => {
    const shop = blockIn(blocks, 'Command line', 'ts')
    expect(shop.code).toContain('npx tsx shop.ts')
    const at = program('shop')
    // The reader's commands, in the directory the reader saved shop.ts in.
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', blockIn(blocks, 'Command line', 'sh', 1).code], { cwd: at, timeout: 120_000 })
    expect(stdout).toMatch(/^state:\s+SUCCESS$/m)
    expect(stdout).toMatch(/^result:\s+5$/m)
    expect(stdout).toMatch(/^default\s+paused since \S+\s+-\s+0\s+0\s+1$/m)
    expect(stdout).toMatch(/math\.add\s+default\s+\[1,1\]/)
    expect(existsSync(join(at, 'shop-data', 'LOCK'))).toBe(false)
  }, 240_000)
})
