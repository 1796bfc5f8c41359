import assert from 'node:assert/strict'
import type { OutpostNode } from '../../node/index.js'
import { signingBytes } from '../../crdt/index.js'
import { testAuthor } from '../helpers/authors.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('typing and presence on ephemeral gossip', function () {
  this.timeout(30_000)
  let a: OutpostNode
  let b: OutpostNode
  let groupId = ''

  before(async () => {
    const fast = { presence: { heartbeatMs: 300, typingMs: 1_000 } }
    a = await startNode({ name: 'ana', ...fast })
    b = await startNode({ name: 'bo', ...fast })
    a.discovery.addPeer(b.peerId, b.addrs)
    const created = await a.createGroup('presence')
    groupId = created.groupId
    assert.equal((await b.joinGroup(created.invite)).admitted, true)
    await waitFor('the gossip mesh', () => a.host.services.pubsub.getSubscribers(a.listGroups()[0].topic).length > 0)
  })

  after(async () => { await Promise.all([a.stop(), b.stop()]) })

  it('shows a member typing for a few seconds, live and in the presence list, and never stores it', async () => {
    const events: Array<{ groupId: string, peerId: string }> = []
    a.on('typing', (e: { groupId: string, peerId: string }) => { events.push(e) })
    const before = a.groups.require(groupId).doc.diff().length
    b.typing(groupId)
    await waitFor('a to see b typing', () => events.some(e => e.peerId === b.peerId && e.groupId === groupId))
    assert.equal(a.presence(groupId).find(p => p.peerId === b.peerId)?.typing, true)
    await waitFor('typing to lapse', () => a.presence(groupId).find(p => p.peerId === b.peerId)?.typing === false, 5_000)
    assert.equal(a.groups.require(groupId).doc.diff().length, before, 'nothing was written to the group document')
  })

  it('refuses a typing signal someone else signed', async () => {
    const forger = await testAuthor()
    const unsigned = { v: 2, kind: 'typing', by: b.peerId, at: Date.now() }
    const sig = Buffer.from(forger.me.sign(signingBytes(groupId, 'signal', unsigned))).toString('base64')
    const rejectedBefore = a.gossip.stats.rejected
    await waitFor('b typing to lapse', () => a.presence(groupId).find(p => p.peerId === b.peerId)?.typing === false, 5_000)
    b.gossip.publishSignal(b.groups.require(groupId), Buffer.from(JSON.stringify({ ...unsigned, sig })))
    await waitFor('a to reject it', () => a.gossip.stats.rejected > rejectedBefore)
    assert.equal(a.presence(groupId).find(p => p.peerId === b.peerId)?.typing, false)
  })

  it('shows online, away and back, with a last-seen time', async () => {
    await waitFor('b online on a', () => a.presence(groupId).find(p => p.peerId === b.peerId)?.state === 'online')
    b.setAway(true)
    await waitFor('b away on a', () => a.presence(groupId).find(p => p.peerId === b.peerId)?.state === 'away')
    b.setAway(false)
    await waitFor('b back on a', () => a.presence(groupId).find(p => p.peerId === b.peerId)?.state === 'online')
    const seen = a.presence(groupId).find(p => p.peerId === b.peerId)?.lastSeen ?? 0
    assert.ok(Date.now() - seen < 5_000, `last seen ${Date.now() - seen} ms ago`)
  })

  it('shows a member that stopped as offline, with when it was last seen', async () => {
    const c = await startNode({ name: 'cy', presence: { heartbeatMs: 300, typingMs: 1_000 } })
    c.discovery.addPeer(a.peerId, a.addrs)
    assert.equal((await c.joinGroup(a.invite(groupId))).admitted, true)
    await waitFor('c online on a', () => a.presence(groupId).find(p => p.peerId === c.peerId)?.state === 'online')
    await c.stop()
    await waitFor('c offline on a', () => a.presence(groupId).find(p => p.peerId === c.peerId)?.state === 'offline', 10_000)
    assert.ok((a.presence(groupId).find(p => p.peerId === c.peerId)?.lastSeen ?? 0) > 0)
  })
})
