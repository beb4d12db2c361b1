import type { Celeriac } from '../../src/index.js'

/** Tasks of the ops scenarios. */
export function defineOpsTasks(app: Celeriac) {
  return {
    opsEcho: app.task('ops.echo', (value: unknown) => value),
  }
}
