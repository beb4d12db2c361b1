/**
 * Python → Node: a celeriac worker serving the queue 'node' to Python Celery callers (see
 * call_node.py). Run it from the repository's root, and stop it with Ctrl+C (a warm shutdown):
 *
 *   npx tsx examples/celery/node-worker.ts
 *
 * CELERY_URL names the Redis the Python side uses (db 15 by default).
 */
import { celeryTransport } from '../../src/celery/index.js'
import { Celeriac, shutdownOnSignals } from '../../src/node.js'

const url = process.env.CELERY_URL ?? 'redis://127.0.0.1:6379/15'

const app = new Celeriac({
  // `queues` on the transport: the queues taken from, as `celery worker -Q node`.
  transport: celeryTransport({ url, queues: ['node'] }),
  // The same queue in the app, with how many of its tasks run at once.
  queues: { node: { concurrency: 8 } },
})

app.task('node.add', (a: number, b: number) => a + b)
// A Python caller's kwargs arrive as a trailing object (none when it sent no kwargs).
app.task('node.greet', (name: string, kwargs?: { greeting?: string }) => `${kwargs?.greeting ?? 'Hello'}, ${name}!`)
app.task('node.parse', (text: string) => {
  const n = Number(text)
  // Python's AsyncResult.get() raises TypeError (builtins) for this.
  if (Number.isNaN(n)) throw new TypeError(`${JSON.stringify(text)} is not a number`)
  return n
})

await app.start()
shutdownOnSignals(app)
console.log(`celeriac worker ready: serving the queue 'node' on ${url} (Ctrl+C to stop)`)
