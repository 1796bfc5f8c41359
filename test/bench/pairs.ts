/**
 * Two-process set-ups shared by the latency and throughput benchmarks: an Outpost pair
 * (two `outpost start` processes in one group) and a raw gossipsub pair (two raw-peer.ts
 * processes on one topic), plus variants whose sender runs inside the driver process (no
 * local HTTP hop). All expose the same shape to the driver: `send(text)` on the sender, and
 * message events with arrival times from the receiver's WebSocket.
 */
import '../../node/polyfill.js'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost, OutpostNode } from '../../node/index.js'
import { Events, LOOPBACK, makeText, nonceOfText, now, sleep, startOutpost, startRaw, tempDir, waitUntil, withTimeout, type OutpostProc, type RawProc } from './lib.js'

export interface Pair {
  label: string
  senderPid: number
  receiverPid: number
  /** the send API call on the first process; resolves when acknowledged */
  send: (text: string) => Promise<void>
  /** message events on the second process: calls back with the nonce of each message and its arrival time */
  onArrival: (fn: (nonce: string, at: number) => void) => () => void
  stop: () => Promise<void>
}

/** `onArrival` for a pair: the nonce and arrival time of each message event that passes `keep`. */
export function arrivals (events: Events, keep: (event: any) => boolean = () => true): Pair['onArrival'] {
  return fn => events.on((e, at) => {
    if (e.type !== 'message' || !keep(e)) return
    const nonce = nonceOfText(e.message?.text)
    if (nonce != null) fn(nonce, at)
  })
}

/** Two `outpost start` processes in one group; `insecure`: signatures and encryption off. */
export async function outpostPair (options: { insecure?: boolean } = {}): Promise<Pair & { a: OutpostProc, b: OutpostProc, groupId: string }> {
  const env = options.insecure === true ? { OUTPOST_BENCH_INSECURE: '1' } : {}
  const [a, b] = await Promise.all([startOutpost({ env }), startOutpost({ env })])
  try {
    const { groupId, invite } = await a.api.call<{ groupId: string, invite: string }>('POST', '/v1/groups', { name: 'bench' })
    await b.api.call('POST', '/v1/groups/join', { invite })
    const events = await Events.open(b.eventsUrl)
    const pair = {
      label: options.insecure === true ? 'outpost, trust off' : 'outpost',
      a,
      b,
      groupId,
      senderPid: a.pid,
      receiverPid: b.pid,
      send: async (text: string) => { await a.api.call('POST', `/v1/groups/${groupId}/messages`, { text }) },
      onArrival: arrivals(events, e => e.groupId === groupId && e.origin === 'remote'),
      stop: async () => {
        events.close()
        a.api.close()
        b.api.close()
        await Promise.all([a.stop(), b.stop()])
      }
    }
    await waitForLivePath(pair)
    return pair
  } catch (err) {
    await Promise.all([a.stop(), b.stop()])
    throw err
  }
}

/**
 * Node A runs inside the driver process (OutpostNode with LevelDB, no local API): `send`
 * calls node.send() directly. Node B is an `outpost start` process as in outpostPair.
 * Separates the cost of the node core from the cost of the local HTTP API.
 */
export async function inProcessSenderPair (): Promise<Pair & { node: OutpostNode, b: OutpostProc, groupId: string }> {
  const node = await OutpostNode.create({ dataDir: await tempDir('outpost-bench-inproc-'), name: 'driver', listen: [LOOPBACK], mdns: false })
  await node.start()
  let b: OutpostProc | undefined
  try {
    b = await startOutpost()
    const bb = b
    const { groupId, invite } = await node.createGroup('bench')
    await b.api.call('POST', '/v1/groups/join', { invite })
    const events = await Events.open(b.eventsUrl)
    const pair = {
      label: 'outpost, in-process sender',
      node,
      b,
      groupId,
      senderPid: process.pid,
      receiverPid: b.pid,
      send: async (text: string) => { await node.send(groupId, text) },
      onArrival: arrivals(events, e => e.groupId === groupId && e.origin === 'remote'),
      stop: async () => {
        events.close()
        bb.api.close()
        await Promise.all([node.stop(), bb.stop()])
      }
    }
    await waitForLivePath(pair)
    return pair
  } catch (err) {
    await Promise.all([node.stop(), b?.stop()])
    throw err
  }
}

/**
 * The raw counterpart of inProcessSenderPair: a createHost() host in the driver publishes, a
 * raw-peer.ts process receives. With `sign`, both use gossipsub's own message signing (StrictSign).
 */
