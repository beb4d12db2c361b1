/**
 * Sending and queueing: a signature becomes messages (canvas/expand.ts, through the config),
 * they are stored with the other writes of the tick, then scheduled, with a `task-sent` event.
 */
import type { HandleJSON, MessageContext } from '../model/context.js'
import type { Expansion } from '../model/context.js'
import type { SignatureJSON, TaskMessage } from '../model/message.js'
import { NONE, ROOT_CONTEXT } from '../model/context.js'
import { NotRegistered } from '../model/errors.js'
import { unknownTaskIn, unknownTaskInLinks } from '../canvas/task-names.js'
import type { UnknownTask } from '../canvas/task-names.js'
import { decode } from '../serializer/decode.js'
import type { AsyncResult } from '../result/result.js'
import type { Mutation } from '../../storage/types.js'
import type { CommitQueue } from './commit-queue.js'
import type { Results } from './results.js'
import { RESOLVED } from './state.js'
import type { EngineState } from './state.js'

/** Why a message ends without running. */
export type UnrunReason = 'revoked' | 'expired'
/** Ends messages that will not run (the gates' `finishUnrun`): REVOKED, counted for their chord. */
export type Unrun = (items: Array<[TaskMessage, UnrunReason]>) => void

export class Queue {
  readonly #state: EngineState
  readonly #commits: CommitQueue
  readonly #results: Results
  readonly #unrun: Unrun

  constructor(state: EngineState, commits: CommitQueue, results: Results, unrun: Unrun) {
    this.#state = state
    this.#commits = commits
    this.#results = results
    this.#unrun = unrun
  }

  /**
   * Sends a signature (JSON form) as a new root or as a child of `context`; resolves with
   * `wrap(handle)` once its messages are stored. `extra` writes go in the same storage call as
   * the messages (a schedule's progress with its slot's message), unless the dedupe id exists.
   */
  send<T>(
    json: SignatureJSON,
    context: MessageContext,
    dedupeId: string | undefined,
    wrap: (handle: HandleJSON) => T,
    extra: readonly Mutation[] = NONE,
  ): Promise<T> {
    // A consuming app refuses names none of its workers define, unless other workers (Python
    // Celery's) share the broker.
    const unknown = this.#state.consuming && this.#state.config.foreignWorkers !== true ? unknownTaskIn(json, this.#known) : undefined
    if (unknown !== undefined) return Promise.reject(notRegistered(unknown))
    if (dedupeId !== undefined) {
      return this.#exists(dedupeId).then((exists) => (exists ? wrap(this.#existing(json, dedupeId)) : this.#sendNew(json, context, wrap, extra)))
    }
    return this.#sendNew(json, context, wrap, extra)
  }

