import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import * as lp from 'it-length-prefixed'
import { randomBytes } from 'node:crypto'
import type { GroupId } from '../../crdt/index.js'
import {
  createHost, decodeGossip, encodeGossip, encodeSyncFrame, FLOOD_MAX_TRACKED_PEERS, FLOOD_STRIKES, GOSSIP_SCORE_THRESHOLDS, SYNC_PROTOCOL,
  type Host, type MessageEvent, type OutpostNode, type OutpostNodeInit, type SyncFrame
} from '../../node/index.js'
import { LOOPBACK_LISTEN, startNode, waitFor } from '../helpers/nodes.js'

/*
 * One hostile peer H against two honest nodes A and B that share a group, in one process
 * over loopback. Every loop is bounded in count and in time; nothing is asserted on timing.
 */
const SEED = 4242
const FLOOD_MS = 10_000

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** What the flood is made of: garbage bytes, and envelopes naming the group's key that do not open with it. */
function garbageGossip (groupId: GroupId, keyId: string, count: number): Uint8Array[] {
  const payload = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 512 }),
    fc.uint8Array({ minLength: 1, maxLength: 512 }).map(sealed => encodeGossip({ type: 'update', groupId, keyId, sealed }))
  )
  // Distinct bytes, so that gossipsub's seen cache does not absorb them before our validator.
  return fc.sample(payload, { seed: SEED, numRuns: count }).map((bytes, i) => Uint8Array.from([...bytes, i & 0xff, i >> 8]))
}

/** Random sync frames: garbage, and valid frames in an order or for groups that make no sense. */
function randomSyncFrames (groupId: GroupId, count: number): Uint8Array[][] {
  const frame: fc.Arbitrary<Uint8Array> = fc.oneof(
    fc.uint8Array({ maxLength: 256 }),
    fc.oneof(
      fc.record({ type: fc.constant('update' as const), groupId: fc.constant(groupId), key: fc.constant(''), final: fc.boolean(), update: fc.uint8Array({ maxLength: 256 }) }, { noNullPrototype: true }),
      fc.constant({ type: 'done' as const })
    ).map(f => encodeSyncFrame(f as SyncFrame))
  )
  return fc.sample(fc.array(frame, { minLength: 1, maxLength: 4 }), { seed: SEED, numRuns: count })
}

/** A well-formed envelope sealed with a key nobody in the group holds (so not invalid: unreadable). */
function wellFormedUnreadable (groupId: GroupId, i: number): Uint8Array {
  return encodeGossip({ type: 'update', groupId, keyId: randomBytes(12).toString('hex'), sealed: Uint8Array.from(randomBytes(64 + (i % 64))) })
}

function keyOf (node: OutpostNode, groupId: GroupId): string {
  return node.groups.require(groupId).doc.currentKey()?.keyId ?? ''
}

function connected (node: OutpostNode, peer: Host): boolean {
  return node.host.getConnections(peer.peerId).length > 0
}

