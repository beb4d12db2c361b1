/**
 * The example's tests on celeriac: `npx vitest run --config examples/bullmq/vitest.config.ts`.
 * Without `setupFiles` (BULLMQ_ON_REDIS=1) the same tests run on the Redis at 127.0.0.1:6379.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const onRedis = process.env.BULLMQ_ON_REDIS === '1'

export default defineConfig({
  test: {
    name: onRedis ? 'example-bullmq-redis' : 'example-bullmq',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.test.ts'],
    setupFiles: onRedis ? [] : ['./vitest.setup.ts'],
    // On Redis a test that passes hours waits for the Worker's 10 s blocking reads.
    testTimeout: onRedis ? 120_000 : 20_000,
  },
})
