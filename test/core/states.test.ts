/** The exported state names and sets are Celery's (`celery/states.py`). */
import { expect, it } from 'vitest'
import { states } from '../../src/index.js'

it('the state names are the strings Celery stores', () => {
  expect([
    states.PENDING,
    states.RECEIVED,
    states.STARTED,
    states.SUCCESS,
    states.FAILURE,
    states.RETRY,
    states.REVOKED,
    states.REJECTED,
    states.IGNORED,
  ]).toEqual(['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED', 'IGNORED'])
  expect(states.PROGRESS).toBe('PROGRESS')
})

it('READY, UNREADY, EXCEPTION and PROPAGATE sets hold exactly the states Celery puts in them', () => {
  expect([...states.READY_STATES].sort()).toEqual(['FAILURE', 'REVOKED', 'SUCCESS'])
  expect([...states.UNREADY_STATES].sort()).toEqual(['PENDING', 'RECEIVED', 'REJECTED', 'RETRY', 'STARTED'])
  expect([...states.EXCEPTION_STATES].sort()).toEqual(['FAILURE', 'RETRY', 'REVOKED'])
  expect([...states.PROPAGATE_STATES].sort()).toEqual(['FAILURE', 'REVOKED'])
  // Every built-in state is ready or unready, never both.
  for (const state of [...states.READY_STATES]) expect(states.UNREADY_STATES.has(state)).toBe(false)
  expect(states.READY_STATES.has(states.PROGRESS)).toBe(false)
})
