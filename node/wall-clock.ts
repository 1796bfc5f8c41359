/*
 * The clock that message events are stamped with (`at` on GET /v1/events): milliseconds
 * since the epoch, to a fraction of a millisecond. Every process on a machine reads the same
 * one, so a watcher (the mesh lab, the benchmarks) can compare stamps from several nodes.
 */

/** Now, on the shared clock. */
export function wallClockMs (): number {
  return performance.timeOrigin + performance.now()
}

/** A stamp on the shared clock, in this process's `performance.now()` terms. */
export function localMs (wallMs: number): number {
  return wallMs - performance.timeOrigin
}
