/** kill -9 at random points, tasks run inline in the killed process (crash-run.ts says what is checked). */
import { it } from 'vitest'
import { ROUNDS, TIMEOUT_MS, survivesKills } from './crash-run.js'

it(`inline executor: survives ${ROUNDS} kill -9s at random points with every sent task accounted for`, () => survivesKills('inline', ROUNDS), TIMEOUT_MS)
