/**
 * Calls from a running task: `self.sleep` and waits on results (each parks the run on the
 * engine, so virtual time can move), sends through `self` (children of the run), result reads,
 * forgets and revokes, and the rest (locks) answered by the app's handler; each gets a reply to
 * the runtime.
 */
import { ConfigError } from '../model/errors.js'
import { childContext, NONE } from '../model/context.js'
import type { HandleJSON } from '../model/context.js'
import type { ResultRecord } from '../model/message.js'
import type { GivenUpSender, RpcCall } from '../model/protocol.js'
import { encode, encodeError } from '../serializer/encode.js'
import { finalId, handleOf } from '../canvas/expand.js'
import type { Queue } from './queue.js'
import type { Results } from './results.js'
import type { Revocation } from './revocation.js'
import type { EngineState, Running } from './state.js'

export class TaskRpc {
  readonly #state: EngineState
  readonly #queue: Queue
  readonly #results: Results
  readonly #revocation: Revocation
  /** The waits in progress (sleeps, result waits) by task id and request id, with their stops. */
  readonly #waits = new Map<string, { end: (ok: boolean, value: unknown) => void; stop: () => void }>()

  constructor(state: EngineState, queue: Queue, results: Results, revocation: Revocation) {
    this.#state = state
    this.#queue = queue
    this.#results = results
    this.#revocation = revocation
  }

