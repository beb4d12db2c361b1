/**
 * Waits for `work`, or for `timeout` ms of real time if that comes first (never rejects on the
 * timeout). Real time on purpose: it bounds what a process waits (a shutdown), not the engine's
 * clock, which a virtual clock may hold still.
 */
export async function waitAtMost(work: Promise<unknown>, timeout: number | undefined): Promise<void> {
  if (timeout === undefined) {
    await work
    return
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))
  try {
    await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
