/**
 * celeriac loaded through require(): threads() starts the CommonJS worker entry, so a task module
 * that requires celeriac shares the worker's one copy (the ESM worker would load a second copy,
 * whose registry is empty: "registered no tasks"). The consumer is plain .cjs files in a temp
 * project with this checkout as node_modules/celeriac. Builds dist/ first if it is missing or older than src/ (test/package/built.ts).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, root } from '../package/built.js'

const tasksSource = `
const { Celeriac, ConfigError } = require('celeriac')
const { isMainThread } = require('node:worker_threads')
const app = new Celeriac({ name: 'cjs-tasks' })
app.task('cjs.add', (a, b) => ({ sum: a + b, inWorker: !isMainThread }))
app.task('cjs.config', () => {
  throw new ConfigError('thrown in a CommonJS worker')
})
`

const mainSource = `
const { join } = require('node:path')
const { Celeriac, ConfigError, threads } = require('celeriac/node')
const app = new Celeriac({ name: 'cjs-main', executor: threads({ module: join(__dirname, 'tasks.cjs'), size: 1 }) })
;(async () => {
  try {
    await app.start()
    const added = await (await app.sendTask('cjs.add', [2, 3])).get({ timeout: 10000 })
    const error = await (await app.sendTask('cjs.config', [])).get({ timeout: 10000 }).then(() => undefined, (e) => e)
    console.log(JSON.stringify({ added, error: { name: error.name, instance: error instanceof ConfigError } }))
  } catch (error) {
    console.log(JSON.stringify({ startFailed: String(error) }))
  } finally {
    await app.stop()
  }
})()
`

/** The same task module under an app that imports celeriac: two copies in the worker. */
const esmMainSource = `
import { Celeriac, threads } from 'celeriac/node'
const app = new Celeriac({ name: 'esm-main', executor: threads({ module: new URL('./tasks.cjs', import.meta.url), size: 1 }) })
try {
  await app.start()
  console.log(JSON.stringify({ started: true }))
} catch (error) {
  console.log(JSON.stringify({ name: error.name, message: error.message }))
} finally {
  await app.stop()
}
`

function run(file: string): unknown {
  const out = execFileSync(process.execPath, [join(dir, file)], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as unknown
}

let dir = ''

describe('a CommonJS consumer of threads()', () => {
  beforeAll(async () => {
    await ensureBuilt()
    dir = mkdtempSync(join(tmpdir(), 'celeriac-cjs-'))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(root, join(dir, 'node_modules', 'celeriac'), 'dir')
    writeFileSync(join(dir, 'tasks.cjs'), tasksSource)
    writeFileSync(join(dir, 'main.cjs'), mainSource)
    writeFileSync(join(dir, 'main.mjs'), esmMainSource)
  }, 600_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("require('celeriac/node') with a .cjs task module that requires celeriac: the task runs in the worker, its error arrives as itself", () => {
    expect(run('main.cjs')).toEqual({ added: { sum: 5, inWorker: true }, error: { name: 'ConfigError', instance: true } })
  })

  it('an app that imports celeriac with a task module that requires it: start() fails saying the module used another copy of celeriac', () => {
    expect(run('main.mjs')).toEqual({
      name: 'ConfigError',
      message: expect.stringContaining('made its app with another copy of celeriac than the worker') as unknown,
    })
  })
})
