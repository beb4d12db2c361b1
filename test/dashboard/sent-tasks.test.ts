/** The dashboard's memory of sent tasks (what a retry resends) stays bounded and keeps what is used. */
import { describe, expect, it } from 'vitest'
import { SentTasks } from '../../src/dashboard/sent-tasks.js'

const sent = (id: string) => ({ id, name: 'resize', args: [id], queue: 'celery', priority: 0 })

describe('SentTasks', () => {
  it('remembers a task as sent, and forgets the least recently used one past its bound', () => {
    const tasks = new SentTasks(2)
    tasks.record(sent('a'))
    tasks.record(sent('b'))
    expect(tasks.get('a')).toEqual({ name: 'resize', args: ['a'], queue: 'celery', priority: 0 })
    tasks.record(sent('c'))
    expect(tasks.get('b')).toBeUndefined()
    expect(tasks.get('a')?.args).toEqual(['a'])
    expect(tasks.get('c')?.args).toEqual(['c'])
  })
})
