/**
 * `celeriac/celery`: Celery's own wire. `celeryTransport({ url })` sends celeriac's messages as
 * Celery protocol v2 messages (JSON only) to the Redis queues Python Celery workers consume, and
 * reads and writes results where Celery's Redis result backend keeps them; with `queues`, it also
 * serves tasks that Python callers send to those queues. Needs `ioredis`.
 */
import type { Transport } from '../core/engine/transport.js'
import { KWARGS_KEY } from './envelope.js'
import { type CeleryTransportOptions, resolveCeleryOptions } from './options.js'
import { CeleryTransport } from './transport.js'

export type { CeleryTransportOptions } from './options.js'

/**
 * A celeriac Transport on Celery's Redis broker and result backend: `app.sendTask(name, args)`
 * sends a task by name to the Python Celery workers of the same Redis (Celery 5.2 and later), and
 * its `AsyncResult` reads what they store. Priority keeps celeriac's meaning (0–9, higher first):
 * it is sent as Celery's `9 - priority`, since kombu's Redis queues take 0 first.
 *
 * With `queues`, the app also serves those queues as a Celery worker would (kombu's `unacked`
 * bookkeeping, acked once the result is stored, restore of what a dead consumer held): Python's
 * `send_task('node.add', args=[2, 3], queue='node').get()` returns what the celeriac task
 * returned, or raises an exception of the class it threw. A Python caller's kwargs reach the task
 * as a trailing plain object (none when empty). Without `queues` the app consumes nothing.
 * A consuming app also hears Celery's remote control: Python's `app.control.revoke(id)` stops a
 * task it holds (its `get()` raises `TaskRevokedError`), `terminate=True` a running one, and
 * `app.control.ping()` lists it, as node `celeriac@<host name>` (for `destination`).
 *
 * @example
 * import { Celeriac } from 'celeriac'
 * import { celeryTransport, kwargs } from 'celeriac/celery'
 *
 * const app = new Celeriac({ transport: celeryTransport({ url: 'redis://127.0.0.1:6379/0' }), consume: false })
 * await app.start()
 * const r = await app.sendTask<number>('tasks.add', [2, kwargs({ y: 3 })], { queue: 'celery', countdown: 1_000 })
 * await r.get({ timeout: 10_000 }) // 5, computed by a Python worker
 *
 * @example
 * // Serving Python callers on the queue 'node' (declare it in the app too, with its concurrency).
 * const worker = new Celeriac({ transport: celeryTransport({ url: 'redis://127.0.0.1:6379/0', queues: ['node'] }), queues: { node: {} } })
 * worker.task('node.add', (a: number, b: number) => a + b)
 * await worker.start()
 */
export function celeryTransport(options: CeleryTransportOptions): Transport {
  return new CeleryTransport(resolveCeleryOptions(options))
}

/**
 * Keyword arguments for a Python task, as returned by {@link kwargs}.
 *
 * @example
 * await app.sendTask('tasks.add', [2, kwargs({ y: 3 })], { queue: 'celery' }) // Python: add(2, y=3)
 */
export interface Kwargs<T extends Record<string, unknown> = Record<string, unknown>> {
  readonly __celery_kwargs__: T
}

/**
 * Keyword arguments for a Python task: pass the result as the last argument, and it travels as
 * the message's kwargs (Celery's `[args, kwargs, embed]` body) instead of as an argument.
 *
 * @example
 * await app.sendTask('tasks.greet', ['Ada', kwargs({ greeting: 'Hi' })]) // greet('Ada', greeting='Hi')
 */
export function kwargs<T extends Record<string, unknown>>(values: T): Kwargs<T> {
  return { [KWARGS_KEY]: values } as Kwargs<T>
}
