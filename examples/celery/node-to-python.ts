/**
 * Node → Python: sends tasks to a Python Celery worker running tasks.py and prints their results.
 * Start the worker first (from this folder), then run this from the repository's root:
 *
 *   /usr/bin/python3 -m celery -A tasks worker -Q celery -l INFO
 *   npx tsx examples/celery/node-to-python.ts
 *
 * CELERY_URL names the Redis the Python side uses (db 15 by default).
 */
import { celeryTransport, kwargs } from '../../src/celery/index.js'
import { Celeriac, TaskError, chain, chord, signature } from '../../src/index.js'

const url = process.env.CELERY_URL ?? 'redis://127.0.0.1:6379/15'

const app = new Celeriac({
  transport: celeryTransport({ url }),
  // This process only sends: it runs no tasks.
  consume: false,
  // Celery's workers take from the queue 'celery' by default. Priority 9 (celeriac: highest) is
  // Celery's 0 on Redis, the same as what Python callers send by default.
  routes: { 'tasks.*': { queue: 'celery', priority: 9 } },
})
await app.start()
const wait = { timeout: 10_000 }

const sum = await app.sendTask<number>('tasks.add', [2, 3])
console.log('tasks.add(2, 3) =', await sum.get(wait))

// kwargs() as the last argument travels as the message's kwargs: greet('Ada', greeting='Hi').
const greeting = await app.sendTask<string>('tasks.greet', ['Ada', kwargs({ greeting: 'Hi' })])
console.log('tasks.greet =', await greeting.get(wait))

// A chain: each step gets the previous result first, (2 + 2) * 10.
const add = (...args: unknown[]) => signature<number>('tasks.add', { args })
const mul = (...args: unknown[]) => signature<number>('tasks.mul', { args })
const product = await app.send(chain(add(2, 2), mul(10)))
console.log('chain(add(2, 2), mul(10)) =', await product.get(wait))

// A chord: the Python workers count the header with Celery's own keys and send the body.
const total = await app.send(
  chord(
    [1, 2, 3, 4].map((i) => mul(i, i)),
    signature<number>('tasks.xsum'),
  ),
)
console.log('chord(squares of 1..4, xsum) =', await total.get(wait))

// A Python exception rejects with a TaskError that keeps its class name.
const broken = await app.sendTask('tasks.divide', [1, 0])
try {
  await broken.get(wait)
} catch (error) {
  if (!(error instanceof TaskError)) throw error
  console.log(`tasks.divide(1, 0) raised ${error.originalName ?? error.name}: ${error.message}`)
}

await app.stop()