  /** Answers call `requestId` of the run of `id`, or, given `from`, of a body of that id given up on (no run's: see FromRuntime `rpc`). */
  onRpc(id: string, requestId: number, call: RpcCall, from?: GivenUpSender): void {
    const state = this.#state
    const reply = (ok: boolean, value: unknown): void => {
      state.executor.post({ type: 'rpc-reply', id, requestId, ok, value: ok ? encode(value, 'reply') : encodeError(value) })
    }
    const run = from === undefined ? state.running.get(id) : undefined
    switch (call.type) {
      case 'sleep': {
        const timer = state.clock.setTimer(state.clock.now() + Math.max(0, call.ms), () => end(true, null))
        const end = this.#park(id, requestId, run, () => state.clock.clearTimer(timer), reply)
        return
      }
      case 'result.wait': {
        const stop = this.#results.waitReady(call.id, call.timeout ?? undefined, (record, error) => end(error === undefined, error ?? record))
        const end = this.#park(id, requestId, run, stop, reply)
        return
      }
      case 'result.next': {
        const after = call.after
        const found = (record: ResultRecord): void => {
          if (after === undefined || !sameRecord(record, after)) end(true, record)
        }
        const unwatch = this.#results.watch(call.id, found)
        const end = this.#park(id, requestId, run, unwatch, reply)
        // Given the record it saw last, a record written since then is not missed.
        if (after !== undefined) state.hold(this.#results.read(call.id)).then((record) => record !== undefined && found(record), noop)
        return
      }
      case 'wait.cancel':
        this.#waits.get(waitKey(id, call.requestId))?.end(true, null)
        return reply(true, null)
      case 'result.get':
        return this.#answer(
          this.#results.read(call.id).then((record) => record ?? null),
          reply,
        )
      case 'result.forget':
        return this.#answer(this.#results.forget(call.ids), reply)
      case 'revoke':
        return this.#answer(this.#revocation.revoke(call.ids, { terminate: call.terminate }), reply)
      case 'send': {
        // From a body given up on: its own message is the parent, and no run here is its.
        const parent = from ?? run?.message
        const json = call.signature
        const context = childContext(null, parent?.id ?? null, parent?.rootId ?? null, parent?.headers ?? null, [])
        // The id a send dedupes on is its result's: a chord's is its body's.
        const given = json.kind === 'chord' ? finalId(json) : json.options.taskId
        const dedupe = typeof given === 'string' ? given : undefined
        // The children are the run's from the moment it sends (Celery's add_trail), so a send it
        // does not await is in the outcome it reports right after.
        // A send deduped on an id already among them (the same taskId twice) adds none.
        const children = run === undefined ? NONE : handleIds(handleOf(json, null) as HandleJSON | null).filter((c) => !run.children.includes(c))
        if (run !== undefined && children.length > 0) run.children = [...run.children, ...children]
        state.pendingOps++
        this.#queue.send(json, context, dedupe, identity).then(
          (handle) => {
            reply(true, handle)
            state.opDone()
          },
          (error: unknown) => {
            if (run !== undefined) run.children = run.children.filter((id) => !children.includes(id))
            reply(false, error)
            state.opDone()
          },
        )
        return
      }
      default: {
        const handler = state.config.rpc
        if (handler === undefined) return reply(false, new ConfigError(`Unsupported call '${call.type}' from a task`))
        state.pendingOps++
        // A call that waits on the clock (a lock held elsewhere) parks the task like self.sleep:
        // while it waits it is not engine work, so virtual time can move.
        const park = (waiting: boolean): void => {
          const counted = run !== undefined && state.running.get(id) === run
          if (waiting) {
            state.pendingOps--
            if (counted) {
              run.parked++
              state.parked++
            }
            state.checkWaiters()
          } else {
            state.pendingOps++
            if (counted) {
              run.parked--
              state.parked--
            }
          }
        }
        handler(call, id, park).then(
          (value) => {
            reply(true, value)
            state.opDone()
          },
          (error: unknown) => {
            reply(false, error)
            state.opDone()
          },
        )
      }
    }
  }

  /**
   * Parks `run` (the task of `id`) on the engine until the wait ends: it then counts as waiting,
   * not working, so a virtual clock may move. Returns the function that ends the wait with its
   * reply. An abort of the run (soft time limit, terminate) ends it at once with `null`; the
   * runtime then throws the abort's reason. `stop` undoes what the wait set up (its timer, its
   * watcher).
   */
  #park(
    id: string,
    requestId: number,
    run: Running | undefined,
    stop: () => void,
    reply: (ok: boolean, value: unknown) => void,
  ): (ok: boolean, value: unknown) => void {
    const state = this.#state
    const key = waitKey(id, requestId)
    // A run whose outcome is in but whose hooks still run (settled, not yet released) parks too:
    // a hook that sleeps waits on the clock as a body does.
    const counted = run !== undefined && state.running.get(id) === run
    if (counted) {
      run.parked++
      state.parked++
    }
    let ended = false
    const end = (ok: boolean, value: unknown): void => {
      if (ended) return
      ended = true
      stop()
      this.#waits.delete(key)
      run?.wakers?.delete(wake)
      if (counted && state.running.get(id) === run) {
        run.parked--
        state.parked--
      }
      reply(ok, value)
    }
    const wake = (): void => end(true, null)
    this.#waits.set(key, { end, stop })
    if (run !== undefined) (run.wakers ??= new Set()).add(wake)
    state.checkWaiters()
    return end
  }

  /** Replies with what `work` gives; it counts as engine work until then. */
  #answer(work: Promise<unknown>, reply: (ok: boolean, value: unknown) => void): void {
    this.#state.hold(work).then(
      (value) => reply(true, value ?? null),
      (error: unknown) => reply(false, error),
    )
  }

  stop(): void {
    for (const wait of this.#waits.values()) wait.stop()
    this.#waits.clear()
  }
}

const identity = <T>(value: T): T => value
const waitKey = (id: string, requestId: number): string => `${id} ${String(requestId)}`
const noop = (): void => {}

/** Whether two records of one id say the same (state, result or meta, when done). */
function sameRecord(a: ResultRecord, b: ResultRecord): boolean {
  return a.state === b.state && a.dateDone === b.dateDone && JSON.stringify(a.result) === JSON.stringify(b.result)
}

function handleIds(handle: HandleJSON | null): string[] {
  if (handle === null) return []
  if (handle.kind === 'result') return [handle.id]
  return handle.results.flatMap(handleIds)
}
