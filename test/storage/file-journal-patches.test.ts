/** Version 4 journal patches: a put given as changes of the record the key holds (the engine's lease) is journaled as those changes. */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Celeriac, StorageError, inline } from '../../src/index.js'
import type { Mutation } from '../../src/index.js'
import { fileStorage } from '../../src/node.js'
import { frame } from '../../src/storage/file/frame.js'
import { journalHeader } from '../../src/storage/file/journal.js'
import { fileHarness, journalKeys } from './file-harness.js'

const { tempDir, opened, closeAll } = fileHarness()

const message = (id: string): Record<string, unknown> => ({ id, task: 'mail.send', args: ['Zoë'], leased: false, retries: 0 })

/** The lease of a stored message, as the engine writes it: the whole value, with what it changes and over what. */
function lease(base: Record<string, unknown>, leased: unknown = true): Mutation {
  return { op: 'put', ns: 'messages', key: base.id as string, value: { ...base, leased }, base, changes: { leased } }
}

const journalText = (dir: string): string => readFileSync(join(dir, 'journal-0.log'), 'utf8')

describe('journal patches', () => {
  it('a put over the record the key holds is journaled as its changes, and reopens as the whole record', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    const m1 = message('m1')
    const m2 = message('m2')
    await a.write([
      { op: 'put', ns: 'messages', key: 'm1', value: m1 },
      { op: 'put', ns: 'messages', key: 'm2', value: m2 },
    ])
    await a.write([lease(m1), { op: 'put', ns: 'results', key: 'm1', value: { id: 'm1', state: 'STARTED' } }, lease(m2)])
    expect(await a.get('messages', 'm1')).toEqual({ ...m1, leased: true })
    await closeAll()
    const text = journalText(dir)
    expect(text).toContain('{"kind":"journal","version":4,')
    expect(text).toContain('[4,"messages","m1",{"leased":true},3,"results",{"id":"m1","state":"STARTED"},4,"messages","m2",{"leased":true}]')
    expect(journalKeys(join(dir, 'journal-0.log'))).toEqual([[['m1', 'm2']], [['m1', 'm1', 'm2']]])
    const b = await opened({ dir })
    expect(await b.entries('messages')).toEqual([
      ['m1', { ...m1, leased: true }],
      ['m2', { ...m2, leased: true }],
    ])
  })

  it('a put whose base is not what the key holds, or whose key a mutation before it in the call changes, is journaled whole', async () => {
    const dir = tempDir()
    const a = await opened({ dir })
    const stored = message('m1')
    await a.write([{ op: 'put', ns: 'messages', key: 'm1', value: stored }])
    // An equal copy is not the held record: the storage cannot know what differs.
    await a.write([lease({ ...stored })])
    const held = (await a.get('messages', 'm1')) as Record<string, unknown>
    const replaced = { ...held, args: ['Anaïs'] }
    // Its base is the key's record before the call, but the call puts another first: the patch would replay over that one.
    await a.write([{ op: 'put', ns: 'messages', key: 'm1', value: replaced }, lease(held, 'twice')])
    const before = await a.entries('messages')
    await closeAll()
    expect(journalText(dir)).not.toContain('[4,')
    const b = await opened({ dir })
    expect(await b.entries('messages')).toEqual(before)
    expect(before).toEqual([['m1', { ...held, leased: 'twice' }]])
  })

  it('a version 3 journal is appended to without patches, so the celeriac before them still reads it', async () => {
    const dir = tempDir()
    const header = frame(Buffer.from(JSON.stringify({ kind: 'journal', version: 3, generation: 0 })))
    writeFileSync(join(dir, 'journal-0.log'), Buffer.concat([header, frame(Buffer.from(JSON.stringify([0, 'messages', message('m1')])))]))
    const a = await opened({ dir })
    await a.write([lease((await a.get('messages', 'm1')) as Record<string, unknown>)])
    await closeAll()
    const text = journalText(dir)
    expect(text).toContain('{"kind":"journal","version":3,')
    expect(text).not.toContain('[4,')
    expect(text).toContain('"leased":true')
    const b = await opened({ dir })
    expect(await b.get('messages', 'm1')).toEqual({ ...message('m1'), leased: true })
  })

  it('a patch of a key that holds nothing replays as nothing; changes that are no object are damage', async () => {
    // A call queued before a compaction is written into the next journal, over a snapshot that
    // holds its effect and the later calls' (here the record's delete, which follows it).
    const dir = tempDir()
    const calls = [0, [4, 'messages', 'gone', { leased: true }, 0, 'messages', 'gone'], [4, 'messages', 'never', { leased: true }]]
    writeFileSync(join(dir, 'journal-0.log'), Buffer.concat([journalHeader(0), frame(Buffer.from(JSON.stringify(calls)))]))
    const a = await opened({ dir })
    expect(await a.entries('messages')).toEqual([])
    await closeAll()
    const damaged = tempDir()
    const bad = [0, 'messages', message('m1'), [4, 'messages', 'm1', true]]
    writeFileSync(join(damaged, 'journal-0.log'), Buffer.concat([journalHeader(0), frame(Buffer.from(JSON.stringify(bad)))]))
    await expect(opened({ dir: damaged })).rejects.toThrow(StorageError)
    await expect(opened({ dir: damaged })).rejects.toThrow(/patch/)
  })

  it("a durable task's lease and outcome are journaled as patches of its message and STARTED record; a record replaced meanwhile (progress) is not patched", async () => {
    const dir = tempDir()
    const app = new Celeriac({ storage: fileStorage({ dir }), executor: inline() })
    const add = app.task('t.add', (a: number, b: number) => a + b)
    const step = app.task('t.step', { bind: true }, async (self) => {
      self.progress(1, 2)
      await new Promise((resolve) => setTimeout(resolve, 80))
      return 'stepped'
    })
    await app.start()
    const sum = await add.delay(2, 3)
    expect(await sum.get()).toBe(5)
    const stepped = await step.delay()
    expect(await stepped.get()).toBe('stepped')
    await app.stop()
    const text = journalText(dir)
    expect(text).toContain(`[4,"messages","${sum.id}",{"leased":true},3,"results",{"id":"${sum.id}","task":"t.add","state":"STARTED"`)
    expect(text).toMatch(
      new RegExp(`\\[4,"results","${sum.id}",\\{"state":"SUCCESS","result":5,"dateDone":\\d+,"expiresAt":\\d+\\},0,"messages","${sum.id}"\\]`),
    )
    // Its progress record replaced the STARTED one: the outcome is a whole record.
    expect(text).not.toContain(`[4,"results","${stepped.id}"`)
    expect(text).toContain(`[3,"results",{"id":"${stepped.id}","task":"t.step","state":"SUCCESS","result":"stepped"`)
    const reopened = fileStorage({ dir })
    await reopened.open()
    try {
      expect(await reopened.get('messages', sum.id)).toBeUndefined()
      expect(await reopened.get('results', sum.id)).toEqual({
        id: sum.id,
        task: 't.add',
        state: 'SUCCESS',
        result: 5,
        traceback: null,
        dateDone: expect.any(Number),
        retries: 0,
        parentId: null,
        rootId: sum.id,
        groupId: null,
        children: [],
        expiresAt: expect.any(Number),
        acksLate: false,
      })
      expect(await reopened.get('results', stepped.id)).toMatchObject({ state: 'SUCCESS', result: 'stepped' })
    } finally {
      await reopened.close()
    }
  })
})
