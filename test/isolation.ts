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
 */
export const ISOLATED: readonly string[] = [
  'test/core/expansion-errors.test.ts',
  'test/core/serializer.test.ts',
  'test/core/sole-run.test.ts',
  'test/remote/remote.test.ts',
  'test/storage/file-io.test.ts',
]
