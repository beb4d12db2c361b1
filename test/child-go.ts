/**
 * The child side of the kill runs that spawn each incarnation ahead of its turn: it starts up
 * (node itself and the bundle's imports, most of a start) while the test still kills or reads the
 * one before, and touches its storage only once the test writes a line on its stdin. It exits if
 * stdin closes first: the test ended (or failed) without giving it its turn.
 */
export function untilGo(): Promise<void> {
  return new Promise<void>((resolve) => {
    const orphaned = (): never => process.exit(1)
    process.stdin.once('end', orphaned)
    process.stdin.once('data', () => {
      process.stdin.off('end', orphaned)
      process.stdin.destroy()
      resolve()
    })
  })
}
