/**
 * The app the dashboard tests drive, on memory or file storage, with tasks that wait on gates
 * the test opens (no sleeps): `dash.step` reports progress 1/2, then waits for its gate.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Celeriac, fileStorage, memoryStorage, serve } from '../../src/node.js'
import type { ServeHandle, Task } from '../../src/node.js'

export const TOKEN = 'dashboard-test-token-0123456789'
export type StorageKind = 'memory' | 'file'

/** Promises a test resolves by name. */
class Gates {
  readonly #open = new Map<string, () => void>()
  readonly #waits = new Map<string, Promise<void>>()

  wait(name: string): Promise<void> {
    let wait = this.#waits.get(name)
    if (wait === undefined) {
      wait = new Promise<void>((resolve) => this.#open.set(name, resolve))
      this.#waits.set(name, wait)
    }
    return wait
  }

  open(name: string): void {
    void this.wait(name)
    this.#open.get(name)?.()
  }
}

export async function dashboardApp(kind: StorageKind) {
  const dir = kind === 'file' ? mkdtempSync(join(tmpdir(), 'celeriac-dash-')) : undefined
  const app = new Celeriac({
    name: `dash-${kind}`,
    storage: dir === undefined ? memoryStorage() : fileStorage({ dir, durability: 'write' }),
    queues: { default: { concurrency: 4 }, slow: { concurrency: 1 } },
  })
  const gates = new Gates()
  const tasks = {
    step: app.task('dash.step', { bind: true }, async (self: Task, gate: string) => {
      self.progress(1, 2)
      await gates.wait(gate)
      return 1
    }),
    sum: app.task('dash.sum', (parts: number[]) => parts.reduce((a, b) => a + b, 0)),
    add: app.task('dash.add', (a: number, b: number) => a + b),
    fail: app.task('dash.fail', () => {
      throw new RangeError('out of range on purpose')
    }),
  }
  await app.start()
  const endpoint: ServeHandle = await serve(app, { token: TOKEN })
  return {
    app,
    tasks,
    gates,
    endpoint,
    async stop() {
      for (const name of ['a', 'b', 'c']) gates.open(name)
      await endpoint.close()
      await app.stop({ timeout: 2_000 })
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    },
  }
}
