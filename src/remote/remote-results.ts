/**
 * Result handles of a remote: the core's own `AsyncResult` and `GroupResult` over this source,
 * whose reads, waits, watches, forgets and revokes are calls to the app through the channel. The
 * records arrive encoded, so `get()`, `info()` and `progress()` decode them here as anywhere.
 */
import type { ResultRecord } from '../core/model/message.js'
import { AsyncResult } from '../core/result/result.js'
import type { ResultSource } from '../core/result/result.js'
import type { Channel } from './channel.js'

export class RemoteResults implements ResultSource {
  readonly #channel: Channel

  constructor(channel: Channel) {
    this.#channel = channel
  }

  async read(id: string): Promise<ResultRecord | undefined> {
    return ((await this.#channel.call({ type: 'result.read', id })) as ResultRecord | null) ?? undefined
  }

  async wait(id: string, timeout: number | undefined): Promise<ResultRecord> {
    return (await this.#channel.call({ type: 'result.wait', id, timeout: timeout ?? null })) as ResultRecord
  }

  watch(id: string, listener: (record: ResultRecord) => void, failed?: (error: Error) => void): () => void {
    return this.#channel.watch(id, listener, failed)
  }

  async forget(ids: readonly string[]): Promise<void> {
    await this.#channel.call({ type: 'result.forget', ids: [...ids] })
  }

  async revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void> {
    await this.#channel.call({ type: 'result.revoke', ids: [...ids], terminate: options.terminate ?? false })
  }

  handle<T>(id: string, ignored = false): AsyncResult<T> {
    return new AsyncResult<T>(id, this, undefined, ignored)
  }
}
