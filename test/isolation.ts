/**
 * Which test files get a module graph of their own. Vitest's default (`isolate: true`) imports
 * every module afresh for each test file: on this 2-core machine that import was most of
 * `test:quick`'s time (280 s of module imports summed over 84 files under load, 17 s without).
 * So the node projects share one module graph per vitest worker (`isolate: false`), and the
 * files below, which need a fresh one, run in a project of their own with isolation on.
 *
 * A file belongs here when it depends on process-wide state another file can change:
 * - `vi.mock` of a module others have already imported (the mock must be in place first);
 * - the realm's registries (`src/core/task/registry.ts`, the error-class registry), when it
 *   asserts what is registered or not (e.g. "an unregistered class arrives as TaskError": another
 *   file may have registered a class of that name; "the registered tasks are ...");
 * - the task-context provider (`useAsyncContext`), which it replaces.
 *
 * And the tests on the local Redis (BullMQ's classes on real Redis, the Redis transports, Celery
 * interop, the conformance matrix's `redis × inline`): sharing a module graph made them miss
 * wake-ups now and then, a case then waiting out its timeout (`retries [redis × inline]`: 2
 * failures in 7 runs of that file alone, against none in 16 with isolation; cause not found).
 */
export const ISOLATED: readonly string[] = [
  'test/core/expansion-errors.test.ts',
  'test/core/serializer.test.ts',
  'test/core/sole-run.test.ts',
  'test/remote/remote.test.ts',
  'test/storage/file-io.test.ts',
  'test/storage/redis.test.ts',
  'test/bullmq/**/*.test.ts',
  'test/transport/**/*.test.ts',
  'test/celery/**/*.test.ts',
]

/**
 * The conformance matrix's runs: on Redis in a project with isolation, the rest sharing a module
 * graph. `chosen` is the run's `CELERIAC_COMBOS` (harness.ts's selectCombos: words a name holds,
 * `!word` leaves out); `redis` is undefined when the run chose no combination on Redis.
 */
export function conformanceCombos(chosen: string | undefined): { shared: string; redis: string | undefined } {
  const words = (chosen ?? '')
    .split(',')
    .map((word) => word.trim())
    .filter((word) => word.length > 0)
  const taken = words.filter((word) => !word.startsWith('!'))
  const left = words.filter((word) => word.startsWith('!')).map((word) => word.slice(1))
  // The one combination on Redis (setup.ts).
  const name = 'redis × inline'
  const redisChosen = (taken.length === 0 || taken.some((word) => name.includes(word))) && !left.some((word) => name.includes(word))
  return { shared: [...words, '!redis'].join(','), redis: redisChosen ? 'redis' : undefined }
}
