import assert from 'node:assert/strict'
import type { OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('retention', function () {
  this.timeout(30_000)

  it('an admin\'s retention is kept by every node: expired messages are erased everywhere and no longer found', async () => {
    const a: OutpostNode = await startNode({ name: 'ada', syncIntervalMs: 500 })
    const b: OutpostNode = await startNode({ name: 'bea', syncIntervalMs: 500 })
    try {
      a.discovery.addPeer(b.peerId, b.addrs)
      const { groupId, invite } = await a.createGroup('short memory')
      assert.equal((await b.joinGroup(invite)).admitted, true)
      const old = await a.send(groupId, 'quarterly numbers 项目进度')
      const attached = await a.sendFile(groupId, [Buffer.from('rows of figures\n'.repeat(1000))], { name: 'figures.csv' })
      await waitFor('b to hold both', () => b.history(groupId).some(m => m.id === old.id) && b.history(groupId).some(m => m.id === attached.message.id))
      b.files.fetch(attached.fileId)
      await waitFor('b to fetch the file', () => b.files.status(attached.fileId).state === 'complete')
      assert.equal((await b.search('项目进度')).length, 1)
      await assert.rejects(b.setRetention(groupId, 1), (e: Error) => e.name === 'NotAllowedError')
      await new Promise(resolve => setTimeout(resolve, 1_200))
      const set = await a.setRetention(groupId, 1)
      assert.deepEqual([set.retentionSeconds, set.erased > 0], [1, true])
      const fresh = await a.send(groupId, 'still here')
      assert.deepEqual(a.history(groupId).map(m => m.id), [fresh.id])
      // b learns the retention and erases on its own (or takes a's erasure): the same either way.
      await waitFor('b to have erased it', () => !b.groups.require(groupId).doc.doc.getMap('messages').has(old.id), 10_000)
      assert.ok(!b.history(groupId).some(m => m.id === old.id))
      assert.deepEqual(await b.search('项目进度'), [])
      // The expired message's file goes with it, on both nodes.
      for (const n of [a, b]) {
        await waitFor(`${n.name} to erase the file`, () => n.files.store.get(attached.fileId) == null)
        assert.throws(() => n.files.status(attached.fileId), (e: Error) => e.name === 'UnknownFileError')
      }
      assert.equal(b.listGroups()[0].retentionSeconds, 1)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
