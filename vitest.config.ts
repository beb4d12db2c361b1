import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import type { TestProjectConfiguration } from 'vitest/config'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

const node: TestProjectConfiguration = {
  test: {
    name: 'node',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 20_000,
  },
}

/**
 * The conformance suite again, in Debian's Chromium: the same scenario files, with
 * `./setup.js` resolved to the browser matrix (IndexedDB × inline, IndexedDB × Web Workers);
 * and the storage contract on the browser's real IndexedDB.
 */
const chromium: TestProjectConfiguration = {
  resolve: {
    alias: [{ find: /^\.\/setup\.js$/, replacement: fileURLToPath(new URL('./test/conformance/setup.browser.ts', import.meta.url)) }],
  },
  test: {
    name: 'chromium',
    include: ['test/conformance/*.test.ts', 'test/storage/*.browser.ts'],
    testTimeout: 20_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
      instances: [{ browser: 'chromium' }],
    },
  },
}

if (!existsSync(CHROMIUM)) console.warn(`[celeriac] ${CHROMIUM} is missing: the conformance suite runs in Node only (apt-get install -y chromium)`)

export default defineConfig({
  test: { projects: existsSync(CHROMIUM) ? [node, chromium] : [node] },
})
