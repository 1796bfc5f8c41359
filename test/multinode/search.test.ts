import assert from 'node:assert/strict'
import type { OutpostNode } from '../../node/index.js'
import { startNode, waitFor } from '../helpers/nodes.js'

describe('search on two nodes', () => {
  let alice: OutpostNode
  let bob: OutpostNode

  before(async () => {
    alice = await startNode({ name: 'alice' })
    bob = await startNode({ name: 'bob' })
  })

  after(async () => {
    await Promise.all([alice.stop(), bob.stop()])
  })

  it('finds English, Chinese and mixed messages from both on either node, with filters; a deleted one is gone on both', async () => {
    const { groupId, invite } = await alice.createGroup('ops')
    const other = await alice.createGroup('other')
    await bob.joinGroup(invite)
    const a1 = await alice.send(groupId, 'The quarterly budget review is on Friday')
    const a2 = await alice.send(groupId, '本周项目进度已更新')
    const b1 = await bob.send(groupId, 'Q3 项目进度 report attached')
    const b2 = await bob.send(groupId, 'budget numbers look fine')
    const o1 = await alice.send(other.groupId, 'budget of the other group')
    const f1 = (await bob.sendFile(groupId, [Buffer.from('q,amount\n')], { name: 'budget-2026.csv' })).message
    await waitFor('both histories', () => alice.history(groupId).length === 5 && bob.history(groupId).length === 5)

    for (const node of [alice, bob]) {
      const ids = async (q: string, options = {}): Promise<Set<string>> => new Set((await node.search(q, options)).map(r => r.message.id))
      assert.deepEqual(await ids('quarterly'), new Set([a1.id]), node.name)
      assert.deepEqual(await ids('项目进度'), new Set([a2.id, b1.id]), node.name)
      assert.deepEqual(await ids('进度 report'), new Set([b1.id]), node.name)
      assert.deepEqual(await ids('budget', { group: groupId }), new Set([a1.id, b2.id, f1.id]), node.name)
      // A file is found by its name, and has-file finds only messages with files.
      assert.deepEqual(await ids('budget', { group: groupId, hasFile: true }), new Set([f1.id]), node.name)
      assert.deepEqual(await ids('budget', { group: groupId, hasFile: false }), new Set([a1.id, b2.id]), node.name)
      assert.deepEqual(await ids('项目', { from: bob.peerId }), new Set([b1.id]), node.name)
      assert.deepEqual(await ids('budget', { from: 'alice', group: groupId }), new Set([a1.id]), node.name)
    }
    // Only alice holds the other group.
    assert.deepEqual((await alice.search('budget')).map(r => r.message.id).sort(), [a1.id, b2.id, f1.id, o1.id].sort())
    const hit = (await alice.search('进度', { from: bob.peerId }))[0]
    assert.equal(hit.groupName, 'ops')
    assert.equal(hit.message.authorName, 'bob')
    assert.ok(hit.snippet.includes('项目进度'))

    await bob.deleteMessage(groupId, b1.id)
    await waitFor('the delete to reach alice', () => alice.history(groupId).find(m => m.id === b1.id)?.deleted === true)
    for (const node of [alice, bob]) {
      assert.deepEqual((await node.search('项目进度')).map(r => r.message.id), [a2.id], node.name)
      assert.deepEqual((await node.search('report')).map(r => r.message.id), [], node.name)
    }
    // An edit is found by its new words only.
    await alice.edit(groupId, a1.id, 'The annual budget review moved to Monday')
    await waitFor('the edit to reach bob', () => bob.history(groupId).find(m => m.id === a1.id)?.edits === 1)
    for (const node of [alice, bob]) {
      assert.deepEqual((await node.search('quarterly')).map(r => r.message.id), [], node.name)
      assert.deepEqual((await node.search('annual')).map(r => r.message.id), [a1.id], node.name)
    }
  })
})
