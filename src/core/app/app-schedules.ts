/**
 * The app's periodic tasks over its lifetime: `app.schedules`, and the firing of their slots while
 * the app consumes (started and stopped with consuming). How they reach the engine is
 * ./schedule-host.ts.
 */
import type { ExpandEnv } from '../canvas/expand.js'
import type { Engine } from '../engine/engine.js'
import { TransportStorage } from '../engine/transport-storage.js'
import { Firing } from '../schedule/firing.js'
import type { FiringHost } from '../schedule/firing.js'
import { Schedules } from '../schedule/schedules.js'
import type { ResolvedConfig } from './config.js'
import { firingHost, scheduleStore } from './schedule-host.js'

/** What the schedules need of their app. */
export interface ScheduleOwner {
  /** The running engine; throws a ConfigError that names `what` when there is none. */
  requireEngine(what: string): Engine
  /** The app's config as it is now. */
  config(): ResolvedConfig
  /** How the app's sends become messages (made at start). */
  env(): ExpandEnv
  newId(): string
  /** Whether a task of this name runs here (the app's, shared, or its workers'). */
  known(name: string): boolean
  log: FiringHost['log']
}

/** `app.schedules` and, while the app consumes, the firing of its slots. */
export class AppSchedules {
  readonly schedules: Schedules
  readonly #owner: ScheduleOwner
  #firing: Firing | undefined

  constructor(owner: ScheduleOwner) {
    this.#owner = owner
    this.schedules = new Schedules((what) =>
      scheduleStore(
        owner.requireEngine(what),
        owner.config(),
        owner.env(),
        () => owner.newId(),
        (name) => owner.known(name),
      ),
    )
  }

  /** The app consumes: it fires the schedules from now on. */
  async fire(engine: Engine): Promise<void> {
    const config = this.#owner.config()
    // A transport that keeps schedules fires them itself (BullMQ's job schedulers).
    if (config.storage instanceof TransportStorage && config.storage.transport.schedules !== undefined) return
    const firing = new Firing(firingHost(engine, config, this.#owner.env(), this.#owner.log))
    this.#firing = firing
    this.schedules.fireWith(firing)
    await firing.start()
  }

  stopFiring(): void {
    this.#firing?.stop()
    this.#firing = undefined
    this.schedules.fireWith(undefined)
  }
}
