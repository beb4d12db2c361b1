/**
 * One bad-input case: a call with something wrong in it, the error it must get (class, `code`, a
 * word of the message naming the bad field) and how: thrown at the call (synchronous
 * constructors and setters), rejected (async calls), or, for calls made inside a running task,
 * reported by the `bad.inTask` conformance task.
 */
import type { CeleriacError } from '../../src/index.js'
import type { ErrorCode } from '../../src/index.js'
import type { Harness } from '../conformance/setup.js'
import type { IN_TASK_CASES } from '../conformance/tasks-bad-input.js'

/** An error class of celeriac's, with the name its prototype sets. */
type ErrorClassOf = abstract new (...args: never[]) => CeleriacError

export interface BadInputCase {
  /** The entry point, e.g. `task.applyAsync`. */
  entry: string
  /** What is wrong. */
  label: string
  /** `throws`: at the call; `rejects`: the call returns a promise that rejects; `inTask`: the named IN_TASK_CASES case. */
  how: 'throws' | 'rejects' | 'inTaskThrows' | 'inTaskRejects'
  call: (h: Harness) => unknown
  error: ErrorClassOf
  code: ErrorCode
  /** A word the message must contain: the bad field (or option, or task name). */
  field: string
}

type Call = (h: Harness) => unknown

/** Cases of one entry point, built with `throws` and `rejects`. */
export function entry(name: string, build: (cases: CaseBuilder) => void): BadInputCase[] {
  const out: BadInputCase[] = []
  const add =
    (how: BadInputCase['how']) =>
    (label: string, call: Call, error: ErrorClassOf, code: ErrorCode, field: string): void => {
      out.push({ entry: name, label, how, call, error, code, field })
    }
  build({ throws: add('throws'), rejects: add('rejects') })
  return out
}

export interface CaseBuilder {
  throws(label: string, call: Call, error: ErrorClassOf, code: ErrorCode, field: string): void
  rejects(label: string, call: Call, error: ErrorClassOf, code: ErrorCode, field: string): void
}

/** A case run inside a task by `bad.inTask`; sends reject there, progress/updateState/retry throw. */
export function inTask(label: keyof typeof IN_TASK_CASES & string, sync: boolean, error: ErrorClassOf, code: ErrorCode, field: string): BadInputCase {
  return {
    entry: 'inside a task',
    label,
    how: sync ? 'inTaskThrows' : 'inTaskRejects',
    call: async (h) => (await h.tasks.badInTask.delay(label)).get(),
    error,
    code,
    field,
  }
}
