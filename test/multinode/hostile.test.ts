import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import * as lp from 'it-length-prefixed'
import { createHost, decodeFileFrame, encodeFileFrame, encodeGossip, encodeSyncFrame, FILE_PROTOCOL, SYNC_PROTOCOL, type Host, type OutpostNode } from '../../node/index.js'
import { LOOPBACK_LISTEN, startNode, waitFor } from '../helpers/nodes.js'

/** Sends raw length-prefixed frames on a fresh sync stream and waits for the node to end it. */
async function sendRawSync (attacker: Host, target: OutpostNode, frames: Uint8Array[]): Promise<void> {
  const stream = await attacker.dialProtocol(target.host.peerId, SYNC_PROTOCOL)
  for (const frame of frames) stream.send(lp.encode.single(frame).subarray())
  // Drain whatever the node sends until it gives up on us.
  try {
    for await (const _ of stream) { /* discard */ }
  } catch { /* reset by the node: expected */ }
}

describe('hostile input from a peer', function () {
  this.timeout(30_000)
  let node: OutpostNode
  let friend: OutpostNode
  let attacker: Host

  beforeEach(async () => {
    node = await startNode({ name: 'target' })
    friend = await startNode({ name: 'friend' })
    attacker = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: LOOPBACK_LISTEN, mdns: false })
    await attacker.start()
  })

  afterEach(async () => {
    await Promise.all([node.stop(), friend.stop(), attacker.stop()])
  })

  it('drops malformed and oversized sync frames, logs them, and keeps serving honest peers', async () => {
    const { groupId, invite } = await node.createGroup('target group')
    await node.send(groupId, 'still here')
    await attacker.dial(node.host.getMultiaddrs())
    const rejectedBefore = node.sync.stats.framesRejected
    await sendRawSync(attacker, node, [Uint8Array.of(9, 9, 9)]) // bad version
    await sendRawSync(attacker, node, [Uint8Array.of(1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f)]) // absurd group count
    await sendRawSync(attacker, node, [encodeSyncFrame({ type: 'done' })]) // done before hello
    // A WANT its HELLO did not announce (a request is deferred in HELLO, then made once).
    await sendRawSync(attacker, node, [encodeSyncFrame({ type: 'hello', name: '', groups: [] }), encodeSyncFrame({ type: 'want', groupId, stateVector: Uint8Array.of(0), key: '' })])
    // A length prefix announcing 100 MB: refused before anything is buffered.
    const stream = await attacker.dialProtocol(node.host.peerId, SYNC_PROTOCOL)
    stream.send(Uint8Array.of(0x80, 0x80, 0x80, 0x32))
    await waitFor('the node to reject five bad streams', () => node.sync.stats.framesRejected >= rejectedBefore + 5)
    // Gaps seen in gossip from this peer no longer trigger syncs with it for a while.
    const failures = node.sync.stats.failures
    node.sync.syncSoon(attacker.peerId)
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal(node.sync.stats.failures, failures)

    await friend.joinGroup(invite)
    await waitFor('an honest peer to sync', () => friend.history(groupId).length === 1)
    assert.equal(friend.history(groupId)[0].text, 'still here')
    assert.ok(node.running)
  })

  it('serves no file to a stranger, drops malformed file frames, and keeps serving members', async () => {
    const { groupId, invite } = await node.createGroup('files')
    const { fileId } = await node.sendFile(groupId, [Buffer.from('members only')], { name: 'secret.txt' })
    await attacker.dial(node.host.getMultiaddrs())
    // A stranger that knows the id is told nothing is here.
    const asked = await attacker.dialProtocol(node.host.peerId, FILE_PROTOCOL)
    asked.send(lp.encode.single(encodeFileFrame({ type: 'query', fileId })).subarray())
    const answers: Uint8Array[] = []
    for await (const frame of lp.decode(asked)) { answers.push(frame.subarray()); break }
    assert.deepEqual(decodeFileFrame(answers[0]), { type: 'none', fileId })
    await asked.close()
    assert.equal(node.files.server.stats.refused, 1)
    // Garbage, and a chunk asked for before any file: dropped and logged.
    for (const frame of [Uint8Array.of(7, 7, 7), encodeFileFrame({ type: 'get', index: 0 })]) {
      const stream = await attacker.dialProtocol(node.host.peerId, FILE_PROTOCOL)
      stream.send(lp.encode.single(frame).subarray())
      try { for await (const _ of stream) { /* discard */ } } catch { /* reset by the node: expected */ }
    }
    await waitFor('two bad file streams rejected', () => node.files.server.stats.framesRejected === 2)
    friend.discovery.addPeer(node.peerId, node.addrs)
    assert.equal((await friend.joinGroup(invite)).admitted, true)
    await waitFor('the message on friend', () => friend.history(groupId).some(m => m.file?.id === fileId))
    friend.files.fetch(fileId)
    await waitFor('friend to fetch it', () => friend.files.status(fileId).state === 'complete')
  })

  it('rejects garbage gossip on a group topic and keeps applying good gossip', async () => {
    const { groupId, invite } = await node.createGroup('gossip group')
    await friend.joinGroup(invite)
    const topic = node.listGroups()[0].topic
    attacker.services.pubsub.subscribe(topic)
    await attacker.dial(node.host.getMultiaddrs())
    await waitFor('the attacker to see the node on the topic', () => attacker.services.pubsub.getSubscribers(topic).length > 0)
    await attacker.services.pubsub.publish(topic, Uint8Array.of(1, 2, 3, 4))
    await attacker.services.pubsub.publish(topic, encodeGossip({ type: 'update', groupId, keyId: node.groups.require(groupId).doc.currentKey()?.keyId ?? '', sealed: Uint8Array.of(0xff, 0xff, 0xff) }))
    await waitFor('both bad envelopes to be rejected', () => node.gossip.stats.rejected >= 2)

    await waitFor('gossip mesh with the friend', () => friend.host.services.pubsub.getSubscribers(topic).length > 0)
    const sent = await friend.send(groupId, 'after the garbage')
    await waitFor('good gossip to arrive', () => node.history(groupId).some(m => m.id === sent.id))
  })
})

