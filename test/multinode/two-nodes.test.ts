import assert from 'node:assert/strict'
import { SYNC_CHUNK_BYTES, type OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('two nodes on loopback', () => {
  let alice: OutpostNode
  let bob: OutpostNode

  beforeEach(async () => {
    alice = await startNode({ name: 'alice' })
    bob = await startNode({ name: 'bob' })
  })

  afterEach(async () => {
    await Promise.all([alice.stop(), bob.stop()])
  })

  it('joins by invite, syncs earlier history and delivers new messages live', async () => {
    const { groupId, invite } = await alice.createGroup('ops')
    const before = await alice.send(groupId, 'written before bob joined')
    await bob.joinGroup(invite)
    await waitFor('history to reach bob', () => bob.history(groupId).length === 1)
    assert.equal(bob.history(groupId)[0].id, before.id)
    assert.equal(bob.history(groupId)[0].authorName, 'alice')

    const live = new Promise<string>(resolve => bob.on('message', e => { if (e.origin === 'remote') resolve(e.message.text) }))
    await waitFor('gossip mesh', () => alice.host.services.pubsub.getSubscribers(alice.listGroups()[0].topic).length > 0)
    await alice.send(groupId, 'hello bob')
    assert.equal(await live, 'hello bob')
    const reply = await bob.send(groupId, 'hi alice')
    await waitFor('reply to reach alice', () => alice.history(groupId).some(m => m.id === reply.id))
    assert.deepEqual(alice.history(groupId).map(m => m.id), bob.history(groupId).map(m => m.id))
    assert.equal(bob.peers().find(p => p.peerId === alice.peerId)?.name, 'alice')
  })

  it('syncs a history larger than one sync chunk (split into frames, joined again)', async function () {
    this.timeout(60_000)
    const { groupId, invite } = await alice.createGroup('big')
    const text = 'x'.repeat(3000)
    for (let i = 0; i < 800; i++) await alice.send(groupId, `${i} ${text}`) // about 2.5 MB of updates
    await bob.joinGroup(invite)
    await waitFor('bob to receive the whole history', () => bob.history(groupId).length === 800, 45_000)
    assert.ok(alice.sync.stats.updateBytesSent > 2 * SYNC_CHUNK_BYTES)
    assert.deepEqual(bob.history(groupId).map(m => m.id), alice.history(groupId).map(m => m.id))
  })
})
