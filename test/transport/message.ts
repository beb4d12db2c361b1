import { plainMessage } from '../../src/core/model/message.js'
import type { TaskMessage } from '../../src/core/model/message.js'

let seq = 0

/** A task message as the engine builds one (`src/core/model/message.ts`), with `fields` over the defaults. */
export function message(id: string, fields: Partial<TaskMessage> = {}): TaskMessage {
  return { ...plainMessage(id, 'tasks.add', [1, { nested: ['two', null, true] }], 'default'), seq: ++seq, ...fields }
}
