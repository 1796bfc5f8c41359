/** The lab's report: one JSON document (`--json`), and what the HTML report draws from. */

export interface Percentiles {
  count: number
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
}

export interface TimelineEntry {
  atMs: number
  kind: string
  /** what happened, in words */
  detail: string
  /** the nodes it touched; for a partition, each side */
  nodes?: string[]
  sides?: string[][]
}

export interface RecoveryMeasure {
  /** a heal, restart or resume */
  kind: string
  atMs: number
  /** messages (times nodes) not yet on a live node when it happened */
  missing: number
  /** until every live node held every message acknowledged before it; null: not within the run */
  convergenceMs: number | null
}

export interface NodeMeasure {
  name: string
  state: 'running' | 'killed' | 'paused'
  /** messages this node's API acknowledged */
  acknowledged: number
  /** average CPU use over the load, percent of one core; null in-process */
  cpuPercent: number | null
  peakRssBytes: number | null
  syncBytesReceived: number
}

export interface LabReport {
  scenario: string
  seed: number
  mode: 'namespaces' | 'in-process'
  nodes: number
  startedAt: string
  durationMs: number
  /** sends attempted by the load */
  sent: number
  acknowledged: number
  /** sends a node refused or never answered (it was down): not acknowledged, so not owed */
  unacknowledged: number
  lost: number
  duplicates: number
  orderMismatches: number
  converged: boolean
  /** from the end of the load or the last recovery, whichever came later, to convergence */
  convergenceMs: number | null
  convergeWithinMs: number
  latencyMs: Percentiles & { calm: Percentiles, duringFaults: Percentiles }
  /** every delivery's latency, bucketed for the histogram (upper bound in ms -> count) */
  latencyHistogram: Array<{ upToMs: number, count: number }>
  recoveries: RecoveryMeasure[]
  sync: { bytesReceived: number, idealBytes: number, ratio: number | null }
  /** gossip copies received (duplicates included) per distinct message received, over all nodes */
  gossip: { copiesReceived: number, messagesReceived: number, copiesPerMessage: number | null }
  perNode: NodeMeasure[]
  /** the nodes' memory, sampled every second (namespaces only) */
  memory: Array<{ atMs: number, nodes: number, totalRssBytes: number }>
  /** in-process: the one process's CPU and memory */
  process?: { cpuPercent: number, peakRssBytes: number }
  timeline: TimelineEntry[]
  /** acknowledged (sent) and delivered counts per second, for the timeline chart */
  rate: Array<{ second: number, acknowledged: number, delivered: number }>
  /** every check that failed, naming messages and nodes; empty when all held */
  failures: string[]
  passed: boolean
  /** the nodes' data directories and logs, kept after a failed run (or with --keep) */
  dataKeptIn: string | null
}

export function percentiles (values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: Math.round(sorted[sorted.length - 1] * 10) / 10 }
}

/** Bounds that double from 1 ms, so one chart shows both a loopback hop and a healed partition. */
export function histogram (values: number[]): Array<{ upToMs: number, count: number }> {
  const buckets: Array<{ upToMs: number, count: number }> = []
  const top = Math.max(1, ...values)
  for (let bound = 1; ; bound *= 2) {
    buckets.push({ upToMs: bound, count: 0 })
    if (bound >= top) break
  }
  for (const v of values) {
    const i = Math.max(0, Math.ceil(Math.log2(Math.max(v, 1))))
    buckets[Math.min(i, buckets.length - 1)].count++
  }
  return buckets
}
