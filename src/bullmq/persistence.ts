import type { Store } from './store.js'

/** Placeholder replaced below. */
export class Persistence {
  constructor(readonly store: Store) {}
  async load(): Promise<void> {
    await this.store.storage.open()
  }
  async flush(): Promise<void> {}
}
