/**
 * The example page as bundlers build it, run in Chromium: esbuild (the page and the worker as two
 * entries) and Vite (which finds the worker through the `new Worker(new URL(...))` the page
 * writes out) both process the dataset in Web Workers. A page built without its worker (the URL
 * left as it was, esbuild) fails `app.start()` at once with a ConfigError naming the URL and the
 * fix, not a page that waits for workers that never come.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { build as vite } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countPrimes } from '../../examples/node/dataset-tasks.js'
import { buildExample, serveExample } from '../../examples/browser/serve.js'
import { CHROMIUM, CHROMIUM_ARGS, bundle, chromiumMissing, serve } from './harness.js'

const missing = chromiumMissing()
const example = fileURLToPath(new URL('../../examples/browser/', import.meta.url))
const source = fileURLToPath(new URL('../../src/browser.ts', import.meta.url))

/** Vite, as an app would build the page: main.ts as the entry (served as ./main.js by index.html), workers as ES modules. */
async function buildWithVite(outdir: string): Promise<void> {
  await vite({
    root: example,
    logLevel: 'silent',
    configFile: false,
    // The worker imports its task module lazily: code splitting, which an IIFE worker cannot do.
    worker: { format: 'es' },
    build: {
      outDir: outdir,
      emptyOutDir: false,
      target: 'es2022',
      rollupOptions: { input: join(example, 'main.ts'), output: { entryFileNames: '[name].js' } },
    },
  })
}

function expectedSummary(): string {
  let primes = 0
  for (let id = 1; id <= 4_000; id++) primes += countPrimes(2_000 + (id % 500) * 20)
  return `Done: 16 chunks, 4000 records, ${primes} primes`
}

describe.skipIf(missing !== undefined)(`bundled pages in Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let browser: Browser
  const dirs: string[] = []
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-bundler-'))
    dirs.push(dir)
    return dir
  }

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 30_000)
  afterAll(async () => {
    await browser?.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  for (const [bundler, buildPage] of [
    ['esbuild', buildExample],
    ['Vite', buildWithVite],
  ] as const) {
    it(`the example page built by ${bundler} runs the dataset in its workers`, async () => {
      const out = tempDir()
      await buildPage(out)
      const server = await serveExample(out)
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`))
      try {
        await page.goto(`${server.url}?pace=0`)
        await page.waitForSelector('body[data-ready="yes"]', { state: 'attached', timeout: 20_000 })
        await page.click('#start')
        await page.waitForSelector('body[data-done="yes"]', { state: 'attached', timeout: 60_000 })
        expect(await page.textContent('#summary')).toBe(expectedSummary())
        expect(errors).toEqual([])
      } finally {
        await page.close()
        await server.close()
      }
    }, 120_000)
  }

  it('a page built without its worker (esbuild left the URL as it was; HTTP 404): start() fails at once with a ConfigError naming the URL and the fix, for url and for create; a worker whose import is missing is told apart', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'page.ts'),
      `import { Celeriac, webWorkers } from ${JSON.stringify(source)}
const attempt = (executor) =>
  new Celeriac({ executor }).start().then(() => ({ started: true }), (error) => ({ name: error.name, code: error.code, message: error.message }))
Object.assign(globalThis, {
  outcome: Promise.all([
    attempt(webWorkers({ url: new URL('./worker.js', import.meta.url), size: 2 })),
    attempt(webWorkers({ create: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }), size: 2 })),
    attempt(webWorkers({ url: new URL('./broken-worker.js', import.meta.url), size: 1 })),
  ]),
})
`,
    )
    // There, but its import is not: not a bundler's missing file, and not said to be one.
    writeFileSync(join(dir, 'broken-worker.js'), "import './not-there.js'\n")
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="./page.js"></script></body></html>')
    // The page's script alone, as esbuild builds it when the worker is not an entry of its own.
    await bundle([join(dir, 'page.ts')], join(dir, 'out'))
    const server = await serve([join(dir, 'out'), dir])
    const page = await browser.newPage()
    try {
      await page.goto(`${server.url}index.html`)
      type Outcome = { name: string; code: string; message: string }
      const [byUrl, byCreate, broken] = await page.evaluate(() => (globalThis as unknown as { outcome: Promise<[Outcome, Outcome, Outcome]> }).outcome)
      const fix = "create: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })"
      expect(byUrl).toMatchObject({ name: 'ConfigError', code: 'CONFIG' })
      expect(byUrl!.message).toContain(`the worker script ${server.url}worker.js did not load (HTTP 404)`)
      expect(byUrl!.message).toContain(fix)
      expect(byCreate).toMatchObject({ name: 'ConfigError', code: 'CONFIG' })
      expect(byCreate!.message).toContain('the worker made by create() did not load its script')
      expect(byCreate!.message).toContain(fix)
      expect(broken).toMatchObject({ name: 'ConfigError', code: 'CONFIG' })
      expect(broken!.message).toContain(`the worker script ${server.url}broken-worker.js is there, but it or a module it imports failed to load`)
    } finally {
      await page.close()
      await server.close()
    }
  }, 60_000)

  it("Vite given url: new URL('./worker.js') turns the unbuilt worker.ts into an asset: start() fails saying it is not JavaScript, and the fix", async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, 'page.ts'),
      `import { Celeriac, webWorkers } from ${JSON.stringify(source)}
const app = new Celeriac({ executor: webWorkers({ url: new URL('./worker.js', import.meta.url), size: 1 }) })
Object.assign(globalThis, { outcome: app.start().then(() => ({ started: true }), (error) => ({ name: error.name, message: error.message })) })
`,
    )
    writeFileSync(join(dir, 'worker.ts'), `import { serveWorker } from ${JSON.stringify(source)}\nvoid serveWorker(async () => undefined)\n`)
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="./page.js"></script></body></html>')
    const out = join(dir, 'out')
    await vite({
      root: dir,
      logLevel: 'silent',
      configFile: false,
      build: { outDir: out, target: 'es2022', rollupOptions: { input: join(dir, 'page.ts'), output: { entryFileNames: '[name].js' } } },
    })
    const server = await serve([out, dir])
    const page = await browser.newPage()
    try {
      await page.goto(`${server.url}index.html`)
      const outcome = await page.evaluate(() => (globalThis as unknown as { outcome: Promise<{ name: string; message: string }> }).outcome)
      expect(outcome.name).toBe('ConfigError')
      expect(outcome.message).toMatch(/did not load \(it is served as [^,]+, not JavaScript\); a bundler left its URL unrewritten or did not emit it/)
      expect(outcome.message).toContain("create: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })")
    } finally {
      await page.close()
      await server.close()
    }
  }, 60_000)
})
