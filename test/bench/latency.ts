/**
 * End-to-end latency of 1 KB messages between two processes on loopback: from just before
 * the send API call on node A to the moment the driver reads the WebSocket event of that
 * message from node B. One message in flight at a time (the next is sent once the previous
 * one has arrived at B and been acknowledged by A).
 *
 * Both paths are measured in the same run, interleaved in blocks so that drift in machine
 * load hits both alike:
 *  - outpost: HTTP POST /v1/groups/:id/messages on A (validate, Yjs transaction, LevelDB
 *    group commit, gossip envelope) -> gossipsub -> B (decode, apply the Yjs update,
 *    persist, history) -> WebSocket event from B's API.
 *  - raw gossipsub: HTTP POST /publish on a bare createHost() process -> gossipsub -> a
 *    second bare process -> WebSocket event. Same libp2p configuration and the same local
 *    HTTP and WebSocket hops, nothing of Outpost's own work.
 * Also reported: gossipsub alone inside one process (ping-pong RTT/2, no local hops).
 */
import '../../node/polyfill.js'
import { ArrivalTracker, outpostPair, rawPair, type Pair } from './pairs.js'
import { log, makeText, now, row, round, summarize, type BenchResult, type Summary } from './lib.js'

export interface LatencyOptions {
  warmup?: number
  count?: number
  /** measurement is interleaved in this many blocks per path */
  blocks?: number
}

export interface Samples { e2e: number[], ack: number[], lost: number }

async function measure (pair: Pair, tracker: ArrivalTracker, tag: string, count: number, into: Samples, deadline: number): Promise<void> {
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const nonce = `${tag}-${i}`
    const text = makeText(nonce)
    const t0 = now()
    const acked = pair.send(text).then(() => now())
    const [arrivedAt, ackedAt] = await Promise.all([tracker.wait(nonce, 5_000), acked])
    into.ack.push(ackedAt - t0)
    if (arrivedAt == null) into.lost++
    else into.e2e.push(arrivedAt - t0)
  }
}

/**
 * One message in flight on each pair in turn, after a warm-up, in `blocks` blocks whose
 * order alternates, so that drift in machine load hits every pair alike.
 */
export async function measureInterleaved (pairs: Pair[], opts: { warmup: number, count: number, blocks: number, deadline: number }): Promise<Map<Pair, Samples>> {
  const trackers = new Map(pairs.map(p => [p, new ArrivalTracker(p)]))
  const samples = new Map<Pair, Samples>(pairs.map(p => [p, { e2e: [], ack: [], lost: 0 }]))
  try {
    for (const [i, p] of pairs.entries()) await measure(p, trackers.get(p)!, `warm${i}`, opts.warmup, { e2e: [], ack: [], lost: 0 }, opts.deadline)
    const perBlock = Math.ceil(opts.count / opts.blocks)
    for (let b = 0; b < opts.blocks; b++) {
      const order = b % 2 === 0 ? pairs : [...pairs].reverse()
      for (const [i, p] of order.entries()) await measure(p, trackers.get(p)!, `lat${b}-${i}`, perBlock, samples.get(p)!, opts.deadline)
    }
  } finally {
    for (const t of trackers.values()) t.close()
  }
  return samples
}

export async function latencyBench (opts: LatencyOptions = {}): Promise<BenchResult> {
  const warmup = opts.warmup ?? 200
  const count = opts.count ?? 1_000
  const blocks = opts.blocks ?? 4
  const deadline = Date.now() + 90_000

  log('latency: starting a raw gossipsub pair and an Outpost pair')
  const raw = await rawPair()
  let outpost: Awaited<ReturnType<typeof outpostPair>> | undefined
  try {
    outpost = await outpostPair()
    const samples = await measureInterleaved([raw, outpost], { warmup, count, blocks, deadline })
    log('latency: raw gossipsub one-way inside one process (ping-pong RTT/2)')
    const oneWay = await raw.a.api.call<number[]>('POST', '/pingpong', { count: Math.min(count, 1_000), bytes: 1024 })

    const r = samples.get(raw)!
    const o = samples.get(outpost)!
    const rs = summarize(r.e2e)
    const os = summarize(o.e2e)
    const ps = summarize(oneWay)
    const rAck = summarize(r.ack)
    const oAck = summarize(o.ack)
    const fix = (s: Summary): Summary => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v, 4)])) as unknown as Summary
    log(`latency: outpost p50 ${os.p50.toFixed(3)} p99 ${os.p99.toFixed(3)} ms; raw p50 ${rs.p50.toFixed(3)} p99 ${rs.p99.toFixed(3)} ms`)
    const base = (v: number): { value: number, label: string } => ({ value: v, label: 'raw gossipsub, same hops' })
    return {
      name: 'latency',
      rows: [
        row({ metric: 'latency p50 (send API on A -> WS event on B)', value: os.p50, unit: 'ms', target: { kind: 'max', value: 2 }, baseline: base(rs.p50), ratioTarget: { kind: 'max', value: 1.5 } }),
        row({ metric: 'latency p90', value: os.p90, unit: 'ms', baseline: base(rs.p90) }),
        row({ metric: 'latency p99', value: os.p99, unit: 'ms', target: { kind: 'max', value: 10 }, baseline: base(rs.p99), ratioTarget: { kind: 'max', value: 1.5 } }),
        row({ metric: 'latency max', value: os.max, unit: 'ms', baseline: base(rs.max) }),
        row({ metric: 'messages lost (of measured)', value: o.lost, unit: 'msgs', target: { kind: 'max', value: 0 }, baseline: { value: r.lost, label: 'raw gossipsub' } }),
        row({ metric: 'send API ack p50 (POST round trip at A)', value: oAck.p50, unit: 'ms', baseline: { value: rAck.p50, label: 'raw publish POST' } }),
        row({ metric: 'raw gossipsub one-way in-process p50 (info)', value: ps.p50, unit: 'ms' }),
        row({ metric: 'raw gossipsub one-way in-process p99 (info)', value: ps.p99, unit: 'ms' })
      ],
      details: {
        messageBytes: 1024,
        warmup,
        measuredPerPath: count,
        blocks,
        outpost: { e2e: fix(os), ack: fix(oAck), lost: o.lost },
        rawGossipsubSameHops: { e2e: fix(rs), ack: fix(rAck), lost: r.lost },
        rawGossipsubInProcessOneWay: fix(ps),
        localHopsEstimateMs: round(rs.p50 - ps.p50, 4),
        outpostOverheadOverRawP50Ms: round(os.p50 - rs.p50, 4)
      }
    }
  } finally {
    await Promise.all([raw.stop(), outpost?.stop()])
  }
}
