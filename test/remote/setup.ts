/**
 * An app that owns the engine (memory storage, inline, a virtual clock) served over a Node
 * `MessageChannel`, and remotes on the other ends: what test/remote/*.test.ts share.
 */
import { MessageChannel } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { Celeriac } from '../../src/index.js'
import { remoteApp, serveApp } from '../../src/remote/index.js'
import type { RemoteApp, ServedApp } from '../../src/remote/index.js'
import { virtualClock } from '../../src/testing.js'

export class PaymentDeclined extends Error {
  static {
    PaymentDeclined.prototype.name = 'PaymentDeclined'
  }
}

function defineTasks(app: Celeriac) {
  const add = app.task('math.add', (a: number, b: number) => a + b)
  const sum = app.task('math.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0))
  const steps = app.task('work.steps', { bind: true }, async (self, n: number) => {
    for (let i = 1; i <= n; i++) {
      self.progress(i, n, { step: `step ${String(i)}` })
      await self.sleep(1_000)
    }
    return `${String(n)} steps`
  })
  const fail = app.task('work.fail', { maxRetries: 0 }, (kind: 'range' | 'declined' | 'plain') => {
    if (kind === 'range') throw new RangeError('out of range')
    if (kind === 'declined') throw new PaymentDeclined('card declined')
    throw new Error('plain failure')
  })
  return { add, sum, steps, fail }
}

export type Tasks = ReturnType<typeof defineTasks>

export interface Served {
  app: Celeriac
  clock: ReturnType<typeof virtualClock>
  tasks: Tasks
  /** A new remote on a new channel, served by the app. */
  connect(): { remote: RemoteApp; served: ServedApp; appPort: MessagePort; remotePort: MessagePort }
  close(): Promise<void>
}

export async function served(): Promise<Served> {
  const clock = virtualClock({ now: Date.UTC(2026, 0, 1) })
  const app = new Celeriac({ name: 'owner', clock })
  const tasks = defineTasks(app)
  await app.start()
  const ports: MessagePort[] = []
  return {
    app,
    clock,
    tasks,
    connect() {
      const { port1, port2 } = new MessageChannel()
      ports.push(port1, port2)
      const servedApp = serveApp(app, port1)
      return { remote: remoteApp(port2), served: servedApp, appPort: port1, remotePort: port2 }
    },
    async close() {
      for (const port of ports) port.close()
      await app.stop()
    },
  }
}
