import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import type { TestProjectConfiguration } from 'vitest/config'
import { reachable } from './test/reachable.js'
import { CHROMIUM, describeMissing, missingParts, underCi } from './test/requirements.js'
import { WaitingFirstSequencer } from './test/sequencer.js'
import { SkipSummary } from './test/skip-summary.js'
import { ISOLATED, conformanceCombos } from './test/isolation.js'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

// One module graph per vitest worker, but for the files that need their own and the runs on
// Redis (test/isolation.ts).
const combos = conformanceCombos(process.env.CELERIAC_COMBOS)
const node: TestProjectConfiguration = {
  test: {
    name: 'node',
    include: ['test/**/*.test.ts'],
    exclude: [...ISOLATED],
    isolate: false,
    env: { CELERIAC_COMBOS: combos.shared },
    // Compiles the task modules the tests run in worker threads, once (test/workers/).
    globalSetup: ['./test/workers/bundle.setup.ts'],
    // The type tests on their own program (test/types/tsconfig.json: the project's options, those
    // files and what they import), not the whole project's: \`npm run typecheck\` checks that, and
    // vitest runs this check alone after every other file (measured: 76 s of a loaded run's tail).
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './test/types/tsconfig.json' },
    testTimeout: 20_000,
  },
}
const nodeIsolated: TestProjectConfiguration = {
  test: {
    name: 'node-isolated',
    include: [...ISOLATED],
    globalSetup: ['./test/workers/bundle.setup.ts'],
    testTimeout: 20_000,
  },
}
const conformanceOnRedis: TestProjectConfiguration = {
  test: {
    name: 'node-redis',
    include: ['test/conformance/*.test.ts'],
    env: { CELERIAC_COMBOS: combos.redis ?? '' },
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
    // Bundles the Web Worker scripts of the conformance matrix, once (test/workers/).
    globalSetup: ['./test/workers/browser-bundle.setup.ts'],
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

/**
 * examples/bullmq: its tests on celeriac (its own config, with the setup file that switches
 * BullMQ over), and the same tests without that file, on the local Redis, when one answers.
 */
const bullmqExample = 'examples/bullmq/vitest.config.ts'
const bullmqExampleOnRedis: TestProjectConfiguration = {
  test: {
    name: 'example-bullmq-redis',
    root: fileURLToPath(new URL('./examples/bullmq', import.meta.url)),
    include: ['*.test.ts'],
    testTimeout: 120_000,
  },
}
// With BULLMQ_ON_REDIS=1 the example's own project is the Redis one already.
const exampleOnRedis = process.env.BULLMQ_ON_REDIS === '1'
const onRedis = !exampleOnRedis && (await reachable('127.0.0.1', 6379))
if (!exampleOnRedis && !onRedis) console.warn('[celeriac] Redis is not answering on 127.0.0.1:6379: the BullMQ example runs on celeriac only')

// Said before anything runs; under CI a missing part fails the run (test/requirements.ts).
const missing = await missingParts()
if (missing.length > 0) {
  console.warn(describeMissing(missing, underCi()))
  if (underCi()) throw new Error('celeriac: parts the test run needs are missing (see above)')
}

export default defineConfig({
  test: {
    // Two test files at a time, whatever the core count: most files wait on I/O (Redis, child
    // processes, Chromium), and vitest's default on 2 cores (cores - 1) ran them one by one.
    // Measured on this 2-core machine: npm test 930 s -> 622 s, test:quick 102 s -> 71 s.
    maxWorkers: 2,
    // The projects that mostly wait (Redis, Python) first, beside the Chromium project (test/sequencer.ts).
    sequence: { sequencer: WaitingFirstSequencer },
    reporters: ['default', new SkipSummary()],
    projects: [
      node,
      nodeIsolated,
      ...(combos.redis === undefined ? [] : [conformanceOnRedis]),
      ...(existsSync(CHROMIUM) ? [chromium] : []),
      bullmqExample,
      ...(onRedis ? [bullmqExampleOnRedis] : []),
    ],
  },
})
