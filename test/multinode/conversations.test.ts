import assert from 'node:assert/strict'
import type { HistoryEntry, OutpostNode } from '../../node/index.js'
import { PartitionControl } from '../helpers/partition.js'
import { Level } from 'level'
import { join } from 'node:path'
import { removeDir, startNode, tempDir, waitFor } from '../helpers/nodes.js'

/** What every node must agree on (whether a message mentions *me* differs by node). */
const shared = (h: HistoryEntry[]): unknown[] => h.map(({ mentionsMe: _m, authorName: _n, ...rest }) => rest)

describe('conversation gestures between nodes', function () {
  this.timeout(60_000)
  const partitions = new PartitionControl()
  const nodes: OutpostNode[] = []
  let groupId = ''

  before(async () => {
    for (const name of ['ann', 'ben', 'cid']) {
      nodes.push(await partitions.startNode({ name, syncIntervalMs: 500, redial: { minBackoffMs: 50, maxBackoffMs: 300 } }))
    }
    for (const a of nodes) for (const b of nodes) if (a !== b) a.discovery.addPeer(b.peerId, b.addrs)
    const created = await nodes[0].createGroup('gestures')
    groupId = created.groupId
    for (const n of nodes.slice(1)) assert.equal((await n.joinGroup(created.invite)).admitted, true)
    // Names travel in sync HELLO: wait until everyone knows everyone, for @mentions.
    await waitFor('names known', () => nodes.every(n => nodes.every(o => o === n || n.discovery.name(o.peerId) === o.name)))
  })

  after(async () => {
    partitions.heal()
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })

  const on = (i: number): HistoryEntry[] => nodes[i].history(groupId)
  const converged = async (what: string): Promise<HistoryEntry[]> => {
    await waitFor(what, () => nodes.every(n => JSON.stringify(shared(n.history(groupId))) === JSON.stringify(shared(on(0)))), 30_000)
    return on(0)
  }

  it('a reply, a reaction, a pin, an edit, a delete and a mention made on one node are seen on the others', async () => {
    const [ann, ben, cid] = nodes
    const question = await ann.send(groupId, 'who takes the night shift? @ben @all')
    // People answer what they see.
    await waitFor('the question everywhere', () => nodes.every(n => n.history(groupId).some(m => m.id === question.id)))
    const answer = await ben.send(groupId, 'I can', { replyTo: question.id })
    await cid.react(groupId, question.id, '👀')
    await ben.pin(groupId, question.id)
    await ann.edit(groupId, question.id, 'who takes the night shift on Friday? @ben')
    const oops = await cid.send(groupId, 'wrong group, sorry')
    await cid.deleteMessage(groupId, oops.id)
    const history = await converged('every gesture on every node')
    const q = history.find(m => m.id === question.id)
    assert.equal(q?.text, 'who takes the night shift on Friday? @ben')
    assert.equal(q?.edits, 1)
    assert.equal(q?.pinned, true)
    assert.equal(q?.replies, 1)
    assert.deepEqual(q?.reactions, { '👀': [cid.peerId] })
    assert.deepEqual(history.find(m => m.id === oops.id)?.deleted, true)
    assert.equal(history.find(m => m.id === oops.id)?.text, '')
    assert.deepEqual(ben.thread(groupId, question.id).map(m => m.id), [question.id, answer.id])
    // Mentions: the original text named ben and @all; the edit does not change who was mentioned.
    assert.deepEqual(new Set(q?.mentions), new Set([ben.peerId, 'all']))
    assert.equal(ben.history(groupId).find(m => m.id === question.id)?.mentionsMe, true)
    assert.equal(cid.history(groupId).find(m => m.id === question.id)?.mentionsMe, true, '@all mentions everyone')

    // Read receipts travel like everything else; unread counts follow them.
    const unreadBefore = cid.listGroups()[0]
    assert.ok(unreadBefore.unread >= 2 && unreadBefore.mentions >= 1, JSON.stringify(unreadBefore))
    assert.equal((await cid.markRead(groupId)).unread, 0)
    assert.deepEqual([cid.listGroups()[0].unread, cid.listGroups()[0].mentions], [0, 0])
    await waitFor('cid\'s receipt on ann', () => ann.receipts(groupId).some(r => r.peerId === cid.peerId && r.upTo === on(2).at(-1)?.id))
  })

  it('edits, deletes, reactions and pins made on both sides of a partition converge after it heals', async () => {
    const [ann, ben, cid] = nodes
    const a1 = await ann.send(groupId, 'plan A')
    const b1 = await ben.send(groupId, 'plan B')
    await converged('both plans everywhere')
    await partitions.split(nodes, [[0], [1, 2]])
    await ann.edit(groupId, a1.id, 'plan A, revised')
    await ann.edit(groupId, a1.id, 'plan A, final')
    await ann.react(groupId, b1.id, '👎')
    await ann.pin(groupId, a1.id)
    await ben.edit(groupId, b1.id, 'plan B, revised')
    await ben.deleteMessage(groupId, b1.id)
    await cid.react(groupId, a1.id, '👍')
    await ben.pin(groupId, b1.id)
    await ben.pin(groupId, b1.id) // and unpinned again
    partitions.heal()
    const history = await converged('both sides merged')
    const a = history.find(m => m.id === a1.id)
    const b = history.find(m => m.id === b1.id)
    assert.deepEqual([a?.text, a?.edits, a?.pinned, a?.reactions], ['plan A, final', 2, true, { '👍': [cid.peerId] }])
    assert.deepEqual([b?.deleted, b?.text, b?.pinned, b?.reactions], [true, '', false, {}])
  })

  it('a deleted message\'s sealed text leaves the other node\'s document and database', async () => {
    const dir = await tempDir('outpost-erase-')
    const keeper = await startNode({ name: 'keeper', dataDir: dir, syncIntervalMs: 500 })
    try {
      const [ann] = nodes
      keeper.discovery.addPeer(ann.peerId, ann.addrs)
      ann.discovery.addPeer(keeper.peerId, keeper.addrs)
      assert.equal((await keeper.joinGroup(ann.invite(groupId))).admitted, true)
      const secret = await ann.send(groupId, 'the door code is 0451')
      await waitFor('the keeper to hold it', () => keeper.history(groupId).some(m => m.id === secret.id))
      const doc = keeper.groups.require(groupId).doc.doc
      const sealed = Buffer.from((doc.getMap('messages').get(secret.id) as { body: Uint8Array }).body)
      await ann.deleteMessage(groupId, secret.id)
      await waitFor('the keeper to erase it', () => !doc.getMap('messages').has(secret.id))
      assert.deepEqual(keeper.history(groupId).find(m => m.id === secret.id)?.deleted, true)
      await keeper.groups.require(groupId).persisted.flushed()
      await keeper.stop()
      const db = new Level<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
      try {
        for await (const [key, value] of db.iterator()) assert.equal(Buffer.from(value).includes(sealed), false, `${key} still holds the erased text`)
      } finally {
        await db.close()
      }
    } finally {
      await keeper.stop()
      await removeDir(dir)
    }
  })
})
