/**
 * A storage whose process can be made to die at a chosen write, for the crash tests of Node and
 * of the browser page. `dieAt(n)`: the n-th write (or transact) to be stored from then on is the
 * moment of death. That write is stored but its caller never hears of it, as when a process is
 * killed (or a tab closed) after its write was committed and before the engine could act on it;
 * calls already made go on to storage (they were on their way) but settle for no one; later calls
 * never reach storage. It also keeps, from the calls it passed on, which messages storage holds
 * leased: a lease must cover only runs that began.
 */
import type { Mutation, Namespace, Storage, StorageKey, StoredValue, TransactStep } from '../../src/storage/types.js'

export interface DyingStorage extends Storage {
  /** Dies when the n-th write or transact made from now on is stored (1 = the next one). */
  dieAt(n: number): void
  readonly dead: boolean
  /** Resolves when it died. */
  readonly died: Promise<void>
  /** Ids of the messages storage holds leased, after every call passed on to it. */
  leased(): string[]
  /** Whether calls passed on to storage have yet to settle there. */
  busy(): boolean
  /** Resolves once every call passed on to storage has settled there: all the dead process wrote is stored. */
  settled(): Promise<void>
  /** Lives again (teardown): the held calls reach storage and settle, and later ones pass. */
  revive(): void
}

export function dying(inner: Storage): DyingStorage {
  let countdown = Number.POSITIVE_INFINITY
  let dead = false
  let onDeath!: () => void
  const died = new Promise<void>((resolve) => (onDeath = resolve))
  const leased = new Set<string>()
  const onTheirWay = new Set<Promise<unknown>>()
  /** What waits for revive(): calls that settle for no one, or never reached storage. */
  let held: Array<() => void> = []

  const note = (mutations: readonly Mutation[]): void => {
    for (const m of mutations) {
      if (m.ns !== 'messages') continue
      if (m.op === 'put' && (m.value as { leased?: boolean }).leased === true) leased.add(m.key)
      else leased.delete(m.key)
    }
  }

  /** A storage call: passed on while alive; the caller hears of it unless it died meanwhile. */
  function call<T>(make: () => Promise<T>, mutates: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const issue = (): void => {
        const result = make()
        onTheirWay.add(result)
        result.then(
          (value) => {
            onTheirWay.delete(result)
            if (!dead && mutates && --countdown === 0) {
              dead = true
              onDeath()
            }
            if (dead) held.push(() => resolve(value))
            else resolve(value)
          },
          (error: unknown) => {
            onTheirWay.delete(result)
            if (dead) held.push(() => reject(error))
            else reject(error)
          },
        )
      }
      if (dead) held.push(issue)
      else issue()
    })
  }

  return {
    name: `dying ${inner.name}`,
    capabilities: inner.capabilities,
    open: () => inner.open(),
    close: () => inner.close(),
    get: (ns: Namespace, key: string) => call(() => inner.get(ns, key), false),
    entries: (ns: Namespace) => call(() => inner.entries(ns), false),
    write: (mutations: readonly Mutation[]) =>
      call(() => {
        note(mutations)
        return inner.write(mutations)
      }, true),
    transact: <R>(keys: readonly StorageKey[], step: (values: Array<StoredValue | undefined>) => TransactStep<R>) =>
      call(
        () =>
          inner.transact(keys, (values) => {
            const out = step(values)
            note(out.mutations)
            return out
          }),
        true,
      ),
    ...(inner.watch === undefined ? {} : { watch: inner.watch.bind(inner) }),
    dieAt(n) {
      countdown = n
    },
    get dead() {
      return dead
    },
    died,
    leased: () => [...leased],
    busy: () => onTheirWay.size > 0,
    settled: async () => {
      await Promise.allSettled([...onTheirWay])
    },
    revive() {
      dead = false
      countdown = Number.POSITIVE_INFINITY
      const waiting = held
      held = []
      for (const go of waiting) go()
    },
  }
}
