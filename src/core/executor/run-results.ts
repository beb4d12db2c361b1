/**
 * Result handles inside a running task: every read, wait, forget and revoke is a call to the
 * engine through the task's runtime (the same in a worker and inline). A wait (`get()`,
 * `progress()`) parks the task on the engine, as `self.sleep` does, so a virtual clock moves
 * while the task waits and the result it waits for can be produced.
 */
import type { ResultRecord } from '../model/message.js'
import type { RpcCall } from '../model/protocol.js'
import { AsyncResult } from '../result/result.js'
import type { ResultSource } from '../result/result.js'

/** A call to the engine; with `signal`, aborting it ends the call's wait there (and resolves it with null). */
type Rpc = (call: RpcCall, signal?: AbortSignal) => Promise<unknown>

export class RunResults implements ResultSource {
  readonly #rpc: Rpc
  readonly #checkAbort: () => void

  /** `checkAbort` throws the run's abort reason when it was aborted (a wait woken by it). */
  constructor(rpc: Rpc, checkAbort: () => void) {
    this.#rpc = rpc
    this.#checkAbort = checkAbort
  }

  async read(id: string): Promise<ResultRecord | undefined> {
    return ((await this.#rpc({ type: 'result.get', id })) as ResultRecord | null) ?? undefined
  }

  async wait(id: string, timeout: number | undefined): Promise<ResultRecord> {
    const record = (await this.#rpc({ type: 'result.wait', id, timeout: timeout ?? null })) as ResultRecord | null
    this.#checkAbort()
    return record!
  }

  /**
   * Follows the records of `id` with one call at a time, each for the next record that differs
   * from the last one seen: updates that come faster than the task reads them are coalesced.
   */
  watch(id: string, listener: (record: ResultRecord) => void): () => void {
    // Stopping ends the call in flight: a wait left behind would keep the task parked.
    const stop = new AbortController()
    const next = async (after: ResultRecord | undefined): Promise<void> => {
      const call: RpcCall = after === undefined ? { type: 'result.next', id } : { type: 'result.next', id, after }
      const record = (await this.#rpc(call, stop.signal)) as ResultRecord | null
      if (stop.signal.aborted || record === null) return
      listener(record)
      await next(record)
    }
    next(undefined).catch(() => undefined)
    return () => stop.abort()
  }

  async forget(ids: readonly string[]): Promise<void> {
    await this.#rpc({ type: 'result.forget', ids })
  }

  async revoke(ids: readonly string[], options: { terminate?: boolean }): Promise<void> {
    await this.#rpc({ type: 'revoke', ids, terminate: options.terminate ?? false })
  }

  handle<T>(id: string, ignored = false): AsyncResult<T> {
    return new AsyncResult<T>(id, this, undefined, ignored)
  }
}
