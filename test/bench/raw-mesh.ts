/**
 * The fan-out baseline: N bare libp2p hosts (raw-peer.ts, the project's createHost with
 * gossipsub and nothing of Outpost's) on loopback, every one dialing those started before
 * it, one topic. The same load as the lab's fan-out (everyone publishing in turn, through
 * the same HTTP POST and WebSocket hops), so the ratio is what Outpost adds per delivery.
 */
import { randomBytes } from 'node:crypto'
import { stampedAt } from '../../node/lab/observer.js'
import { Events, makeText, nonceOfText, summarize, waitUntil, startRaw, type RawProc } from './lib.js'

export async function rawFanOut (n: number, rate: number, seconds: number, bytes = 200): Promise<{ p50: number, p99: number, deliveries: number, expected: number }> {
  const topic = `/bench/mesh/${randomBytes(6).toString('hex')}`
  const peers: RawProc[] = []
  const streams: Events[] = []
  try {
    for (let i = 0; i < n; i++) peers.push(await startRaw({ topic, dial: peers.map(p => p.addrs[0]) }))
    await waitUntil(`${n} raw peers to see every subscription`, async () => {
      const status = await Promise.all(peers.map(async p => await p.api.call('GET', '/status')))
      return status.every(s => s.subscribers >= n - 1)
    }, 20_000, 50)
    // Arrival time per nonce per peer.
    const arrived = peers.map(() => new Map<string, number>())
    for (const [i, p] of peers.entries()) {
      const events = await Events.open(p.eventsUrl)
      streams.push(events)
      events.on((e, at) => {
        const nonce = e.type === 'message' ? nonceOfText(e.message?.text) : undefined
        // As the lab does: when the peer had it, by its own stamp, not when this process read it.
        if (nonce != null && !arrived[i].has(nonce)) arrived[i].set(nonce, stampedAt(e.at, at))
      })
    }
    // Let gossipsub build its mesh (a heartbeat or two) before measuring.
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const sent: Array<{ nonce: string, from: number, at: number }> = []
    const start = performance.now()
    const pending: Array<Promise<unknown>> = []
    for (let k = 0; k < rate * seconds; k++) {
      const due = start + k * 1000 / rate
      const wait = due - performance.now()
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
      const nonce = `m${k}`
      const from = k % n
      const entry = { nonce, from, at: performance.now() }
      sent.push(entry)
      // From when the peer published it, as the lab times Outpost from the sender's own stamp.
      pending.push(peers[from].api.call('POST', '/publish', { text: makeText(nonce, bytes) }).then((r: { at?: number }) => {
        entry.at = Math.max(entry.at, stampedAt(r.at, performance.now()))
      }))
    }
    await Promise.all(pending)
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const latencies: number[] = []
    for (const s of sent) {
      arrived.forEach((a, i) => {
        const at = a.get(s.nonce)
        if (i !== s.from && at != null) latencies.push(at - s.at)
      })
    }
    const summary = summarize(latencies)
    return { p50: summary.p50, p99: summary.p99, deliveries: latencies.length, expected: sent.length * (n - 1) }
  } finally {
    for (const e of streams) e.close()
    await Promise.all(peers.map(async p => { p.api.close(); await p.stop() }))
  }
}
