/** A send's handle as data, for the remote to rebuild (`handleFromJSON`) on its own result source. */
import type { HandleJSON } from '../core/model/context.js'
import { AsyncResult, GroupResult } from '../core/result/result.js'

export function handleToJSON(handle: AsyncResult<unknown> | GroupResult): HandleJSON {
  // A chord's body has its header, a GroupResult, as its parent.
  const parent = handle.parent as AsyncResult<unknown> | GroupResult | undefined
  const parentJSON = parent === undefined ? null : handleToJSON(parent)
  if (handle instanceof GroupResult) {
    return { kind: 'group', id: handle.id, results: handle.results.map((r) => handleToJSON(r)), parent: parentJSON }
  }
  return handle.ignored ? { kind: 'result', id: handle.id, parent: parentJSON, ignored: true } : { kind: 'result', id: handle.id, parent: parentJSON }
}

/** Whether `value` is a result handle (what `app.send` resolves with). */
export function isHandle(value: unknown): value is AsyncResult<unknown> | GroupResult {
  return value instanceof AsyncResult || value instanceof GroupResult
}