describe('a flood from one peer: the node stays up and keeps serving the others', function () {
  this.timeout(60_000)
  let a: OutpostNode
  let b: OutpostNode
  let h: Host
  let groupId: GroupId
  let topic: string

  async function setUp (aInit: Partial<OutpostNodeInit> = {}): Promise<void> {
    a = await startNode({ name: 'a', ...aInit })
    b = await startNode({ name: 'b' })
    const created = await a.createGroup('flooded')
    groupId = created.groupId
    await b.joinGroup(created.invite)
    topic = a.listGroups()[0].topic
    await waitFor('a and b on the topic', () => a.host.services.pubsub.getSubscribers(topic).length > 0 && b.host.services.pubsub.getSubscribers(topic).length > 0)
    h = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: LOOPBACK_LISTEN, mdns: false })
    await h.start()
    await h.dial(a.host.getMultiaddrs())
    await waitFor('h to see a on the topic', () => h.services.pubsub.getSubscribers(topic).some(p => p.equals(a.host.peerId)))
  }

  afterEach(async () => {
    await Promise.all([a?.stop(), b?.stop(), h?.stop()])
  })

  /** A sends `count` messages, one after the other; resolves with their ids. */
  async function sendFromA (count: number, label: string): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      ids.push((await a.send(groupId, `${label} ${i}`)).id)
      await sleep(10)
    }
    return ids
  }

  /** What a user checks: H is gone, B is still connected, and B has everything A sent. */
  async function assertServingOthers (ids: string[]): Promise<void> {
    await waitFor('every message from a at b', () => ids.every(id => b.history(groupId).some(m => m.id === id)))
    assert.ok(a.running && b.running)
    assert.equal(connected(a, h), false, 'h is no longer connected to a')
    const peers = a.peers()
    assert.equal(peers.find(p => p.peerId === b.peerId)?.connected, true, "a's peers still show b connected")
    assert.notEqual(peers.find(p => p.peerId === h.peerId.toString())?.connected, true)
    // Bounded memory, in the guard's own terms: state only for connected peers, capped.
    const guard = a.host.services.floodGuard
    assert.ok(guard.trackedPeers <= 1 && guard.trackedPeers <= FLOOD_MAX_TRACKED_PEERS, `${guard.trackedPeers} peers tracked`)
    // H is refused for a while: it cannot come back at once (its side may finish the
    // handshake before A's gater drops the connection, but nothing gets through).
    await assert.rejects(async () => {
      const connection = await h.dial(a.host.getMultiaddrs())
      assert.equal(connection.remotePeer.toString(), a.peerId)
      await h.dialProtocol(a.host.peerId, SYNC_PROTOCOL)
    })
  }

  it('garbage and invalid envelopes as fast as H can publish: H is disconnected, A keeps delivering to B', async () => {
    await setUp()
    const during = sendFromA(20, 'during')
    const deadline = Date.now() + FLOOD_MS
    let published = 0
    for (const data of garbageGossip(groupId, keyOf(a, groupId), 3000)) {
      if (!connected(a, h) || Date.now() > deadline) break
      await h.services.pubsub.publish(topic, data).then(() => { published++ }, () => {})
      // Let the event loop turn now and then, or the whole flood is queued before A reads any.
      if (published % 100 === 0) await sleep(0)
    }
    await waitFor('a to disconnect h', () => !connected(a, h))
    const ids = [...await during, ...await sendFromA(5, 'after')]
    await assertServingOthers(ids)
    const guard = a.host.services.floodGuard
    assert.ok(guard.stats.disconnected >= 1 && guard.stats.rejected >= 1, JSON.stringify(guard.stats))
    // Once H is refused, what it still sends is dropped unread.
    assert.ok(a.gossip.stats.rejected <= FLOOD_STRIKES, `${a.gossip.stats.rejected} of ${published} decoded and rejected`)
  })

  it('a trickle of invalid envelopes drives the gossipsub score below the graylist threshold: H is disconnected', async () => {
    await setUp()
    // Far fewer than the flood guard's strikes: this is gossipsub's score at work.
    for (const data of garbageGossip(groupId, keyOf(a, groupId), 20)) await h.services.pubsub.publish(topic, data).catch(() => {})
    await waitFor('a to disconnect h', () => !connected(a, h))
    const score = (a.host.services.pubsub as unknown as { getScore: (id: string) => number }).getScore(h.peerId.toString())
    assert.ok(score < GOSSIP_SCORE_THRESHOLDS.graylistThreshold, `score ${score}`)
    await assertServingOthers(await sendFromA(5, 'after'))
  })

  it('well-formed envelopes over the gossip budget are throttled, then H is disconnected', async () => {
    // Small budgets so that a test-sized flood meets them; the defaults are in constants.ts.
    await setUp({ floodGuard: { gossipPerSecond: 20, gossipBurst: 50, strikes: 50 } })
    const deadline = Date.now() + FLOOD_MS
    for (let i = 0; i < 1000 && connected(a, h) && Date.now() < deadline; i++) {
      await h.services.pubsub.publish(topic, wellFormedUnreadable(groupId, i)).catch(() => {})
    }
    await waitFor('a to disconnect h', () => !connected(a, h))
    const guard = a.host.services.floodGuard
    assert.ok(guard.stats.throttled >= 50, JSON.stringify(guard.stats))
    assert.equal(a.gossip.stats.rejected, 0, 'nothing was invalid, only too much')
    assert.ok(a.gossip.stats.unreadable < 1000, 'throttled envelopes were dropped before they were opened')
    await assertServingOthers(await sendFromA(5, 'after'))
  })

  it('many sync streams with random frames: H is throttled and disconnected, B still syncs', async () => {
    await setUp()
    const during = sendFromA(10, 'during')
    const deadline = Date.now() + FLOOD_MS
    let opened = 0
    for (const frames of randomSyncFrames(groupId, 300)) {
      if (!connected(a, h) || Date.now() > deadline) break
      try {
        const stream = await h.dialProtocol(a.host.peerId, SYNC_PROTOCOL)
        opened++
        for (const frame of frames) stream.send(lp.encode.single(frame).subarray())
        // Wait (bounded) for A to end the exchange, so streams do not pile up.
        await Promise.race([(async () => { for await (const _ of stream) { /* discard */ } })(), sleep(1000)]).catch(() => {})
        stream.abort(new Error('done'))
      } catch { /* refused or reset by a: expected */ }
    }
    await waitFor('a to disconnect h', () => !connected(a, h))
    assert.ok(opened > 0 && opened < 300, `${opened} streams opened`)
    assert.ok(a.sync.stats.framesRejected >= 1)
    await assertServingOthers([...await during, ...await sendFromA(5, 'after')])
    // Sync with B still works after the flood.
    const before = b.sync.stats.exchanges + a.sync.stats.exchanges
    await a.sync.syncWith(b.host.peerId)
    assert.ok(b.sync.stats.exchanges + a.sync.stats.exchanges > before)
  })
})

