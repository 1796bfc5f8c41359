/**
 * `npm run bench`: runs every benchmark in sequence, prints a summary table (numbers, the
 * same-run baselines and the ratios to them, targets, pass/miss) and writes everything to
 * bench-results/latest.json. Progress goes to stderr, the table to stdout.
 *
 *   node dist/test/bench/run.js [--only latency,throughput,partition-heal,startup,trust,search,files,ui,history-scale,cold-join,idle,mesh] [--quick] [--nice=N]
 *
 * --nice=N (e.g. --nice=-10, needs root for negative values) runs the driver and every node it
 * starts at that scheduling priority: on a shared machine, other work then disturbs the
 * numbers less. It only changes the priority of the processes this run starts.
 */
import '../../node/polyfill.js'
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, getPriority, loadavg, setPriority } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { latencyBench } from './latency.js'
import { partitionHealBench } from './partition-heal.js'
import { startupBench } from './startup.js'
import { throughputBench } from './throughput.js'
import { trustBench } from './trust.js'
import { searchBench } from './search.js'
import { filesBench } from './files.js'
import { uiBench } from './ui.js'
import { historyScaleBench } from './history-scale.js'
import { coldJoinBench } from './cold-join.js'
import { idleBench } from './idle.js'
import { meshBench } from './mesh.js'
import { fmt, log, machineJiffies, removeTempDirs, ROOT, table, targetText, waitForQuiet, type BenchResult, type Row } from './lib.js'

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean' }, nice: { type: 'string' } } })
const quick = values.quick === true
if (values.nice != null) {
  // Children inherit the priority of the driver.
  try { setPriority(Number(values.nice)) } catch (err) { log(`cannot set priority ${values.nice}: ${(err as Error).message}`) }
}

const benches: Array<[string, () => Promise<BenchResult>]> = [
  ['latency', async () => await latencyBench(quick ? { warmup: 50, count: 200 } : {})],
  ['throughput', async () => await throughputBench(quick ? { count: 2_000 } : {})],
  ['partition-heal', async () => await partitionHealBench(quick ? { rounds: 1 } : {})],
  ['startup', async () => await startupBench(quick ? { cold: 1, warm: 1, settleMs: 2_000 } : {})],
  ['trust', async () => await trustBench(quick ? { warmup: 50, count: 200, throughputCount: 2_000 } : {})],
  ['search', async () => await searchBench(quick ? { messages: 10_000, queries: 140 } : {})],
  ['files', async () => await filesBench(quick ? { bytes: 64 * 1024 * 1024, rounds: 3 } : {})],
  ['ui', async () => await uiBench(quick ? { messages: 10_000, rounds: 3, scrollMs: 3_000 } : {})],
  ['history-scale', async () => await historyScaleBench(quick ? { sizes: [10_000, 100_000] } : {})],
  ['cold-join', async () => await coldJoinBench(quick ? { rounds: 1 } : {})],
  ['idle', async () => await idleBench(quick ? { windowMs: 10_000, settleMs: 5_000 } : {})],
  ['mesh', async () => await meshBench(quick ? { fanOut: [3, 5, 10], fanOutSeconds: 8, saturationRates: [100, 250, 1000], healNodes: [3, 5], healMissed: [100, 1000], churnMinutes: 1, churnNodes: 5 } : {})]
]

function git (): string {
  try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim() } catch { return 'unknown' }
}

const only = values.only?.split(',')
const started = Date.now()
const results: BenchResult[] = []
const failures: Array<{ name: string, error: string }> = []
/** how busy the machine was before and during each benchmark (our own processes included while it runs) */
const machine: Record<string, { busyBefore: number, waitedMs: number, busyDuring: number }> = {}
const env = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgAtStart: loadavg().map(x => Number(x.toFixed(2))), priority: getPriority(), commit: git(), date: new Date().toISOString() }

for (const [name, run] of benches) {
  if (only != null && !only.includes(name)) continue
  // With a raised priority other work matters less: do not wait long for it.
  const quiet = await waitForQuiet(getPriority() < 0 ? 3_000 : 20_000)
  const j0 = machineJiffies()
  const t = Date.now()
  try {
    results.push(await run())
    log(`${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  } catch (err) {
    log(`${name} FAILED: ${(err as Error).stack ?? String(err)}`)
    failures.push({ name, error: (err as Error).message })
  }
  const j1 = machineJiffies()
  machine[name] = { busyBefore: quiet.busy, waitedMs: quiet.waitedMs, busyDuring: Number(((j1.busy - j0.busy) / Math.max(1, j1.total - j0.total)).toFixed(2)) }
}
await removeTempDirs()

const rows: Array<Row & { bench: string }> = results.flatMap(r => r.rows.map(x => ({ bench: r.name, ...x })))
const text = table(
  ['metric', 'value', 'target', 'baseline', 'ratio', 'result'],
  rows.map(r => [
    r.metric,
    `${fmt(r.value)} ${r.unit}`,
    targetText(r),
    r.baseline != null ? `${fmt(r.baseline.value)} (${r.baseline.label})` : '',
    r.ratio != null ? `${fmt(r.ratio)}x` : '',
    r.pass == null ? 'info' : r.pass ? 'pass' : `MISS: ${r.miss ?? ''}`
  ])
)
const seconds = (Date.now() - started) / 1000
process.stdout.write(`\nOutpost benchmarks (node ${env.node}, ${env.cpus} CPUs, load ${env.loadavgAtStart.join(' ')}, priority ${env.priority}, commit ${env.commit}, ${seconds.toFixed(0)} s)\n\n${text}\n`)
for (const f of failures) process.stdout.write(`\nFAILED: ${f.name}: ${f.error}\n`)
const missed = rows.filter(r => r.pass === false)
const noisy = Object.entries(machine).filter(([, m]) => m.busyBefore > 0.2)
if (noisy.length > 0) process.stdout.write(`\nWARNING: other work kept the machine busy before ${noisy.map(([n, m]) => `${n} (${Math.round(m.busyBefore * 100)}%)`).join(', ')}: those numbers are pessimistic\n`)
process.stdout.write(`\n${rows.filter(r => r.pass === true).length} targets met, ${missed.length} missed${failures.length > 0 ? `, ${failures.length} benchmarks failed` : ''}\n`)

const dir = join(ROOT, 'bench-results')
await mkdir(dir, { recursive: true })
await writeFile(join(dir, 'latest.json'), JSON.stringify({ env, seconds, machine, rows, details: Object.fromEntries(results.map(r => [r.name, r.details])), failures }, null, 2) + '\n')
process.stdout.write(`results: ${join(dir, 'latest.json')}\n`)
// Benchmarks miss targets as a result, not as an error; only a benchmark that could not run fails the command.
process.exitCode = failures.length > 0 ? 1 : 0
