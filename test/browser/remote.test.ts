/**
 * celeriac/remote in real Chromium: the app in a Web Worker (memory and IndexedDB storage) and
 * `remoteApp(worker)` on the page; and the other way round, the app on the page and the remote
 * in a worker over a MessageChannel's ports. Skipped, saying why, when Debian's chromium is not
 * installed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, CHROMIUM_ARGS, bundle, chromiumMissing, pageErrors, serve } from './harness.js'

const missing = chromiumMissing()
const fixtures = fileURLToPath(new URL('./fixtures/remote/', import.meta.url))

describe.skipIf(missing !== undefined)(`celeriac/remote in Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let browser: Browser
  let server: { url: string; close(): Promise<void> }
  let out: string
  const errors = pageErrors()

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'celeriac-remote-'))
    await bundle([join(fixtures, 'page.ts'), join(fixtures, 'app-worker.ts'), join(fixtures, 'client-worker.ts')], out)
    server = await serve([out, fixtures])
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (out !== undefined) rmSync(out, { recursive: true, force: true })
  })

  afterEach(() => errors.check())

  async function scenario(name: string, ...args: unknown[]): Promise<unknown> {
    const p = await browser.newPage()
    errors.watch(p)
    try {
      await p.goto(`${server.url}index.html`)
      await p.waitForSelector('body[data-ready="yes"]', { state: 'attached' })
      return await p.evaluate(
        ([n, a]) =>
          (globalThis as unknown as { scenarios: Record<string, (...x: unknown[]) => Promise<unknown>> }).scenarios[n as string]!(...(a as unknown[])),
        [name, args] as const,
      )
    } finally {
      await p.close()
    }
  }

  for (const storage of ['memory', 'indexeddb'] as const) {
    it(`page -> app in a Web Worker (${storage}): sends, canvases, progress, events, inspect, typed errors, close`, async () => {
      const seen = (await scenario('pageToWorker', storage)) as Record<string, unknown>
      expect(seen).toMatchObject({
        name: `worker-app-${storage}`,
        where: 'worker',
        value: 4,
        state: 'SUCCESS',
        groupValue: [2, 4, 6],
        chordValue: 6,
        lastSeen: ['SUCCESS', 4],
        progressEvents: [25, 50, 75, 100],
        failure: { isRange: true, message: 'out of range' },
        unknownIsNotRegistered: true,
        registered: ['r.add', 'r.fail', 'r.steps', 'r.sum', 'r.where'],
        closedIsChannelClosed: true,
      })
      // Updates are yielded in order, the last one never missed.
      const percents = seen.percents as number[]
      expect(percents).toEqual([...percents].sort((a, b) => a - b))
      expect(percents.at(-1)).toBe(100)
    })
  }

  it('remote in a Web Worker -> app on the page, over MessageChannel ports; the page’s serveApp(...).close() rejects the wait', async () => {
    expect(await scenario('workerToPage')).toEqual({
      type: 'done',
      where: 'page',
      sum: 5,
      chained: 12,
      closed: { name: 'ChannelClosedError', code: 'CHANNEL_CLOSED' },
    })
  })
})
