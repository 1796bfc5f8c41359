/**
 * Partition heal, in one process: two OutpostNodes (LevelDB in temporary directories,
 * loopback TCP, no mDNS) share a connection gater that the benchmark controls.
 *
 *  1. Both nodes are in one group and gossip works.
 *  2. Partition: the gater denies the pair, every connection between them is closed.
 *  3. Each side writes 1,000 messages of 1 KB (each `send` acknowledged on disk).
 *  4. Quiet period (default 3.5 s) so that gossipsub's IHAVE window (3 heartbeats of 1 s)
 *     has passed: the heal is measured through the sync protocol, as after any partition
 *     longer than a few seconds.
 *  5. Ideal "missing update bytes" measured just before the heal: the sum of the sizes of
 *     the individual Yjs updates each side wrote during the partition (what the other side
 *     lacks, as gossip would have carried them); also reported: the size of the two state
 *     diffs Y.encodeStateAsUpdate(doc, otherStateVector).
 *  6. Heal: the gater allows again and A dials B. Measured: heal -> connection open, and
 *     heal -> both histories hold the same ids (all 2,000 plus the earlier probes).
 *  7. Bytes: Yjs update bytes of sync frames (node.sync.stats, both directions) and every
 *     byte written on the TCP connections between the two nodes (counted at the socket)
 *     from heal until one second after convergence.
 *
 * Both nodes share one event loop here (the in-process API lets the gater and the
 * counters be controlled); on a real pair the two sides run in parallel.
 */
import '../../node/polyfill.js'
import net from 'node:net'
import * as Y from 'yjs'
import type { PeerId } from '@libp2p/interface'
import { OutpostNode } from '../../node/index.js'
import { LOOPBACK, log, makeText, median, now, round, row, sleep, tempDir, waitUntil, withTimeout, type BenchResult } from './lib.js'

export interface PartitionOptions {
  perSide?: number
  rounds?: number
  quietMs?: number
}

interface Cut { on: boolean, peers: Set<string> }

/** Counts bytes written by sockets whose local or remote port is one of `ports`. */
function countSocketWrites (ports: Set<number>): { stop: () => number } {
  const proto = net.Socket.prototype as unknown as { write: (...args: unknown[]) => boolean }
  const original = proto.write
  let bytes = 0
  proto.write = function (this: net.Socket, ...args: unknown[]) {
    const chunk = args[0]
    if (ports.has(this.localPort ?? -1) || ports.has(this.remotePort ?? -1)) {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength
    }
    return original.apply(this, args)
  }
  return { stop: () => { proto.write = original; return bytes } }
}

const portOf = (addrs: string[]): number => Number(/\/tcp\/(\d+)/.exec(addrs[0])?.[1])

async function sendMany (node: OutpostNode, groupId: string, tag: string, count: number, concurrency: number): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++
      await node.send(groupId, makeText(`${tag}-${i}`))
    }
  }))
}

interface RoundResult {
  connectMs: number
  convergeMs: number
  convergeAfterConnectMs: number
  idealIndividualBytes: number
  idealDiffBytes: number
  syncUpdateBytes: number
  syncUpdateBytesReceived: number
  wireBytes: number
  syncExchanges: number
  gossipReceivedDuringHeal: number
  messagesEach: number
  writeSeconds: number
}

