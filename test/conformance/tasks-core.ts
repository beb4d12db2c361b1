import type { Celeriac } from '../../src/index.js'

/** Tasks of the core scenarios. */
export function defineCoreTasks(app: Celeriac) {
  return {
    coreEcho: app.task('core.echo', (value: unknown) => value),
  }
}
