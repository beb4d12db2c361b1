/**
 * The fresh projects test/package/install.test.ts installs the packed tarball into: each a map of
 * relative path -> file text. What every run prints is in the test (`ran`).
 */

/** Tasks inline on memory storage and a virtual clock: a task, a chain, a one-hour countdown. */
const inline = `
async function inline() {
  const clock = virtualClock()
  const app = new Celeriac({ name: 'pkg-inline', clock })
  const add = app.task('pkg.add', (a, b) => a + b)
  const report = app.task('pkg.report', () => 'done')
  await app.start()
  try {
    const sum = await (await add.delay(2, 3)).get()
    const chained = await (await chain(add.s(2, 2), add.s(4), add.s(8)).delay()).get()
    const r = await report.applyAsync([], { countdown: 3_600_000 })
    await clock.advance(59 * 60_000)
    const before = await r.state()
    await clock.advance(60_000)
    const after = await r.state()
    return { sum, chained, countdown: { before, after, value: await r.get() } }
  } finally {
    await app.stop()
  }
}
`

/** The same app's tasks in one worker thread: the package's worker entry loads the task module. */
const threadsRun = `
async function threadsRun(module) {
  const app = new Celeriac({ name: 'pkg-threads', executor: threads({ module, size: 1 }) })
  await app.start()
  try {
    const added = await (await app.sendTask('pkg.add', [2, 3])).get({ timeout: 20000 })
    const error = await (await app.sendTask('pkg.config', [])).get({ timeout: 20000 }).then(() => undefined, (e) => e)
    return { ...added, error: { name: error.name, code: error.code, instance: error instanceof ConfigError } }
  } finally {
    await app.stop()
  }
}
`

const tasksBody = `
const app = new Celeriac({ name: 'pkg-tasks' })
app.task('pkg.add', (a, b) => ({ sum: a + b, inWorker: !isMainThread }))
app.task('pkg.config', () => {
  throw new ConfigError('thrown in a worker')
})
`

/** `"type": "module"`: .js files are ES modules. */
export const esmProject: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'esm-consumer', private: true, type: 'module' }),
  'tasks.js': `import { isMainThread } from 'node:worker_threads'\nimport { Celeriac, ConfigError } from 'celeriac'\n${tasksBody}`,
  'main.js': `import { Celeriac, ConfigError, chain } from 'celeriac'
import { threads } from 'celeriac/node'
import { virtualClock } from 'celeriac/testing'
${inline}
${threadsRun}
console.log(JSON.stringify({ inline: await inline(), threads: await threadsRun(new URL('./tasks.js', import.meta.url)) }))
`,
  // A page on the browser entry, for Vite (index.html) and esbuild (browser-app.js).
  'index.html': '<!doctype html>\n<html><body><script type="module" src="./browser-app.js"></script></body></html>\n',
  'browser-app.js': `import { Celeriac } from 'celeriac'
import { indexedDBStorage, webWorkers } from 'celeriac/browser'
export const app = new Celeriac({
  name: 'page',
  storage: indexedDBStorage({ name: 'jobs' }),
  executor: webWorkers({ url: '/worker.js' }),
})
app.task('page.add', (a, b) => a + b)
await app.start()
document.body.dataset.started = 'yes'
`,
}

/** The core entry alone, as a browser bundle would have it (run in Node by the test). */
export const coreApp = `import { Celeriac, chain } from 'celeriac'
import { virtualClock } from 'celeriac/testing'
${inline}
console.log(JSON.stringify(await inline()))
`

/** No "type": .cjs files, require(). */
export const cjsProject: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'cjs-consumer', private: true }),
  'tasks.cjs': `const { isMainThread } = require('node:worker_threads')\nconst { Celeriac, ConfigError } = require('celeriac')\n${tasksBody}`,
  'main.cjs': `const { join } = require('node:path')
const { Celeriac, ConfigError, chain } = require('celeriac')
const { threads } = require('celeriac/node')
const { virtualClock } = require('celeriac/testing')
${inline}
${threadsRun}
;(async () => {
  console.log(JSON.stringify({ inline: await inline(), threads: await threadsRun(join(__dirname, 'tasks.cjs')) }))
})()
`,
}

/**
 * The inline run typed, for .mts and .cts alike (no top-level await, no import.meta). A lock taken
 * with `await using` is released at the end of its block: @types/node gives Symbol.asyncDispose.
 * Misuse of a typed task must not compile: the types are the package's, not `any`.
 */
