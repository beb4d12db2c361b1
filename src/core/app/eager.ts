/** `task.apply()`: a run here and now through the tracer, retries on the clock; nothing is stored. */
import { LazyAbort } from '../executor/lazy-abort.js'
import { plainMessage } from '../model/message.js'
import type { TaskMessage } from '../model/message.js'
import { DEFAULT_QUEUE } from '../model/options.js'
import type { SendOptions } from '../model/options.js'
import type { Outcome } from '../model/protocol.js'
import { FAILURE, SUCCESS } from '../model/states.js'
import { encodeArgs } from '../canvas/options-json.js'
import { checkSendOptions } from '../model/validate.js'
import { EagerResult } from '../result/result.js'
import { decode, decodeError } from '../serializer/decode.js'
import { encode } from '../serializer/encode.js'
import type { Task } from '../task/task.js'
import type { RunContext } from '../task/task.js'
import { retryDue, trace } from '../task/tracer.js'
import type { Clock } from '../time/clock.js'

type AnyTask = Task<never, unknown>

/** What an eager run needs of its app. */
export interface EagerEnv {
  /** A fresh task id, for a run given no `taskId`. */
  newId(): string
  readonly hostname: string
  readonly clock: Clock
  readonly random: () => number
  /** What `self` asks of the app (made for each attempt). */
  context(): RunContext
}

/** Runs `task` now, again after each retry (on the clock), and gives its result. */
export async function applyEager(task: AnyTask, given: readonly unknown[] | undefined, options: SendOptions, env: EagerEnv): Promise<EagerResult<unknown>> {
  // Checked before any option is read: `apply(args, null)` rejects with a ConfigError, not a TypeError.
  checkSendOptions(options, task.name)
  // No args at all is Celery's `apply()` (args=None), as for applyAsync; encodeArgs refuses any other non-array.
  const args = given === undefined ? [] : given
  const id = options.taskId ?? env.newId()
  const { clock } = env
  let retries = 0
  for (;;) {
    const message = eagerMessage(id, task, encodeArgs(args), options, retries)
    let outcome: Outcome | undefined
    const context = env.context()
    await trace(
      { task, message, hostname: env.hostname, abort: new LazyAbort(), context: () => context, isEager: true },
      {
        outcome: (o) => {
          outcome = o
          return undefined
        },
        finished: () => undefined,
      },
    )
    const done = outcome!
    if (done.type === 'success') return new EagerResult(id, SUCCESS, decode(done.value))
    if (done.type === 'retry') {
      const due = retryDue(done, clock.now(), env.random)
      await new Promise<void>((resolve) => clock.setTimer(due, resolve))
      retries++
      continue
    }
    if (done.type === 'failure' || done.type === 'reject') return new EagerResult(id, FAILURE, decodeError(done.error))
    return new EagerResult(id, 'IGNORED', null)
  }
}

function eagerMessage(id: string, task: AnyTask, args: TaskMessage['args'], options: SendOptions, retries: number): TaskMessage {
  const message = plainMessage(id, task.name, args, options.queue ?? task.queue ?? DEFAULT_QUEUE)
  message.headers = options.headers === undefined ? null : encode(options.headers, 'headers')
  message.priority = options.priority ?? task.priority ?? 0
  message.retries = retries
  return message
}
