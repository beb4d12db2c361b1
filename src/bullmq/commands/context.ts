import type { QueueBaseOptions, WorkerOptions } from 'bullmq'
import { EventEmitter } from 'eventemitter3'
import { BlockingWaits } from '../blocking.js'
import type { ClaimOptions } from '../claim.js'
import { nextTurn } from '../next-turn.js'
import type { QueueState } from '../queue-state.js'
import type { Store } from '../store.js'

/**
 * What every command of one backend instance shares: its store and queue, its options, its
 * emitter and blocking waits, whether it is closing, and the two ways a command runs on the
 * queue state (waiting for the disk, or not).
 */
export class BackendContext {
  readonly emitter = new EventEmitter()
  readonly waits = new BlockingWaits()
  readonly q: QueueState
  #ready: Promise<void> | undefined
  closing: Promise<void> | undefined

  constructor(
    readonly store: Store,
    readonly name: string,
    readonly prefix: string,
    readonly opts: QueueBaseOptions,
    /** False for a backend made by `forQueue`: closing it leaves the shared store alone. */
    readonly owns: boolean,
  ) {
    this.q = store.queue(prefix, name)
  }

  get qualifiedName(): string {
    return `${this.prefix}:${this.name}`
  }

  toKey(type: string): string {
    return `${this.qualifiedName}:${type}`
  }

  waitUntilReady(): Promise<void> {
    // Like a new connection, a new backend is ready on a later turn (BullMQ's classes start
    // their loops meanwhile).
    this.#ready ??= this.store
      .open()
      .then(nextTurn)
      .then(() => {
        this.emitter.emit('ready')
      })
    return this.#ready
  }

  /** Runs one operation on the store after it is open, then persists what it changed. */
  async run<T>(op: (q: QueueState) => T): Promise<T> {
    await this.waitUntilReady()
    const result = op(this.q)
    await this.store.flush()
    await nextTurn()
    return result
  }

  /**
   * The same for a claim or a lock renewal, answered without waiting for the disk: losing one
   * in a crash only means the job runs again (it is still waiting, or comes back as stalled),
   * and the storage keeps writes in call order, so what follows is written after it.
   */
  async runUnsynced<T>(op: (q: QueueState) => T): Promise<T> {
    await this.waitUntilReady()
    // On durable storage it sees only what is stored: a job whose add has not answered its
    // caller yet is not taken. (On memory every change is "stored" when made.)
    if (this.store.durable) await this.store.quiet()
    const result = op(this.q)
    this.store.flush().catch((error: unknown) => this.emitter.emit('error', error))
    await nextTurn()
    return result
  }

  /** The claim options of this backend's Worker (lock duration, name, limiter). */
  claimOptions(token: string, name?: string): ClaimOptions {
    const o = this.opts as WorkerOptions
    const claim: ClaimOptions = { token, lockDuration: o.lockDuration ?? 30_000 }
    const worker = name ?? o.name
    if (worker) claim.name = worker
    if (o.limiter) claim.limiter = { max: o.limiter.max, duration: o.limiter.duration }
    return claim
  }
}
