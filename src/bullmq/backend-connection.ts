import type { QueueBaseOptions, StreamReadRaw } from 'bullmq'
import { BackendContext } from './commands/context.js'
import * as eventsBlocking from './commands/events-blocking.js'
import * as lifecycle from './commands/lifecycle.js'
import type { Listener } from './commands/lifecycle.js'
import type { QueueState } from './queue-state.js'
import type { Store } from './store.js'

/** What BullMQ's factory passes besides the name and options. */
export interface FactoryExtras {
  blocking?: boolean
  withBlockingConnection?: boolean
}

/**
 * The part of `CeleriacQueueBackend` (./backend.ts) that stands for a Redis connection: ready, close and
 * disconnect, listeners, the client's name, the keys, the events stream and the blocking waits.
 * The subclasses add the job-state queries (./backend-queries.ts) and the commands that change
 * state (./backend.ts), all on the one `BackendContext`.
 */
export class BackendConnection {
  /** Shared with the subclasses: every member of the facade is a command on it. */
  protected readonly ctx: BackendContext
  readonly minimumBlockTimeout = 0.001

  /**
   * The longest a Worker blocks before it looks again (s). BullMQ caps it at 10 s for Redis'
   * reconnections; a wait here is re-aimed at every change of its queue, so on a virtual clock
   * (no connection, and hours of virtual time in a test) a day spares a Worker's loop every 10 s.
   */
  get maximumBlockTimeout(): number {
    return this.store.virtual ? 86_400 : 10
  }

  constructor(
    readonly store: Store,
    readonly name: string,
    readonly prefix: string,
    readonly opts: QueueBaseOptions,
    extras: FactoryExtras = {},
    readonly owns = true,
  ) {
    this.ctx = new BackendContext(store, name, prefix, opts, owns)
    if (extras.withBlockingConnection) lifecycle.registerBlockingClient(this.ctx)
  }

  get state(): QueueState {
    return this.ctx.q
  }

  get closing(): Promise<void> | undefined {
    return this.ctx.closing
  }

  waitUntilReady(): Promise<void> {
    return this.ctx.waitUntilReady()
  }

  get qualifiedName(): string {
    return this.ctx.qualifiedName
  }

  toKey(type: string): string {
    return this.ctx.toKey(type)
  }

  close(): Promise<void> {
    return lifecycle.close(this.ctx)
  }

  disconnect(): Promise<void> {
    return lifecycle.disconnect(this.ctx)
  }

  setName(name: string): Promise<void> {
    return lifecycle.setName(this.ctx, name)
  }

  on(event: 'ready' | 'error' | 'close', listener: Listener): this {
    lifecycle.on(this.ctx, event, listener)
    return this
  }

  once(event: 'ready' | 'error' | 'close', listener: Listener): this {
    lifecycle.once(this.ctx, event, listener)
    return this
  }

  removeListener(event: string, listener: Listener): this {
    lifecycle.removeListener(this.ctx, event, listener)
    return this
  }

  get keys(): Record<string, string> {
    return lifecycle.keys(this.ctx)
  }

  parseNodeKey(key: string): { prefix: string; queueName: string; id: string } {
    return lifecycle.parseNodeKey(key)
  }

  clientName(suffix?: string): string {
    return lifecycle.clientName(this.ctx, suffix)
  }

  trimEvents(maxLength: number): Promise<number> {
    return eventsBlocking.trimEvents(this.ctx, maxLength)
  }

  publishEvent(fields: Record<string, string | number>, maxEvents: number): Promise<string> {
    return eventsBlocking.publishEvent(this.ctx, fields, maxEvents)
  }

  readEvents(id: string, blockTimeout: number): Promise<StreamReadRaw> {
    return eventsBlocking.readEvents(this.ctx, id, blockTimeout)
  }

  waitForJob(blockTimeout: number): Promise<{ member: string; score: number } | null> {
    return eventsBlocking.waitForJob(this.ctx, blockTimeout)
  }

  disconnectBlocking(): Promise<void> {
    return eventsBlocking.disconnectBlocking(this.ctx)
  }

  reconnectBlocking(): Promise<void> {
    return eventsBlocking.reconnectBlocking(this.ctx)
  }
}
