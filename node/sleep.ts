/** Something that can cut a sleep short: it calls `wake` once, and `wait` returns how to stop listening. */
export interface WakeSource {
  wait: (wake: () => void) => () => void
}

/**
 * Waits `ms`, or less when `signal` aborts, a wake source fires or `until` settles. It never
 * rejects, and keeps nothing alive (its timer is unref'd, its listeners removed).
 */
export async function sleep (ms: number, signal: AbortSignal, wakeups: WakeSource[] = [], until?: Promise<unknown>): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    timer.unref()
    signal.addEventListener('abort', done, { once: true })
    const unwait = wakeups.map(w => w.wait(done))
    until?.then(done, done)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      for (const off of unwait) off()
      resolve()
    }
  })
}
