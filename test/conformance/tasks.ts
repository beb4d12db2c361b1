/** Every conformance task, registered on an app. The worker executors load the same definitions. */
import type { Celeriac } from '../../src/index.js'
import { defineBadInputTasks } from './tasks-bad-input.js'
import { defineCanvasTasks } from './tasks-canvas.js'
import { defineContextTasks } from './tasks-context.js'
import { defineCoreTasks } from './tasks-core.js'
import { defineFailureTasks } from './tasks-failures.js'
import { defineNestingTasks } from './tasks-nesting.js'
import { defineOpsTasks } from './tasks-ops.js'
import { defineRuleTasks } from './tasks-rules.js'
import { defineWorkflowTasks } from './tasks-workflows.js'

export function defineAllTasks(app: Celeriac) {
  return {
    ...defineCoreTasks(app),
    ...defineCanvasTasks(app),
    ...defineOpsTasks(app),
    ...defineWorkflowTasks(app),
    ...defineFailureTasks(app),
    ...defineContextTasks(app),
    ...defineBadInputTasks(app),
    ...defineRuleTasks(app),
    ...defineNestingTasks(app),
  }
}

export type ConformanceTasks = ReturnType<typeof defineAllTasks>
