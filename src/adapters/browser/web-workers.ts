/// <reference lib="dom" />
/**
 * The Web Worker executor: tasks run in a pool of module workers, each of which loads your task
 * module (see {@link serveWorker}). Revoke with `terminate` and hard time limits end the worker
 * (a synchronous busy loop included) and start a replacement. The pool logic is shared with the
 * worker_threads executor (core/pool.ts); this is the browser shell around it.
 */
import { ConfigError } from '../../core/model/errors.js'
import type { Executor } from '../../core/executor/types.js'
import { poolExecutor } from '../../core/executor/pool.js'
import type { WorkerLoadOptions } from '../../core/executor/load-options.js'
import type { FromWorker } from '../../core/executor/wire.js'
import type { SpawnThrough } from '../../core/executor/pool-worker.js'

/**
 * Options of {@link webWorkers}; `loadTimeout` and `loadBackoff` say how failed loads are retried.
 *
 * @example
 * const executor = webWorkers({ create: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), size: 2 })
 */
export interface WebWorkersOptions extends WorkerLoadOptions {
  /**
   * The worker script: a module that calls `serveWorker(() => import('./tasks.js'))`. Give the
   * URL (`new URL('./worker.js', import.meta.url)`), or `create` for bundlers that need the
   * `new Worker(new URL(...))` expression written out (Vite).
   */
  url?: URL | string
  /** Makes one worker; overrides `url`. */
  create?: () => Worker
  /** Number of workers. @default navigator.hardwareConcurrency (at least 1) */
  size?: number
  /** Tasks one worker runs at once (async tasks can share a worker). @default 1 */
  tasksPerWorker?: number
  /**
   * Runs a worker holds per task slot (Celery's prefetch multiplier): large (64) for many short
   * tasks, 1 for long ones, as with `threads`. @default 4
   */
  prefetch?: number
}

/**
 * Runs tasks in Web Workers. A worker that fails is replaced; a replacement that fails to load is
 * retried with backoff (`loadBackoff`), and tasks that wait longer than `loadTimeout` for a worker
 * fail with `WorkerLoadError`. `start()` rejects with a `ConfigError` when no worker loads at all.
 *
 * @example
 * // worker.ts
 * import { serveWorker } from 'celeriac/browser'
 * serveWorker(() => import('./tasks.js'))
 *
 * // main.ts (Vite: pass create so that the bundler sees the worker)
 * const app = new Celeriac({
 *   storage: indexedDBStorage({ name: 'jobs' }),
 *   executor: webWorkers({ create: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }) }),
 * })
 */
export function webWorkers(options: WebWorkersOptions): Executor & { readonly workers: number; readonly replaced: number } {
  return webWorkersExecutor(options)
}

/** Executors given a `create`: each its own key for the workers it starts. */
let createdExecutors = 0

/**
 * {@link webWorkers}, its workers started through `through` (given the spawn and a key that is
 * the same for workers started alike): internal, for the test suite's kept workers.
 */
export function webWorkersExecutor(
  options: WebWorkersOptions,
  through: SpawnThrough = (spawn) => spawn,
): Executor & { readonly workers: number; readonly replaced: number } {
  if (options === null || typeof options !== 'object' || (options.url === undefined && options.create === undefined)) {
    throw new ConfigError("webWorkers({ url }) needs the worker script's URL, or create: () => new Worker(...)")
  }
  const tasksPerWorker = options.tasksPerWorker ?? 1
  const url = options.url === undefined ? undefined : new URL(String(options.url), globalThis.location?.href)
  const create =
    options.create ??
    (() =>
      new Worker(url!, {
        type: 'module',
        // The worker reads its settings from its name (a worker has no other way to be told before its first message).
        name: JSON.stringify({ celeriac: { concurrency: tasksPerWorker } }),
      }))
  const hardware = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency
  return poolExecutor({
    name: 'webWorkers()',
    size: options.size ?? Math.max(1, hardware ?? 1),
    tasksPerWorker,
    prefetch: options.prefetch ?? 4,
    loadTimeout: options.loadTimeout,
    loadBackoff: options.loadBackoff,
    moduleName: url?.href ?? 'the worker made by create()',
    otherWire:
      'build the worker script (its serveWorker) with the same celeriac as the page: one built apart with another celeriac version, or cached from an earlier deploy, speaks another protocol',
    // Workers from a create() of its own are alike only within this executor.
    spawn: through(
      (events) => {
        const worker = create()
        let gone = false
        let spoke = false
        const exit = (error: Error | undefined): void => {
          if (gone) return
          gone = true
          worker.terminate()
          events.exit(error)
        }
        worker.onmessage = (event: MessageEvent) => {
          spoke = true
          if (!gone) events.message(event.data as FromWorker)
        }
        // A Web Worker has no exit event: an uncaught error is the crash we can see; end it and replace it.
        worker.onerror = (event: Event) => {
          event.preventDefault()
          // A script that threw says what (an ErrorEvent with a message); one that did not load says nothing.
          const message = (event as Partial<ErrorEvent>).message
          if (message !== undefined && message !== '') exit(new Error(message))
          else if (spoke) exit(new Error('the worker failed'))
          else void whyNotLoaded(url).then((why) => exit(new ConfigError(why)))
        }
        worker.onmessageerror = () => exit(new Error('a message from the worker could not be read'))
        return {
          post: (batch) => worker.postMessage(batch),
          terminate: () => {
            gone = true
            worker.terminate()
            // terminate() is synchronous in a browser and fires nothing: report the exit ourselves.
            events.exit(undefined)
          },
        }
      },
      options.create === undefined ? JSON.stringify({ url: url?.href, tasksPerWorker }) : `create ${String(++createdExecutors)}`,
    ),
  })
}

/**
 * Says why a worker's script did not load, and what to do: a bundler that left
 * `new URL('./worker.js', import.meta.url)` as it was (esbuild), or did not emit the worker, leaves
 * nothing at that URL (or something that is not JavaScript: Vite inlines an unbuilt .ts file).
 */
async function whyNotLoaded(url: URL | undefined): Promise<string> {
  const fix =
    "pass webWorkers({ create: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }) }) so that the bundler (Vite, webpack) emits the worker, or build the worker as an entry of its own (esbuild) or copy it to the output, next to the page's script"
  if (url === undefined) {
    return `the worker made by create() did not load its script (not found, or not a JavaScript module): check that the bundler emitted the file given to new Worker(...). ${fix}`
  }
  const shown = url.href.length > 120 ? `${url.href.slice(0, 100)}…` : url.href
  let response: Response
  try {
    response = await fetch(url)
  } catch {
    return `the worker script ${shown} did not load (it could not be fetched): ${fix}`
  }
  const type = response.headers.get('content-type') ?? 'no content type'
  if (response.ok && /javascript|ecmascript/i.test(type)) {
    return `the worker script ${shown} is there, but it or a module it imports failed to load or parse (see the browser's console)`
  }
  const status = response.ok ? `it is served as ${type}, not JavaScript` : `HTTP ${response.status}`
  return `the worker script ${shown} did not load (${status}); a bundler left its URL unrewritten or did not emit it: ${fix}`
}
