import { strict as assert } from 'node:assert'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runScenario } from '../../node/lab/run.js'
import type { LabReport } from '../../node/lab/report.js'
import { parseScenario, type Scenario } from '../../node/lab/scenario.js'
import { REPO_ROOT } from './cli.js'
import { note } from './lab-hooks.js'

/** The shipped scenarios short enough for every CI run (the 20-node soak is not). */
export const SHORT_SCENARIOS = ['halves', 'minority-isolation', 'rotating-bridge', 'crash-restart', 'pause', 'bandwidth-limited']

/**
 * A scenario whose n3 runs no sync: after the heal it lacks what the other side sent. The
 * cut lasts 14 s: a shorter one can pass unnoticed by TCP (the connection survives, and
 * what gossip sent during the cut arrives by retransmission once it heals), while a node
 * declares a silent connection dead within 11 s (ping every 6 s, 5 s timeout).
 */
export const BROKEN_SCENARIO = `
name: broken-sync
seed: 4
nodes: 4
load: { rate: 20, size: 100, duration: 18s }
schedule:
  - { at: 1s, partition: [[n0, n1], [n2, n3]] }
  - { at: 15s, heal: true }
check: { converge_within: 6s }
broken: { n3: { sync: false } }
`

export async function shippedScenario (name: string): Promise<Scenario> {
  return parseScenario(await readFile(join(REPO_ROOT, 'node', 'lab', 'scenarios', `${name}.yaml`), 'utf8'), name)
}

export async function runShipped (name: string, mode: 'namespaces' | 'in-process'): Promise<LabReport> {
  const report = await runScenario(await shippedScenario(name), { mode, progress: note })
  note(`${name}: ${report.acknowledged} acknowledged, latency p50 ${report.latencyMs.p50} ms, converged after ${report.convergenceMs} ms`)
  return report
}

/** What a user checks in a passing report: every message everywhere, the faults really happened. */
export function assertHeld (report: LabReport, scenario: Scenario): void {
  assert.deepEqual(report.failures, [], `the checks failed:\n${report.failures.join('\n')}`)
  assert.equal(report.passed, true)
  assert.equal(report.lost, 0)
  assert.equal(report.duplicates, 0)
  assert.equal(report.orderMismatches, 0)
  assert.equal(report.converged, true)
  const expected = scenario.load.rate * scenario.load.durationMs / 1000
  assert.ok(report.acknowledged >= expected * 0.8, `most of the load was acknowledged: ${report.acknowledged} of ${expected}`)
  const applied = report.timeline.filter(e => !['load', 'check'].includes(e.kind)).length
  assert.equal(applied, scenario.schedule.length, `every scheduled event was applied: ${report.timeline.map(e => e.detail).join('; ')}`)
  for (const r of report.recoveries) assert.notEqual(r.convergenceMs, null, `converged after the ${r.kind} at ${r.atMs} ms`)
}

/** The broken node's failure: named, with the messages it lacks. Removes the data the failed run kept. */
export async function assertBrokenNamed (report: LabReport): Promise<void> {
  assert.equal(report.passed, false)
  assert.ok(report.lost > 0, 'messages are missing')
  const text = report.failures.join('\n')
  assert.match(text, /acknowledged message\(s\) missing: n3 lacks \d+: [0-9a-f]{24} \(lab:\d+ from n[01]\)/)
  assert.doesNotMatch(text, /n[012] lacks/, 'only the broken node lacks messages')
  // Kept for whoever looks into a failed run; this failure was expected, so it goes.
  assert.notEqual(report.dataKeptIn, null, 'a failed run keeps its data')
  if (report.dataKeptIn != null) await rm(report.dataKeptIn, { recursive: true, force: true })
}
