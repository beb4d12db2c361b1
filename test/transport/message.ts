import type { TaskMessage } from '../../src/core/model/message.js'

let seq = 0

/** A task message as the engine builds one (`src/core/model/message.ts`), with `fields` over the defaults. */
export function message(id: string, fields: Partial<TaskMessage> = {}): TaskMessage {
  return {
    id,
    task: 'tasks.add',
    args: [1, { nested: ['two', null, true] }],
    headers: null,
    queue: 'default',
    priority: 0,
    eta: null,
    expires: null,
    retries: 0,
    seq: ++seq,
    parentId: null,
    rootId: id,
    groupId: null,
    groupIndex: null,
    chord: null,
    chain: [],
    links: [],
    linkErrors: [],
    timeLimit: null,
    softTimeLimit: null,
    ignoreResult: false,
    acksLate: false,
    leased: false,
    redelivered: false,
    ...fields,
  }
}
