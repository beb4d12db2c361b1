/**
 * How `app.schedules` reaches the running engine: its storage calls, in order with the engine's
 * writes and counted as engine work (the virtual clock waits for them), and the sends of slots.
 */
import { freeze, rootMessage } from '../canvas/expand.js'
import type { ExpandEnv } from '../canvas/expand.js'
import { unknownTaskIn } from '../canvas/task-names.js'
import type { Engine } from '../engine/engine.js'
import type { TransportSchedules } from '../engine/transport.js'
import { TransportStorage } from '../engine/transport-storage.js'
import { ROOT_CONTEXT } from '../model/context.js'
import { ConfigError, NotRegistered } from '../model/errors.js'
import type { FiringHost } from '../schedule/firing.js'
import type { ScheduleStore } from '../schedule/schedules.js'
import type { ResolvedConfig } from './config.js'

/** What the schedules read and write through `engine`. */
export function scheduleStore(engine: Engine, config: ResolvedConfig, env: ExpandEnv, newId: () => string, known: (name: string) => boolean): ScheduleStore {
  const transport = config.storage instanceof TransportStorage ? config.storage.transport : undefined
  const broker = transport?.schedules
  return {
    clock: config.clock,
    newId,
    entries: () => engine.hold(config.storage.entries('meta')),
    transact: (keys, step) => engine.transact(keys, step),
    broker: broker === undefined ? undefined : heldBy(engine, broker),
    // With no clock reading, a relative `expires` stays a duration: the broker counts it from each slot.
    templateOf: (json, taskId) => rootMessage(json.task, json.args, { ...json.options, taskId }, { ...env, now: () => 0 }),
    check(json) {
      if (transport !== undefined && broker === undefined) {
        throw new ConfigError(
          transport.noSchedules ??
            `Periodic tasks do not run on the '${transport.name}' transport (it has no schedules of its own, and each process would fire them); schedule them from an app with a storage`,
        )
      }
      if (config.consume !== true || config.foreignWorkers) return
      const unknown = unknownTaskIn(json, known)
      if (unknown !== undefined) {
        throw new NotRegistered(
          `Task '${unknown.name}' of the schedule is not registered on this app or its workers; define it with app.task('${unknown.name}', fn)`,
        )
      }
    },
  }
}

/** The broker's schedule calls, counted as engine work (the virtual clock waits for them). */
function heldBy(engine: Engine, broker: TransportSchedules): TransportSchedules {
  return {
    upsert: (schedule) => engine.hold(broker.upsert(schedule)),
    remove: (id) => engine.hold(broker.remove(id)),
    list: () => engine.hold(broker.list()),
  }
}

/** What the firing of schedules needs: the engine's storage and clock, and its sends. */
export function firingHost(engine: Engine, config: ResolvedConfig, env: ExpandEnv, log: FiringHost['log']): FiringHost {
  const storage = config.storage
  return {
    clock: config.clock,
    entries: () => engine.hold(storage.entries('meta')),
    get: (key) => engine.hold(storage.get('meta', key)),
    send(json, taskId, mutations) {
      try {
        const frozen = freeze({ ...json, options: { ...json.options, taskId } }, env)
        return engine.send(frozen, ROOT_CONTEXT, undefined, engine.wrapHandle, mutations)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    write: (mutations) => engine.write(mutations),
    log,
    watch: storage.watch === undefined ? undefined : (listener) => storage.watch!(listener),
  }
}
