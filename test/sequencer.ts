/**
 * The order `npm test` starts its files in. Vitest's own order (BaseSequencer) runs the projects
 * one after another by name, each longest first (from its duration cache; a fresh clone has none
 * and goes by file size): the Chromium project runs beside them in its own pool, and done within
 * the first two minutes, and `node-isolated` (Redis, BullMQ, Python Celery: mostly waiting; e.g.
 * `transport/bullmq` 36 s for 3 s of CPU) came after all of `node`, two waiting files at a time
 * with a core idle. Here the projects that mostly wait go first, beside the Chromium project,
 * which computes; within a project the order stays vitest's. A project's files stay together:
 * the `node` project shares one module graph per vitest worker only between files of that
 * project that follow each other (vitest ends the worker when the next file is another's).
 */
import { BaseSequencer } from 'vitest/node'
import type { TestSpecification } from 'vitest/node'

/** Projects in the order they start; a project not named here comes after these, by name. */
const PROJECT_ORDER: readonly string[] = ['node-isolated', 'node-redis', 'example-bullmq-redis', 'example-bullmq']

function rank(name: string): number {
  const at = PROJECT_ORDER.indexOf(name)
  return at < 0 ? PROJECT_ORDER.length : at
}

export class WaitingFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array.prototype.sort is stable: within a project, vitest's order stands.
    return (await super.sort(files)).sort((a, b) => rank(a.project.name) - rank(b.project.name))
  }
}
