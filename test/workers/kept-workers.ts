/**
 * Workers that outlive their app, for the conformance matrix (Node's worker_threads and
 * Chromium's Web Workers). The matrix starts an app with two workers for each of its ~700
 * scenarios on threads (and ~300 on Web Workers), and a worker thread that loads the conformance
 * tasks costs ~180 ms of CPU to start on this 2-core machine (Node's own start, ~95 ms, and the
 * tasks' bundle). Here a worker that was idle when its app stopped is kept (unref'd) and given to
 * the next pool started alike in this test process (same script, module and concurrency), which
 * gets the hello the worker said when it loaded. The conformance tasks keep no state between runs
 * (harness.ts), so a kept worker is as good as a new one to a scenario.
 *
 * Only idle workers are kept (`PoolWorker.retire`, called at the pool's stop for a worker that
 * loaded, holds no run and is not being ended); a worker that died, was terminated (revoke with
 * terminate, a hard time limit) or still ran something at the stop ends as always. The tests
 * about starting, losing and replacing workers (test/adapters/, the browser tests) start theirs
 * with `threads()` and `webWorkers()` themselves. Environment-neutral.
 */
import type { PoolWorker, PoolWorkerEvents, Spawn } from '../../src/core/executor/pool-worker.js'
import type { FromWorker } from '../../src/core/executor/wire.js'

interface Kept {
  readonly worker: PoolWorker
  /** What it said when it loaded. */
  hello: FromWorker | undefined
  /** Where its messages go: the pool that has it, or nowhere while it is kept. */
  target: PoolWorkerEvents | undefined
}

/** Idle workers, by key. */
const idle = new Map<string, Kept[]>()

/** Starts workers through `spawn`, or takes a kept one started with the same `key`. */
export function keptWorkers(spawn: Spawn, key: string): Spawn {
  return (events) => {
    const reused = idle.get(key)?.pop()
    if (reused !== undefined) {
      reused.target = events
      // As a new worker would: its hello comes after spawn() returned.
      queueMicrotask(() => reused.target?.message(reused.hello!))
      return handle(reused, key)
    }
    // Set before the worker can say anything: its messages and its end come in later turns.
    let kept!: Kept
    const worker = spawn({
      message(message) {
        if (kept.hello === undefined && !Array.isArray(message)) kept.hello = message
        kept.target?.message(message)
      },
      exit(error) {
        // A kept worker that ends is no longer kept.
        const list = idle.get(key)
        if (list?.includes(kept))
          idle.set(
            key,
            list.filter((k) => k !== kept),
          )
        kept.target?.exit(error)
      },
    })
    kept = { worker, hello: undefined, target: events }
    return handle(kept, key)
  }
}

function handle(kept: Kept, key: string): PoolWorker {
  return {
    post: (batch) => kept.worker.post(batch),
    terminate: () => kept.worker.terminate(),
    hold: (held) => kept.worker.hold?.(held),
    retire() {
      kept.target = undefined
      kept.worker.hold?.(false)
      idle.set(key, [...(idle.get(key) ?? []), kept])
    },
  }
}
