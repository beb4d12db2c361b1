/** Tasks of the nesting matrix (nesting.test.ts). Names start with `nest.`. */
import type { Celeriac, Task } from '../../src/index.js'

/**
 * What `nest.tag` returns for its arguments: its label (the last argument) alone, or with what
 * was prepended to it (a parent's result, a chord header's list) as JSON, so a result shows the
 * whole path of values that reached it. The matrix's model computes the same.
 */
export function tagOf(args: readonly unknown[]): string {
  const label = String(args[args.length - 1])
  const given = args.slice(0, -1)
  return given.length === 0 ? label : `${label}(${given.map((a) => JSON.stringify(a)).join(',')})`
}

export function defineNestingTasks(app: Celeriac) {
  return {
    /** Returns {@link tagOf} its arguments. */
    nestTag: app.task('nest.tag', (...args: unknown[]) => tagOf(args)),
    /** Fails with the label it is given (after whatever was prepended). */
    nestFail: app.task('nest.fail', (...args: unknown[]) => {
      throw new Error(`failed ${String(args[args.length - 1])}`)
    }),
    /** An errback: logs `nest-errback <tag> <failed id>`. */
    nestErrback: app.task('nest.errback', { bind: true }, (self: Task, failedId: string, tag: string) => {
      self.log.info(`nest-errback ${tag} ${failedId}`)
    }),
  }
}
