import assert from 'node:assert/strict'
import { TypedEventEmitter, type Libp2pEvents, type PeerId } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DenyList, FloodGuard, TokenBucket, type FloodGuardInit } from '../../node/index.js'
import { refuseDenied } from '../../node/flood-guard.js'

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A guard on a clock the test moves by hand, with the connection manager recorded. */
function guardWith (init: FloodGuardInit = {}, scores = new Map<string, number>(), peers: PeerId[] = []): {
  guard: FloodGuard
  events: TypedEventEmitter<Libp2pEvents>
  closed: string[]
  heartbeat: () => void
  tick: (ms: number) => void
} {
  let now = 0
  const closed: string[] = []
  const events = new TypedEventEmitter<Libp2pEvents>()
  let onHeartbeat = (): void => {}
  const guard = new FloodGuard({
    connectionManager: { closeConnections: async (peer) => { closed.push(peer.toString()) } },
    events,
    pubsub: {
      getPeers: () => peers,
      getScore: id => scores.get(id) ?? 0,
      addEventListener: (_type, listener) => { onHeartbeat = listener },
      removeEventListener: () => { onHeartbeat = () => {} }
    }
  }, { now: () => now, ...init })
  guard.start()
  return { guard, events, closed, heartbeat: () => { onHeartbeat() }, tick: ms => { now += ms } }
}

describe('flood guard', () => {
  it('a token bucket allows its burst at once, then its rate', () => {
    const bucket = new TokenBucket(10, 20, 0)
    let taken = 0
    while (bucket.take(1, 0)) taken++
    assert.equal(taken, 20)
    assert.equal(bucket.take(1, 50), false, 'half a token after 50 ms')
    assert.equal(bucket.take(1, 100), true)
    assert.equal(bucket.take(5, 10_000), true, 'refills up to the burst')
  })

  it('throttles gossip over the message or byte budget, and admits it again once refilled', async () => {
    const peer = await newPeer()
    const { guard, tick, closed } = guardWith({ gossipPerSecond: 100, gossipBurst: 10, gossipBytesPerSecond: 1000, gossipBytesBurst: 1000 })
    for (let i = 0; i < 10; i++) assert.ok(guard.admitGossip(peer, 10))
    assert.equal(guard.admitGossip(peer, 10), false)
    tick(1000)
    assert.ok(guard.admitGossip(peer, 10))
    assert.equal(guard.admitGossip(peer, 5000), false, 'one message over the byte burst')
    assert.equal(guard.stats.throttled, 2)
    assert.deepEqual(closed, [], 'two strikes do not disconnect')
  })

  it('disconnects and refuses a peer that keeps going over budget or sending invalid input', async () => {
    const flooder = await newPeer()
    const liar = await newPeer()
    const honest = await newPeer()
    const { guard, tick, closed } = guardWith({ gossipPerSecond: 1, gossipBurst: 1, strikes: 5, strikeWindowMs: 1000, denyMs: 60_000 })
    for (let i = 0; i < 10; i++) guard.admitGossip(flooder, 1)
    for (let i = 0; i < 5; i++) guard.rejected(liar)
    // Strikes spread over longer than the window are forgiven.
    for (let i = 0; i < 10; i++) { guard.rejected(honest); tick(300) }
    assert.deepEqual(closed.sort(), [flooder.toString(), liar.toString()].sort())
    assert.equal(guard.stats.disconnected, 2)
    assert.ok(guard.denyList.has(flooder) && guard.denyList.has(liar) && !guard.denyList.has(honest))
    assert.equal(guard.admitGossip(flooder, 1), false, 'a refused peer is not admitted')
    assert.equal(guard.admitStream(flooder), false)
    tick(60_000)
    assert.equal(guard.denyList.has(flooder), false, 'refused for a while, not for ever')
    assert.ok(guard.admitGossip(flooder, 1))
  })

  it('throttles inbound sync streams to their budget', async () => {
    const peer = await newPeer()
    const { guard, tick } = guardWith({ streamsPerSecond: 1, streamsBurst: 3 })
    assert.deepEqual([1, 2, 3, 4].map(() => guard.admitStream(peer)), [true, true, true, false])
    tick(1000)
    assert.ok(guard.admitStream(peer))
  })

  it('disconnects a peer whose gossipsub score falls below the graylist threshold', async () => {
    const bad = await newPeer()
    const good = await newPeer()
    const scores = new Map([[bad.toString(), -500], [good.toString(), 3]])
    const { guard, closed, heartbeat } = guardWith({ graylistThreshold: -80 }, scores, [bad, good])
    heartbeat()
    heartbeat()
    assert.deepEqual(closed, [bad.toString()], 'once, and only the graylisted peer')
    assert.equal(guard.stats.disconnected, 1)
  })

  it('keeps bounded state: dropped on disconnect, capped at maxPeers', async () => {
    const peers = await Promise.all(Array.from({ length: 12 }, newPeer))
    const { guard, events } = guardWith({ maxPeers: 8 })
    for (const peer of peers) guard.admitGossip(peer, 1)
    assert.equal(guard.trackedPeers, 8)
    events.safeDispatchEvent('peer:disconnect', { detail: peers[11] })
    assert.equal(guard.trackedPeers, 7)
    guard.stop()
    assert.equal(guard.trackedPeers, 0)
  })

  it('a deny list is capped, and the gater refuses dials and inbound connections of denied peers only', async () => {
    const [a, b, c] = await Promise.all([newPeer(), newPeer(), newPeer()])
    const now = 0
    const denied = new DenyList(2, () => now)
    denied.deny(a, 10)
    denied.deny(b, 1000)
    denied.deny(c, 1000)
    assert.equal(denied.size, 2)
    assert.equal(denied.has(a), false, 'the entry expiring first made room')
    let asked = 0
    const gater = refuseDenied({ denyDialPeer: () => { asked++; return false } }, denied)
    assert.equal(await gater.denyDialPeer?.(b), true)
    assert.equal(await gater.denyDialPeer?.(a), false)
    assert.equal(asked, 1, 'the wrapped gater still decides for others')
    assert.equal(await gater.denyInboundEncryptedConnection?.(c, {} as never), true)
    assert.equal(await gater.denyInboundEncryptedConnection?.(a, {} as never), false)
  })
})
