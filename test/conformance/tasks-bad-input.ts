/**
 * Bad input given from inside a running task: each case is a call a task makes through `self`
 * with something wrong in it. `bad.inTask` runs one case by name and reports how it was refused
 * (loaded in every worker too, so the cases are named, not passed as closures).
 */
import { chain, signature } from '../../src/index.js'
import type { Celeriac, Task } from '../../src/index.js'

type AnyTask = Task<unknown[], unknown>

/** How a call made in a task was refused: `sync` is whether it threw rather than rejected. */
export interface InTaskRefusal {
  refused: boolean
  sync: boolean
  name: string
  code: string
  message: string
}

/** The calls, by case name. Sends must reject (they are async); progress, updateState and retry throw. */
export const IN_TASK_CASES = {
  'self.delay with a function argument': (self) => self.delay(() => 1),
  'self.applyAsync with args as a string': (self) => self.applyAsync('1,2' as never),
  'self.applyAsync with priority 10': (self) => self.applyAsync(['x'], { priority: 10 }),
  'self.applyAsync with kwargs': (self) => self.applyAsync(['x'], { kwargs: { a: 1 } } as never),
  'self.applyAsync with an empty taskId': (self) => self.applyAsync(['x'], { taskId: '' }),
  'self.send of a string': (self) => self.send('core.echo' as never),
  'self.send of an unknown task': (self) => self.send(signature('nope.inTask')),
  'self.send of a chain with an unknown step': (self) => self.send(chain(signature('core.echo', { args: [1] }), signature('nope.inTaskStep'))),
  'self.send with a NaN countdown': (self) => self.send(signature('core.echo', { args: [1] }), { countdown: Number.NaN }),
  'self.send with a link to an unknown task': (self) => self.send(signature('core.echo', { args: [1] }), { link: signature('nope.inTaskLink') }),
  'self.send with options as a string': (self) => self.send(signature('core.echo', { args: [1] }), 'high' as never),
  'self.progress with a NaN current': (self) => self.progress(Number.NaN, 10),
  'self.progress with a negative total': (self) => self.progress(1, -1),
  'self.progress with extra as a string': (self) => self.progress(1, 2, 'extra' as never),
  'self.updateState with an empty state': (self) => self.updateState(''),
  'self.retry with a negative countdown': (self) => self.retry({ countdown: -1 }),
  'self.retry with max_retries': (self) => self.retry({ max_retries: 1 } as never),
} satisfies Record<string, (self: AnyTask) => unknown>

export function defineBadInputTasks(app: Celeriac) {
  return {
    /** Runs the case `name` (see IN_TASK_CASES) and reports how it was refused. */
    badInTask: app.task('bad.inTask', { bind: true, maxRetries: 0 }, async (self: Task, name: string): Promise<InTaskRefusal> => {
      const call = (IN_TASK_CASES as Record<string, ((self: AnyTask) => unknown) | undefined>)[name]
      if (call === undefined) throw new Error(`no in-task case '${name}'`)
      let returned: unknown
      try {
        returned = call(self as AnyTask)
      } catch (error) {
        return refusal(error, true)
      }
      try {
        await returned
      } catch (error) {
        return refusal(error, false)
      }
      return { refused: false, sync: false, name: '', code: '', message: '' }
    }),
    /**
     * Sends `core.routed` (task option `queue: 'reports'`) through `self` with `queue` and
     * `priority` given as `undefined`; returns the child's id (its result is the queue it ran on).
     */
    badUndefinedFromTask: app.task('bad.undefinedFromTask', { bind: true }, async (self: Task) => {
      const child = await self.send(signature<string>('core.routed'), { queue: undefined, priority: undefined })
      return child.id
    }),
  }
}

function refusal(error: unknown, sync: boolean): InTaskRefusal {
  const e = error as { name?: string; code?: string; message?: string }
  return { refused: true, sync, name: e.name ?? '', code: e.code ?? '', message: e.message ?? '' }
}
