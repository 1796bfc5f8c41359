/** The lab's report for a person at a terminal (without --json). */
import type { LabReport } from './report.js'

const ms = (v: number | null): string => v == null ? '–' : `${Math.round(v)} ms`

export function textReport (r: LabReport): string {
  const l = r.latencyMs
  return [
    `scenario ${r.scenario} (seed ${r.seed}, ${r.nodes} nodes, ${r.mode}): ${r.passed ? 'PASSED, every check held' : 'FAILED'}`,
    `  sent ${r.sent}, acknowledged ${r.acknowledged}, not acknowledged ${r.unacknowledged}; lost ${r.lost}, duplicates ${r.duplicates}, order mismatches ${r.orderMismatches}`,
    `  converged: ${r.converged ? `yes, ${ms(r.convergenceMs)} after the last recovery` : 'no'} (limit ${ms(r.convergeWithinMs)})`,
    `  latency p50 ${ms(l.p50)}, p99 ${ms(l.p99)} (calm p99 ${ms(l.calm.p99)}, during faults p99 ${ms(l.duringFaults.p99)})`,
    ...r.recoveries.map(x => `  ${x.kind} at ${ms(x.atMs)}: ${x.missing} deliveries missing, converged after ${x.convergenceMs == null ? 'the run' : ms(x.convergenceMs)}`),
    `  sync bytes ${r.sync.bytesReceived} against an ideal ${r.sync.idealBytes}${r.sync.ratio != null ? ` (${r.sync.ratio}x)` : ''}; gossip copies per message ${r.gossip.copiesPerMessage ?? '–'}`,
    ...r.perNode.map(n => `  ${n.name}: ${n.state}, ${n.acknowledged} acknowledged${n.cpuPercent != null ? `, CPU ${n.cpuPercent}%` : ''}${n.peakRssBytes != null ? `, peak ${(n.peakRssBytes / 1e6).toFixed(0)} MB` : ''}`),
    ...r.failures.map(f => `  FAILED: ${f}`)
  ].join('\n')
}
