/**
 * Keeps what a consumer holds fresh in kombu's `unacked_index`. kombu scores a tag once, when
 * it is taken, and every worker's restore puts back each tag older than its visibility timeout:
 * so a message held longer than that (an eta or countdown beyond it, or a long run) is put back
 * and runs twice, once here and once where it lands (Celery's known pitfall). Scoring what this
 * process holds again every third of the visibility timeout keeps it out of any restore, Python
 * workers' included, while this process lives; once it dies, its tags age and are restored as
 * kombu's are.
 */
import type { Redis } from 'ioredis'

/** At most kombu's restore tick: a Python worker with a shorter visibility timeout than ours still leaves them be, down to 10 s. */
const MAX_EVERY = 10_000

/**
 * Scores each of `held()` now in `unacked_index` (ZADD XX: a tag acked meanwhile is not added
 * back), every third of `visibilityTimeout` (ms), from now until the returned function is called.
 */
export function keepHeldFresh(held: () => Iterable<string>, client: () => Redis, index: string, visibilityTimeout: number): () => void {
  const refresh = (): void => {
    const tags = [...held()]
    if (tags.length === 0) return
    const now = Date.now() / 1000
    const scored: Array<number | string> = []
    for (const tag of tags) scored.push(now, tag)
    // A failed refresh is tried again at the next tick, well within the timeout.
    void client()
      .zadd(index, 'XX', ...scored)
      .catch(() => undefined)
  }
  const timer = setInterval(refresh, Math.min(MAX_EVERY, visibilityTimeout / 3))
  // Never what keeps a process alive.
  if (typeof timer === 'object' && 'unref' in timer) timer.unref()
  return () => clearInterval(timer)
}