async function oneRound (perSide: number, quietMs: number, explicitDial = true): Promise<RoundResult> {
  const cut: Cut = { on: false, peers: new Set() }
  const denied = (peer: PeerId): boolean => cut.on && cut.peers.has(peer.toString())
  // Own properties, not a class: node/host.ts spreads the gater object into libp2p's options.
  const connectionGater = {
    denyDialPeer: denied,
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied
  }
  const make = async (name: string): Promise<OutpostNode> => {
    const node = await OutpostNode.create({ dataDir: await tempDir(`outpost-bench-${name}-`), name, listen: [LOOPBACK], mdns: false, connectionGater })
    await node.start()
    return node
  }
  const a = await make('alice')
  const b = await make('bob')
  try {
    cut.peers.add(a.peerId)
    cut.peers.add(b.peerId)
    const { groupId, invite } = await a.createGroup('heal')
    await b.joinGroup(invite)
    const topic = a.groups.require(groupId).topic
    await waitUntil('gossip subscriptions', () => a.host.services.pubsub.getSubscribers(topic).length > 0 && b.host.services.pubsub.getSubscribers(topic).length > 0, 10_000)
    const probe = await a.send(groupId, makeText('probe'))
    await waitUntil('probe at B', () => b.history(groupId).some(m => m.id === probe.id), 10_000)

    // Partition.
    cut.on = true
    await Promise.all([a.host.hangUp(b.host.peerId), b.host.hangUp(a.host.peerId)])
    await waitUntil('connections to close', () => a.host.getConnections(b.host.peerId).length === 0 && b.host.getConnections(a.host.peerId).length === 0, 10_000)

    const docA = a.groups.require(groupId).doc.doc
    const docB = b.groups.require(groupId).doc.doc
    let individual = 0
    const countLocal = (update: Uint8Array, origin: unknown): void => { if (origin === 'local') individual += update.length }
    docA.on('update', countLocal)
    docB.on('update', countLocal)
    const tw = now()
    await withTimeout('writes during the partition', Promise.all([sendMany(a, groupId, 'pa', perSide, 16), sendMany(b, groupId, 'pb', perSide, 16)]), 60_000)
    const writeSeconds = (now() - tw) / 1000
    docA.off('update', countLocal)
    docB.off('update', countLocal)
    await sleep(quietMs)

    const expected = a.history(groupId).length + perSide
    if (b.history(groupId).length + perSide !== expected) throw new Error('histories differ before the partition')
    const idealDiff = Y.encodeStateAsUpdate(docA, Y.encodeStateVector(docB)).length + Y.encodeStateAsUpdate(docB, Y.encodeStateVector(docA)).length
    const s0 = { a: { ...a.sync.stats }, b: { ...b.sync.stats }, ga: a.gossip.stats.received, gb: b.gossip.stats.received }
    const wire = countSocketWrites(new Set([portOf(a.addrs), portOf(b.addrs)]))
    let wireBytes = NaN

    // Heal.
    let connectedAt = NaN
    const onConnect = (evt: CustomEvent<PeerId>): void => { if (evt.detail.equals(b.host.peerId) && Number.isNaN(connectedAt)) connectedAt = now() }
    a.host.addEventListener('peer:connect', onConnect)
    const t0 = now()
    cut.on = false
    // Explicit dial: the reconnection itself is not what is measured. Without it, the nodes'
    // redialer reconnects within its backoff (at most 3 s, with jitter).
    if (explicitDial) a.host.dial(b.host.getMultiaddrs(), { signal: AbortSignal.timeout(5_000) }).catch(() => {})
    const docSize = (n: OutpostNode): number => n.groups.require(groupId).doc.size
    let convergedAt = NaN
    try {
      await waitUntil('convergence', () => docSize(a) === expected && docSize(b) === expected, 20_000, 1)
      convergedAt = now()
      const ids = (n: OutpostNode): string => n.history(groupId).map(m => m.id).join(',')
      if (ids(a) !== ids(b)) throw new Error('histories hold the same number of messages but not the same ids/order')
      // Let trailing exchanges (the other side's, a queued re-run) finish and be counted.
      await sleep(1_000)
    } finally {
      a.host.removeEventListener('peer:connect', onConnect)
      wireBytes = wire.stop()
    }
    const sent = (a.sync.stats.updateBytesSent - s0.a.updateBytesSent) + (b.sync.stats.updateBytesSent - s0.b.updateBytesSent)
    const received = (a.sync.stats.updateBytesReceived - s0.a.updateBytesReceived) + (b.sync.stats.updateBytesReceived - s0.b.updateBytesReceived)
    return {
      connectMs: connectedAt - t0,
      convergeMs: convergedAt - t0,
      convergeAfterConnectMs: convergedAt - connectedAt,
      idealIndividualBytes: individual,
      idealDiffBytes: idealDiff,
      syncUpdateBytes: sent,
      syncUpdateBytesReceived: received,
      wireBytes,
      syncExchanges: (a.sync.stats.exchanges - s0.a.exchanges) + (b.sync.stats.exchanges - s0.b.exchanges),
      gossipReceivedDuringHeal: (a.gossip.stats.received - s0.ga) + (b.gossip.stats.received - s0.gb),
      messagesEach: expected,
      writeSeconds: round(writeSeconds)
    }
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

export async function partitionHealBench (opts: PartitionOptions = {}): Promise<BenchResult> {
  const perSide = opts.perSide ?? 1_000
  const rounds = opts.rounds ?? 3
  const quietMs = opts.quietMs ?? 3_500
  const results: RoundResult[] = []
  for (let i = 0; i < rounds; i++) {
    log(`partition heal: round ${i + 1}/${rounds} (${perSide} messages per side)`)
    const r = await oneRound(perSide, quietMs)
    log(`partition heal: connect ${r.connectMs.toFixed(1)} ms, converged ${r.convergeMs.toFixed(1)} ms, sync bytes ${r.syncUpdateBytes} / ideal ${r.idealIndividualBytes}`)
    results.push(r)
  }
  log('partition heal: one more round, reconnected by the nodes\' redialer (no explicit dial)')
  const natural = await oneRound(perSide, quietMs, false)
  log(`partition heal (redialer): connect ${natural.connectMs.toFixed(1)} ms, converged ${natural.convergeMs.toFixed(1)} ms`)
  const med = (f: (r: RoundResult) => number): number => median(results.map(f))
  const ideal = med(r => r.idealIndividualBytes)
  return {
    name: 'partition-heal',
    rows: [
      row({ metric: `heal: reconnection -> convergence (${perSide}+${perSide} msgs)`, value: med(r => r.convergeMs), unit: 'ms', target: { kind: 'max', value: 300 }, baseline: { value: med(r => r.connectMs), label: 'reconnect only (dial -> connected)' } }),
      row({ metric: 'heal: connected -> convergence', value: med(r => r.convergeAfterConnectMs), unit: 'ms' }),
      row({ metric: 'heal: sync update bytes / missing update bytes', value: med(r => r.syncUpdateBytes / r.idealIndividualBytes), unit: 'x', target: { kind: 'max', value: 1.2 } }),
      row({ metric: 'heal: sync update bytes', value: med(r => r.syncUpdateBytes), unit: 'B', baseline: { value: ideal, label: 'sum of the missing updates' } }),
      row({ metric: 'heal: all TCP bytes A<->B / missing update bytes (info)', value: med(r => r.wireBytes / r.idealIndividualBytes), unit: 'x' }),
      row({ metric: 'heal without explicit dial: heal -> convergence (info)', value: natural.convergeMs, unit: 'ms', baseline: { value: natural.connectMs, label: 'redialer reconnect' } })
    ],
    details: { perSide, rounds, quietMs, messageBytes: 1024, explicitDialRounds: results.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 3)]))), redialerRound: Object.fromEntries(Object.entries(natural).map(([k, v]) => [k, round(v, 3)])) }
  }
}