export async function rawInProcessSenderPair (options: { sign?: boolean } = {}): Promise<Pair> {
  const topic = `/bench/raw/${randomBytes(6).toString('hex')}`
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [LOOPBACK], mdns: false, signMessages: options.sign })
  await host.start()
  host.services.pubsub.subscribe(topic)
  let b: RawProc | undefined
  try {
    b = await startRaw({ topic, sign: options.sign })
    const bb = b
    await host.dial(multiaddr(b.addrs[0]), { signal: AbortSignal.timeout(5_000) })
    const events = await Events.open(b.eventsUrl)
    await waitUntil('raw subscription', () => host.services.pubsub.getSubscribers(topic).length > 0, 10_000, 20)
    const encoder = new TextEncoder()
    const pair: Pair = {
      label: 'raw gossipsub, in-process sender',
      senderPid: process.pid,
      receiverPid: b.pid,
      send: async (text: string) => { await host.services.pubsub.publish(topic, encoder.encode(JSON.stringify({ text }))) },
      onArrival: arrivals(events),
      stop: async () => {
        events.close()
        bb.api.close()
        await Promise.all([host.stop(), bb.stop()])
      }
    }
    await waitForLivePath(pair)
    return pair
  } catch (err) {
    await Promise.all([host.stop(), b?.stop()])
    throw err
  }
}

export async function rawPair (): Promise<Pair & { a: RawProc, b: RawProc }> {
  const topic = `/bench/raw/${randomBytes(6).toString('hex')}`
  const a = await startRaw({ topic })
  let b: RawProc | undefined
  try {
    b = await startRaw({ topic, dial: a.addrs[0] })
    const events = await Events.open(b.eventsUrl)
    const bb = b
    await waitUntil('raw peers to see each other\'s subscription', async () => {
      const [sa, sb] = await Promise.all([a.api.call('GET', '/status'), bb.api.call('GET', '/status')])
      return sa.subscribers > 0 && sb.subscribers > 0
    }, 10_000, 20)
    const pair = {
      label: 'raw gossipsub',
      a,
      b,
      senderPid: a.pid,
      receiverPid: b.pid,
      send: async (text: string) => { await a.api.call('POST', '/publish', { text }) },
      onArrival: arrivals(events),
      stop: async () => {
        events.close()
        a.api.close()
        bb.api.close()
        await Promise.all([a.stop(), bb.stop()])
      }
    }
    await waitForLivePath(pair)
    return pair
  } catch (err) {
    await Promise.all([a.stop(), b?.stop()])
    throw err
  }
}

/** Sends probes until one arrives within 200 ms (the gossip path, not a later sync, is live). */
export async function waitForLivePath (pair: Pair): Promise<void> {
  const deadline = Date.now() + 15_000
  for (let i = 0; Date.now() < deadline; i++) {
    const nonce = `probe${i}-${Math.random().toString(36).slice(2, 8)}`
    let off = (): void => {}
    const arrived = new Promise<void>(resolve => { off = pair.onArrival(n => { if (n === nonce) resolve() }) })
    try {
      await pair.send(makeText(nonce))
      await withTimeout('probe', arrived, 200)
      return
    } catch {
      await sleep(50)
    } finally {
      off()
    }
  }
  throw new Error(`${pair.label}: no message got through within 15 s`)
}

/** Tracks arrivals by nonce so that a sender can await "this message arrived". */
export class ArrivalTracker {
  private readonly arrived = new Map<string, number>()
  private readonly waiters = new Map<string, (at: number) => void>()
  private readonly off: () => void

  constructor (pair: Pair) {
    this.off = pair.onArrival((nonce, at) => {
      if (this.arrived.has(nonce)) return
      this.arrived.set(nonce, at)
      const w = this.waiters.get(nonce)
      if (w != null) { this.waiters.delete(nonce); w(at) }
    })
  }

  get count (): number { return this.arrived.size }
  at (nonce: string): number | undefined { return this.arrived.get(nonce) }

  /** Resolves with the arrival time, or null after `timeoutMs`. */
  async wait (nonce: string, timeoutMs: number): Promise<number | null> {
    const seen = this.arrived.get(nonce)
    if (seen != null) return seen
    return await new Promise(resolve => {
      const timer = setTimeout(() => { this.waiters.delete(nonce); resolve(null) }, timeoutMs)
      this.waiters.set(nonce, at => { clearTimeout(timer); resolve(at) })
    })
  }

  close (): void { this.off() }
}

export { now }