const typedMain = `import { Celeriac, chain, type AsyncResult, type Lock } from 'celeriac'
import { virtualClock } from 'celeriac/testing'
import type { threads } from 'celeriac/node'

async function inline(): Promise<unknown> {
  const clock = virtualClock()
  const app = new Celeriac({ name: 'pkg-ts', clock })
  const add = app.task('pkg.add', (a: number, b: number) => a + b)
  const report = app.task('pkg.report', () => 'done')
  await app.start()
  try {
    const sum: number = await (await add.delay(2, 3)).get()
    const chained = await (await chain(add.s(2, 2), add.s(4), add.s(8)).delay()).get()
    const r: AsyncResult<string> = await report.applyAsync([], { countdown: 3_600_000 })
    await clock.advance(59 * 60_000)
    const before = await r.state()
    await clock.advance(60_000)
    const after = await r.state()
    {
      await using held: Lock | null = await app.locks.acquire('pkg.lock', { ttl: 60_000 })
      if (held === null) throw new Error('the lock was not free')
    }
    const again = await app.locks.acquire('pkg.lock', { ttl: 60_000 })
    if (again === null) throw new Error('await using did not release the lock')
    await again.release()
    return { sum, chained, countdown: { before, after, value: await r.get() } }
  } finally {
    await app.stop()
  }
}

export function misuse(app: Celeriac, executor: typeof threads): void {
  const add = app.task('pkg.add', (a: number, b: number) => a + b)
  // @ts-expect-error: add takes numbers
  void add.delay('2', 3)
  // @ts-expect-error: threads() needs the task module
  void executor({})
}

void inline().then((result) => console.log(JSON.stringify(result)))
`

/** Every subpath's values, under node10 resolution (CommonJS). */
const node10Main = `import { Celeriac, type Lock } from 'celeriac'
import { fileStorage, threads } from 'celeriac/node'
import { indexedDBStorage, webWorkers } from 'celeriac/browser'
import { virtualClock } from 'celeriac/testing'
import { bullmqBackend } from 'celeriac/bullmq'
import { celeryTransport } from 'celeriac/celery'
import { mountDashboard } from 'celeriac/dashboard'
import { remoteApp, serveApp } from 'celeriac/remote'
export type WorkerEntry = typeof import('celeriac/node-worker')

export const entries = [Celeriac, fileStorage, threads, indexedDBStorage, webWorkers, virtualClock, bullmqBackend, celeryTransport, mountDashboard, remoteApp, serveApp]
export async function release(lock: Lock): Promise<boolean> {
  return lock.release()
}
// @ts-expect-error: a storage needs its options
fileStorage()
`

/** A browser app's view, lib ES2022 + DOM: no esnext.disposable, no @types/node. */
const bundlerMain = `import { Celeriac, type Lock } from 'celeriac'
import { indexedDBStorage, webWorkers } from 'celeriac/browser'
import { virtualClock } from 'celeriac/testing'
import { mountDashboard } from 'celeriac/dashboard'
import { remoteApp } from 'celeriac/remote'

const app = new Celeriac({ name: 'page', storage: indexedDBStorage({ name: 'jobs' }), executor: webWorkers({ url: '/worker.js' }) })
export const add = app.task('page.add', (a: number, b: number) => a + b)
export const parts = [virtualClock, mountDashboard, remoteApp]
export async function withLock(): Promise<number | undefined> {
  const lock: Lock | null = await app.locks.acquire('page.lock', { ttl: 1000 })
  await lock?.release()
  return lock?.token
}
// @ts-expect-error: add takes numbers
void add.delay('2', 3)
`

// skipLibCheck off only for the browser app: there it checks every declaration file of the
// package it reaches; with @types/node in (node16, node10) it would spend most of a minute on
// @types/node's own files.
const compilerOptions = { target: 'ES2022', strict: true, skipLibCheck: true, noEmit: true }

export const tsProject: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'ts-consumer', private: true }),
  'main.mts': typedMain,
  'main.cts': typedMain,
  'node10.ts': node10Main,
  'browser-app.ts': bundlerMain,
  'tsconfig.node16.json': JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16', types: ['node'], noEmit: false, outDir: 'out', rootDir: '.' },
    files: ['main.mts', 'main.cts'],
  }),
  'tsconfig.node10.json': JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'commonjs', moduleResolution: 'node10', types: ['node'] },
    files: ['node10.ts'],
  }),
  'tsconfig.bundler.json': JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [], skipLibCheck: false },
    files: ['browser-app.ts'],
  }),
}
