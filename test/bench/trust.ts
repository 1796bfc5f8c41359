/**
 * What trust costs: the same Outpost pair (two `outpost start` processes on loopback, one
 * group) with signatures and encryption on, as shipped, against the same pair started with
 * OUTPOST_BENCH_INSECURE=1 (entries unsigned and unchecked, bodies and gossip unsealed).
 * Both pairs run in this run, interleaved in blocks for latency so machine drift hits both.
 *  - latency: send API on A -> WebSocket event on B, one message in flight, 1 KB.
 *  - throughput: the throughput pump (bounded requests in flight) on each pair in turn.
 * Targets (issue: trust): latency at most 1.3x, throughput at least 0.75x of trust off.
 */
import '../../node/polyfill.js'
import { measureInterleaved, type Samples } from './latency.js'
import { outpostPair, type Pair } from './pairs.js'
import { pumpPair } from './throughput.js'
import { log, row, summarize, type BenchResult } from './lib.js'

export interface TrustBenchOptions {
  warmup?: number
  count?: number
  blocks?: number
  throughputCount?: number
}

export async function trustBench (opts: TrustBenchOptions = {}): Promise<BenchResult> {
  const warmup = opts.warmup ?? 200
  const count = opts.count ?? 1_000
  const blocks = opts.blocks ?? 4
  const throughputCount = opts.throughputCount ?? 10_000
  const deadline = Date.now() + 120_000

  log('trust: latency, trust on against trust off')
  const on = await outpostPair()
  let off: Pair | undefined
  let samples: Map<Pair, Samples>
  try {
    off = await outpostPair({ insecure: true })
    samples = await measureInterleaved([on, off], { warmup, count, blocks, deadline })
  } finally {
    await Promise.all([on.stop(), off?.stop()])
  }
  const sOn = samples.get(on)!
  const sOff = samples.get(off)!
  const lOn = summarize(sOn.e2e)
  const lOff = summarize(sOff.e2e)
  log(`trust: latency p50 ${lOn.p50.toFixed(3)} ms on, ${lOff.p50.toFixed(3)} ms off`)

  const pumpOpts = { count: throughputCount, concurrency: 32, maxSendMs: 8_000, maxDrainMs: 15_000 }
  log('trust: throughput with trust off')
  const tOff = await pumpPair(async () => await outpostPair({ insecure: true }), pumpOpts)
  log('trust: throughput with trust on')
  const tOn = await pumpPair(async () => await outpostPair(), pumpOpts)
  log(`trust: ${tOn.receivedPerSec.toFixed(0)} msg/s on, ${tOff.receivedPerSec.toFixed(0)} off`)

  const base = (value: number): { value: number, label: string } => ({ value, label: 'same pair, trust off' })
  return {
    name: 'trust',
    rows: [
      row({ metric: 'trust on: latency p50', value: lOn.p50, unit: 'ms', baseline: base(lOff.p50), ratioTarget: { kind: 'max', value: 1.3 } }),
      row({ metric: 'trust on: latency p99', value: lOn.p99, unit: 'ms', baseline: base(lOff.p99), ratioTarget: { kind: 'max', value: 1.3 } }),
      row({ metric: 'trust on: throughput received at B', value: tOn.receivedPerSec, unit: 'msg/s', baseline: base(tOff.receivedPerSec), ratioTarget: { kind: 'min', value: 0.75 } }),
      row({ metric: 'trust on: throughput acked at A', value: tOn.ackedPerSec, unit: 'msg/s', baseline: base(tOff.ackedPerSec) }),
      row({ metric: 'trust on: messages lost', value: sOn.lost + tOn.missing, unit: 'msgs', target: { kind: 'max', value: 0 }, baseline: { value: sOff.lost + tOff.missing, label: 'trust off' } })
    ],
    details: {
      latency: { on: lOn, off: lOff, measuredPerPath: count, blocks },
      throughput: {
        on: { receivedPerSec: tOn.receivedPerSec, ackedPerSec: tOn.ackedPerSec, cpuSeconds: tOn.cpuSeconds, missing: tOn.missing },
        off: { receivedPerSec: tOff.receivedPerSec, ackedPerSec: tOff.ackedPerSec, cpuSeconds: tOff.cpuSeconds, missing: tOff.missing }
      }
    }
  }
}
