/**
 * Calls from a running task: `self.sleep` (parks the run on the clock), sends through `self`
 * (children of the run), and the rest (locks, results) answered by the app's handler; each gets
 * a reply to the runtime.
 */
import { ConfigError } from '../model/errors.js'
import { handleOf } from '../canvas/expand.js'
import { childContext, NONE } from '../model/context.js'
import type { HandleJSON } from '../model/context.js'
import type { RpcCall } from '../model/protocol.js'
import { encode, encodeError } from '../serializer/encode.js'
import type { TimerHandle } from '../time/clock.js'
import type { Queue } from './queue.js'
import type { EngineState } from './state.js'

export class TaskRpc {
  readonly #state: EngineState
  readonly #queue: Queue
  readonly #timers = new Set<TimerHandle>()

  constructor(state: EngineState, queue: Queue) {
    this.#state = state
    this.#queue = queue
  }

  onRpc(id: string, requestId: number, call: RpcCall): void {
    const state = this.#state
    const reply = (ok: boolean, value: unknown): void => {
      state.executor.post({ type: 'rpc-reply', id, requestId, ok, value: ok ? encode(value, 'reply') : encodeError(value) })
    }
    const run = state.running.get(id)
    switch (call.type) {
      case 'sleep': {
        if (run !== undefined && !run.settled) {
          run.parked++
          state.parked++
        }
        const wake = (): void => {
          state.clock.clearTimer(timer)
          this.#timers.delete(timer)
          run?.sleeps?.delete(wake)
          if (run !== undefined && state.running.get(id) === run) {
            run.parked--
            state.parked--
          }
          reply(true, null)
        }
        const timer = state.clock.setTimer(state.clock.now() + Math.max(0, call.ms), wake)
        this.#timers.add(timer)
        if (run !== undefined) (run.sleeps ??= new Set()).add(wake)
        state.checkWaiters()
        return
      }
      case 'send': {
        const parent = run?.message
        const json = call.signature
        const context = childContext(null, parent?.id ?? null, parent?.rootId ?? null, parent?.headers ?? null, [])
        const dedupe = typeof json.options.taskId === 'string' ? json.options.taskId : undefined
        // The children are the run's from the moment it sends (Celery's add_trail), so a send it
        // does not await is in the outcome it reports right after.
        const children = run === undefined ? NONE : handleIds(handleOf(json, null) as HandleJSON | null)
        if (run !== undefined) run.children = [...run.children, ...children]
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

  stop(): void {
    for (const timer of this.#timers) this.#state.clock.clearTimer(timer)
  }
}

const identity = <T>(value: T): T => value

function handleIds(handle: HandleJSON | null): string[] {
  if (handle === null) return []
  if (handle.kind === 'result') return [handle.id]
  return handle.results.flatMap(handleIds)
}