/** `n` as a varint padded to `extra` more bytes than needed (a decoder reads the same number). */
function paddedVarUint (n: number, extra: number): number[] {
  const out: number[] = []
  do {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  } while (n > 0)
  for (let i = 0; i < extra; i++) out.push(0x80)
  out.push((out.pop() as number) & 0x7f)
  return out
}

/** The same envelope in other bytes: its length prefixes padded. */
function reencode (data: Uint8Array, padGroup: number, padUpdate: number): Uint8Array {
  const { groupId, keyId, sealed } = decodeGossip(data)
  const group = new TextEncoder().encode(groupId)
  const key = new TextEncoder().encode(keyId)
  return Uint8Array.from([data[0], data[1], ...paddedVarUint(group.length, padGroup), ...group, ...paddedVarUint(key.length, 0), ...key, ...paddedVarUint(sealed.length, padUpdate), ...sealed])
}

describe('replayed gossip', function () {
  this.timeout(60_000)

  it('replaying a captured valid envelope many times changes no history and emits no message event twice', async () => {
    const a = await startNode({ name: 'a' })
    const b = await startNode({ name: 'b' })
    const capturer = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: LOOPBACK_LISTEN, mdns: false })
    const replayer = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: LOOPBACK_LISTEN, mdns: false })
    try {
      await Promise.all([capturer.start(), replayer.start()])
      const { groupId, invite } = await a.createGroup('replayed')
      await b.joinGroup(invite)
      const topic = a.listGroups()[0].topic
      await waitFor('a and b on the topic', () => a.host.services.pubsub.getSubscribers(topic).length > 0 && b.host.services.pubsub.getSubscribers(topic).length > 0)
      // Capture the envelope of one message as it goes by.
      capturer.services.pubsub.subscribe(topic)
      await capturer.dial(a.host.getMultiaddrs())
      await waitFor('the capturer in the mesh', () => a.host.services.pubsub.getSubscribers(topic).some(p => p.equals(capturer.peerId)))
      const captured = new Promise<Uint8Array>(resolve => {
        capturer.services.pubsub.addEventListener('message', evt => { resolve(evt.detail.data) }, { once: true })
      })
      const events: MessageEvent[] = []
      b.on('message', (evt: MessageEvent) => { events.push(evt) })
      const sent = await a.send(groupId, 'say it once')
      const envelope = await captured
      await waitFor('b to have the message', () => b.history(groupId).length === 1)
      const history = JSON.stringify(b.history(groupId))
      assert.equal(events.length, 1)

      // A peer that never saw it replays it to b. The same bytes are caught by gossipsub's seen
      // cache; the same envelope in other bytes reaches the validator, and Yjs, which ignores
      // an update it has already applied.
      await replayer.dial(b.host.getMultiaddrs())
      await waitFor('the replayer to see b on the topic', () => replayer.services.pubsub.getSubscribers(topic).length > 0)
      const receivedBefore = b.gossip.stats.received
      let variants = 0
      for (let i = 0; i < 5; i++) await replayer.services.pubsub.publish(topic, envelope).catch(() => { /* its own seen cache */ })
      for (let g = 0; g < 6; g++) {
        for (let u = 0; u < 6; u++) {
          if (g + u === 0) continue
          await replayer.services.pubsub.publish(topic, reencode(envelope, g, u))
          variants++
        }
      }
      await waitFor(`b to validate the ${variants} re-encoded replays`, () => b.gossip.stats.received >= receivedBefore + variants)
      assert.equal(JSON.stringify(b.history(groupId)), history, 'history unchanged')
      assert.deepEqual(events.map(e => e.message.id), [sent.id], 'one message event, not one per replay')
      assert.equal(b.gossip.stats.rejected, 0)
      assert.equal(b.host.services.floodGuard.stats.disconnected, 0, 'replays of valid messages are not punished')
    } finally {
      await Promise.all([a.stop(), b.stop(), capturer.stop(), replayer.stop()])
    }
  })
})