  // Promise chains, not async functions, on the send path: each async layer costs a promise per task.
  #sendNew<T>(json: SignatureJSON, context: MessageContext, wrap: (handle: HandleJSON) => T, extra: readonly Mutation[]): Promise<T> {
    let expansion: Expansion
    try {
      expansion = this.#state.config.expand(json, context)
    } catch (error) {
      return Promise.reject(error)
    }
    const mutations = extra.length === 0 ? expansion.mutations : [...expansion.mutations, ...extra]
    const stored = this.enqueue(expansion.messages, mutations, context === ROOT_CONTEXT)
    // Queued already (volatile storage): one promise for the send, nothing waiting on another.
    if (stored === RESOLVED) return Promise.resolve(wrap(expansion.handle))
    return stored.then(() => wrap(expansion.handle))
  }

  /** The handle a send of an id that exists gets: a task's knows whether it stores a result. */
  #existing(json: SignatureJSON, id: string): HandleJSON {
    if (json.kind !== 'task') return { kind: 'result', id, parent: null }
    const ignored = json.options.ignoreResult ?? this.#state.config.profile(json.task)?.ignoreResult ?? false
    return { kind: 'result', id, parent: null, ignored }
  }

  /**
   * Sends one task message as a new root (the common `delay()`, with no canvas to expand and no
   * taskId to dedupe); resolves with its handle once it is stored.
   */
  sendMessage(message: TaskMessage): Promise<AsyncResult<unknown>> {
    if ((message.links.length > 0 || message.linkErrors.length > 0) && this.#state.consuming) {
      const unknown = unknownTaskInLinks(message.links, this.#known, 'link') ?? unknownTaskInLinks(message.linkErrors, this.#known, 'errback')
      if (unknown !== undefined) return Promise.reject(notRegistered(unknown))
    }
    const stored = this.#enqueueOne(message)
    const handle = this.#results.handle<unknown>(message.id, message.ignoreResult)
    return stored === RESOLVED ? Promise.resolve(handle) : stored.then(() => handle)
  }

  /**
   * Stores messages (and extra writes) in one call, then schedules them. Returns `RESOLVED`
   * itself when nothing had to be written (they are scheduled already). `root`: sent from
   * outside any task (see TransportStorage.direct).
   */
  enqueue(messages: readonly TaskMessage[], extra: readonly Mutation[] = NONE, root = false): Promise<void> {
    const state = this.#state
    if (!state.storesMessages()) {
      for (const message of messages) message.seq = ++state.seq
      if (extra.length === 0) {
        this.schedule(messages)
        return RESOLVED
      }
    }
    const mutations: Mutation[] = extra.length === 0 ? [] : [...extra]
    state.putFollowUps(mutations, messages)
    if (root && state.transport !== undefined) state.transport.direct(mutations, extra.length)
    // With the other sends (and commits) of this tick: one storage call, one promise for all.
    this.#commits.commitThen(mutations, this.#scheduleSent, messages)
    return this.#commits.written()
  }

  /** {@link enqueue} of one root message, with no array for it where nothing is written (every plain `delay()`). */
  #enqueueOne(message: TaskMessage): Promise<void> {
    const state = this.#state
    if (state.storesMessages()) return this.enqueue([message], NONE, true)
    message.seq = ++state.seq
    this.#scheduleOne(message, state.events.listenerCount('task-sent') > 0)
    state.schedulePump()
    return RESOLVED
  }

  /**
   * Whether a consuming engine can run a task: registered on the app or reported by its workers.
   * A producer cannot know (the consumer's workers may define it): there the run is a FAILURE
   * with NotRegistered, as Celery's worker stores for an unknown task (`on_unknown_task`).
   */
  readonly #known = (name: string): boolean => this.#state.config.profile(name) !== undefined

  readonly #scheduleSent = (messages: readonly TaskMessage[]): void => this.schedule(messages)

  /**
   * Queues messages that are already stored. `sentEvents: false` for a retry or a requeue: the
   * same task goes on (its events read sent, received, started, retried, started, ...), it is not
   * sent anew.
   */
  schedule(messages: readonly TaskMessage[], sentEvents = true): void {
    const emit = sentEvents && this.#state.events.listenerCount('task-sent') > 0
    for (let i = 0; i < messages.length; i++) this.#scheduleOne(messages[i]!, emit)
    this.#state.schedulePump()
  }

  #scheduleOne(message: TaskMessage, emit: boolean): void {
    const state = this.#state
    if (state.transport === undefined) state.known.add(message.id)
    // A revoked id that comes with an eta (a countdown send, a retry) is discarded at once, as a
    // Celery worker does on receipt; one that is ready now is caught by the pump.
    if (state.consuming && message.eta !== null && state.isRevoked(message.id) && message.eta > state.clock.now()) this.#unrun([[message, 'revoked']])
    // On a transport the broker has it now: it comes back as a delivery, here or elsewhere.
    else if (state.transport !== undefined) {
      if (state.consuming) state.listen(message.queue)
    } else if (state.consuming) state.scheduler.add(message)
    if (emit) {
      state.events.emit('task-sent', {
        ...state.eventBase(message),
        args: decode<unknown[]>(message.args),
        eta: message.eta,
        expires: message.expires,
        priority: message.priority,
      })
    }
  }

  async #exists(id: string): Promise<boolean> {
    if (this.#state.known.has(id)) return true
    return (await this.#results.read(id)) !== undefined
  }
}

function notRegistered({ name, where }: UnknownTask): NotRegistered {
  const place = where === '' ? '' : ` (${where})`
  return new NotRegistered(
    `Task '${name}'${place} is not registered on this app or its workers; define it with app.task('${name}', fn) (or sharedTask) before sending`,
  )
}
