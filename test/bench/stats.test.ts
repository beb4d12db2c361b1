import { expect, it } from 'vitest'
import { advantage, median, quantile } from '../../bench/stats.js'

it('median takes the middle value, or the mean of the middle two, whatever the order', () => {
  expect(median([5, 1, 3])).toBe(3)
  expect(median([4, 1, 3, 2])).toBe(2.5)
  expect(median([7])).toBe(7)
  expect(() => median([])).toThrow(RangeError)
})

it('quantile is nearest-rank', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i)
  expect(quantile(hundred, 0.5)).toBe(50)
  expect(quantile(hundred, 0.99)).toBe(99)
  expect(quantile(hundred, 1)).toBe(100)
  expect(quantile([3], 0.99)).toBe(3)
})

it('advantage is above 1 when celeriac is ahead, for rates and for times', () => {
  expect(advantage(200, 100, 'higher')).toBe(2)
  expect(advantage(50, 100, 'higher')).toBe(0.5)
  expect(advantage(0.05, 0.1, 'lower')).toBe(2)
  expect(advantage(0.2, 0.1, 'lower')).toBe(0.5)
})
