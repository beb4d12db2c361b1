/**
 * Runs one implementation of one case in this process and prints its measurement as the last
 * line of stdout (JSON). Started by run.ts: `node --import tsx bench/case-runner.ts <case> <impl> <size>`.
 */
import { cases } from './cases.js'

const [caseName, implName, sizeText] = process.argv.slice(2) as [string, string, string]
const bench = cases.find((c) => c.name === caseName)
const impl = bench?.impls[implName]
if (bench === undefined || impl === undefined) {
  console.error(`unknown case or implementation: ${caseName} / ${implName}`)
  process.exit(2)
}
const measurement = await impl(Number(sizeText))
process.stdout.write(`\n${JSON.stringify(measurement)}\n`)
// Peers may leave handles open (pools, sockets): the measurement is out, so end here.
process.exit(0)
