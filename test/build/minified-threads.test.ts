/**
 * A consumer app bundled with celeriac by tsup, minified (class names become `v`, `ee`, ...), with
 * the threads() executor: an error thrown in a worker arrives in the main thread with its name and
 * as an instance of its class, for one of celeriac's classes and a registered class of the app's
 * own; once as one build (the worker entry `celeriac/node-worker` next to the app's chunks, found
 * by default) and once as two builds minified apart (the app; the task module with the worker
 * entry). A bundle that left the worker entry out, or a `workerUrl` at nothing, fails start() at
 * once, naming the file.
 * Builds dist/ first if it is missing or older than src/ (test/package/built.ts); the bundles go to a temp dir.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, root } from '../package/built.js'
import { Celeriac, ConfigError } from '../../src/index.js'
import { threads } from '../../src/node.js'

const errorsSource = `
import { registerErrorClass } from 'celeriac/node'
export class PaymentDeclined extends Error {
  static {
    PaymentDeclined.prototype.name = 'PaymentDeclined'
  }
  constructor(message, retryAfter) {
    super(message)
    this.retryAfter = retryAfter
  }
}
registerErrorClass(PaymentDeclined)
`

const tasksSource = `
import { Celeriac, ConfigError } from 'celeriac/node'
import { PaymentDeclined } from './errors.js'
const app = new Celeriac({ name: 'minified-tasks' })
app.task('minified.ok', (n) => n * 2)
app.task('minified.config', () => {
  throw new ConfigError('a bad option, found in the worker')
})
app.task('minified.declined', () => {
  throw new PaymentDeclined('card declined', 30)
})
`

/** The app: runs the tasks in one worker and prints what arrived. `workerDir` is where the worker build is, if apart. */
function mainSource(workerDir: string | undefined): string {
  const where = workerDir === undefined ? '' : `${workerDir}/`
  const workerUrl = workerDir === undefined ? '' : `, workerUrl: new URL('./${where}node-worker.js', import.meta.url)`
  return `
import { Celeriac, ConfigError, threads } from 'celeriac/node'
import { PaymentDeclined } from './errors.js'
const app = new Celeriac({
  name: 'minified-main',
  executor: threads({ module: new URL('./${where}tasks.js', import.meta.url), size: 1${workerUrl} }),
})
const result = async (name, args) => (await app.sendTask(name, args)).get({ timeout: 10000 })
const failure = (name) => result(name, []).then(() => undefined, (error) => error)
try {
  await app.start()
  const ok = await result('minified.ok', [2])
  const config = await failure('minified.config')
  const declined = await failure('minified.declined')
  console.log(JSON.stringify({
    minifiedAs: [ConfigError.name, PaymentDeclined.name],
    ok,
    config: { name: config.name, code: config.code, instance: config instanceof ConfigError, message: config.message },
    declined: { name: declined.name, instance: declined instanceof PaymentDeclined, retryAfter: declined.retryAfter },
  }))
} catch (error) {
  console.log(JSON.stringify({ startFailed: { name: error.name, code: error.code, message: error.message } }))
} finally {
  await app.stop()
}
`
}

interface Report {
  minifiedAs: string[]
  ok: number
  config: { name: string; code: string; instance: boolean; message: string }
  declined: { name: string; instance: boolean; retryAfter: number }
  startFailed?: { name: string; code: string; message: string }
}

/** A temp project with celeriac (this checkout) in node_modules and the app's sources. */
function project(main: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-minified-'))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules', 'celeriac'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  writeFileSync(join(dir, 'errors.js'), errorsSource)
  writeFileSync(join(dir, 'tasks.js'), tasksSource)
  writeFileSync(join(dir, 'main.js'), main)
  // The worker entry, as the app's own entry file (tsup takes files as entries).
  writeFileSync(join(dir, 'worker-entry.js'), "import 'celeriac/node-worker'\n")
  return dir
}

/** tsup, minified, everything bundled (celeriac and its dependencies), ES modules for Node. */
async function bundle(dir: string, entry: Record<string, string>, outDir: string): Promise<void> {
  await build({
    entry: Object.fromEntries(Object.entries(entry).map(([name, file]) => [name, join(dir, file)])),
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    minify: true,
    splitting: true,
    noExternal: [/./],
    config: false,
    dts: false,
    sourcemap: false,
    clean: false,
    silent: true,
  })
}

function run(file: string): Report {
  const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as Report
}

function expectErrorsArrived(report: Report): void {
  expect(report.startFailed).toBeUndefined()
  // The bundle is minified for real: the classes lost their names.
  expect(report.minifiedAs).not.toContain('ConfigError')
  expect(report.minifiedAs).not.toContain('PaymentDeclined')
  expect(report.ok).toBe(4)
  expect(report.config).toEqual({ name: 'ConfigError', code: 'CONFIG', instance: true, message: 'a bad option, found in the worker' })
  expect(report.declined).toEqual({ name: 'PaymentDeclined', instance: true, retryAfter: 30 })
}

describe('a minified tsup bundle of an app using threads()', () => {
  const dirs: string[] = []
  beforeAll(async () => {
    await ensureBuilt()
  }, 600_000)
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('one build with celeriac/node-worker as an entry: errors from the worker keep their names and classes', async () => {
    const dir = project(mainSource(undefined))
    dirs.push(dir)
    const out = join(dir, 'out')
    await bundle(dir, { main: 'main.js', tasks: 'tasks.js', 'node-worker': 'worker-entry.js' }, out)
    expectErrorsArrived(run(join(out, 'main.js')))
  }, 60_000)

  it('the app and the worker minified apart (two builds, workerUrl): the same', async () => {
    const dir = project(mainSource('worker'))
    dirs.push(dir)
    const out = join(dir, 'out')
    await bundle(dir, { main: 'main.js' }, out)
    await bundle(dir, { tasks: 'tasks.js', 'node-worker': 'worker-entry.js' }, join(out, 'worker'))
    expectErrorsArrived(run(join(out, 'main.js')))
  }, 60_000)

  it('a bundle without the worker entry: start() fails at once with a ConfigError naming the missing file and the fix', async () => {
    const dir = project(mainSource(undefined))
    dirs.push(dir)
    const out = join(dir, 'out')
    await bundle(dir, { main: 'main.js', tasks: 'tasks.js' }, out)
    const { startFailed } = run(join(out, 'main.js'))
    expect(startFailed).toMatchObject({ name: 'ConfigError', code: 'CONFIG' })
    expect(startFailed!.message).toContain(join(out, 'node-worker.js'))
    expect(startFailed!.message).toContain('celeriac/node-worker')
  }, 60_000)

  it('threads({ workerUrl }) at a file that is not there: start() fails at once with a ConfigError naming the path', async () => {
    const workerUrl = new URL('file:///nonexistent/celeriac/node-worker.js')
    const app = new Celeriac({ executor: threads({ module: new URL('./tasks.js', workerUrl), workerUrl, size: 1 }) })
    const error = await app.start().then(
      () => expect.unreachable('start() should have failed'),
      (e: unknown) => e as Error,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toBe(
      "threads({ workerUrl }): the worker entry /nonexistent/celeriac/node-worker.js does not exist; point workerUrl at the built 'celeriac/node-worker' entry",
    )
  })
})
