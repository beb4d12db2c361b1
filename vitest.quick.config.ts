/**
 * `npm run test:quick`: the edit loop, in about a minute on a 2-core machine. The node project
 * without what is slow by nature; `npm test` (vitest.config.ts) runs everything, as CI does.
 * Left out here: the browser (Chromium), real worker threads and child processes (crash and
 * kill runs, the CLI, examples, docs and build checks, the bench from a fresh clone, Python
 * Celery), real-time cases of seconds, the type tests (`npm run typecheck` checks those files),
 * and the conformance matrix but for memory × inline (the bad-input catalogue with it). The
 * BullMQ capability tests run on the in-memory backend only.
 */
import { defineConfig } from 'vitest/config'
import { ISOLATED } from './test/isolation.js'

/** Files that start Chromium, threads, child processes or Python, build dist/, or wait seconds of real time. */
const SLOW = [
  'test/browser/**',
  'test/examples/**',
  'test/docs/**',
  'test/build/**',
  'test/bench/fresh-clone.test.ts',
  'test/celery/**',
  'test/cli/bin.test.ts',
  'test/cli/cli.test.ts',
  'test/cli/dir.test.ts',
  'test/adapters/threads.test.ts',
  'test/adapters/threads-faults.test.ts',
  'test/conformance/leader.test.ts',
  'test/adapters/lifetime.test.ts',
  'test/storage/crash-inline.test.ts',
  'test/storage/crash-threads.test.ts',
  'test/storage/redelivery.test.ts',
  'test/storage/revoked.test.ts',
  'test/core/schedules-crash.test.ts',
  'test/bullmq/kill9.test.ts',
  'test/transport/multiprocess.test.ts',
  'test/transport/redis-schedules-kill.test.ts',
  'test/transport/redis-schedules.test.ts',
  'test/transport/bullmq.test.ts',
  'test/dashboard/served.test.ts',
  'test/dashboard/mounted.test.ts',
]

const common = {
  // The test bundle (test/workers/): file-io.test.ts spawns one of its scripts.
  globalSetup: ['./test/workers/bundle.setup.ts'],
  testTimeout: 20_000,
  env: { CELERIAC_COMBOS: 'memory × inline', CELERIAC_BULLMQ_BACKENDS: 'celeriac-memory' },
}

export default defineConfig({
  test: {
    // Two test files at a time, whatever the core count: most files wait on I/O (Redis, child
    // processes, Chromium), and vitest's default on 2 cores (cores - 1) ran them one by one.
    // Measured on this 2-core machine: npm test 930 s -> 622 s, test:quick 102 s -> 71 s.
    maxWorkers: 2,
    projects: [
      // One module graph per vitest worker, but for the files that need their own (test/isolation.ts).
      { test: { ...common, name: 'quick', include: ['test/**/*.test.ts'], exclude: [...SLOW, ...ISOLATED], isolate: false } },
      { test: { ...common, name: 'quick-isolated', include: [...ISOLATED], exclude: SLOW } },
    ],
  },
})