describe('a peer that hangs up in the middle of a sync exchange', function () {
  this.timeout(30_000)

  it('never takes the node down (both directions of the exchange fail, both are handled)', async () => {
    const node = await startNode({ name: 'target' })
    const attacker = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: LOOPBACK_LISTEN, mdns: false })
    await attacker.start()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    try {
      await node.createGroup('busy')
      await attacker.dial(node.host.getMultiaddrs())
      // Fewer streams than the flood guard's burst, so each one reaches the exchange.
      for (let i = 0; i < 16; i++) {
        const stream = await attacker.dialProtocol(node.host.peerId, SYNC_PROTOCOL)
        try {
          stream.send(lp.encode.single(encodeSyncFrame({ type: 'hello', name: 'gone', groups: [] })).subarray())
          // Hang up at once, or after the node has started answering.
          if (i % 2 === 1) await new Promise(resolve => setTimeout(resolve, 1))
        } catch { /* the node may have ended it first */ }
        stream.abort(new Error('hung up'))
      }
      await new Promise(resolve => setTimeout(resolve, 500))
      assert.deepEqual(unhandled.map(r => (r as Error).message), [])
      assert.ok(node.running)
      const { groupId } = await node.createGroup('still here')
      assert.equal((await node.send(groupId, 'alive')).text, 'alive')
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await Promise.all([node.stop(), attacker.stop()])
    }
  })
})

describe('duplicate connections between two peers', function () {
  this.timeout(30_000)

  it('keeps gossip flowing when both peers dial each other at the same moment', async () => {
    const a = await startNode({ name: 'a', syncIntervalMs: 0 })
    const b = await startNode({ name: 'b', syncIntervalMs: 0 })
    try {
      const { groupId, invite } = await a.createGroup('dups')
      // Both dial at once, as two nodes that discover each other by mDNS do. On a loaded
      // machine the two dials may not overlap and libp2p reuses the first connection: the
      // second is then forced, so the case under test is always there.
      await Promise.all([a.host.dial(b.host.getMultiaddrs()), b.host.dial(a.host.getMultiaddrs())])
      if (a.host.getConnections(b.host.peerId).length < 2) await b.host.dial(a.host.getMultiaddrs(), { force: true })
      await waitFor('two connections', () => a.host.getConnections(b.host.peerId).length >= 2)
      await b.joinGroup(invite)
      const topic = a.listGroups()[0].topic
      await waitFor('mesh', () => a.host.services.pubsub.getSubscribers(topic).length > 0 && b.host.services.pubsub.getSubscribers(topic).length > 0)
      // Close one of the two connections, as libp2p or the peer may do at any time.
      const connections = a.host.getConnections(b.host.peerId)
      assert.ok(connections.length >= 2, `the simultaneous dials should leave two connections, not ${connections.length}`)
      // Close the one gossipsub writes on: the case that used to silence gossip.
      const outbound = (a.host.services.pubsub as unknown as { streamsOutbound: Map<string, { rawStream: unknown }> }).streamsOutbound.get(b.peerId)
      const carrying = connections.find(c => c.streams.some(s => s === outbound?.rawStream)) ?? connections[0]
      await carrying.close()
      const ids: string[] = []
      for (let i = 0; i < 20; i++) ids.push((await a.send(groupId, `from a ${i}`)).id)
      for (let i = 0; i < 20; i++) ids.push((await b.send(groupId, `from b ${i}`)).id)
      // Anti-entropy is off: only gossip (and the initial sync) can deliver these.
      await waitFor('all 40 messages on both sides', () => a.history(groupId).length === 40 && b.history(groupId).length === 40, 15_000)
        .catch(err => { throw new Error(`${(err as Error).message}: a has ${a.history(groupId).length}, b has ${b.history(groupId).length}; connections ${a.host.getConnections(b.host.peerId).length}`) })
      assert.deepEqual(a.history(groupId).map(m => m.id), b.history(groupId).map(m => m.id))
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
