import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import * as Y from 'yjs'
import {
  bodyAad, newEventId, signingBytes, type EditEvent, type GroupDoc, type GroupId, type MessageId, type PostEvent
} from '../../crdt/index.js'
import { decodeGossip, decodeSyncFrame, encodeSyncFrame, SYNC_PROTOCOL, type OutpostNode } from '../../node/index.js'
import { makeInvite, makeJoin } from '../../node/trust/actions.js'
import { seal } from '../../node/trust/keys.js'
import { PartitionControl } from '../helpers/partition.js'
import { startNode, waitFor } from '../helpers/nodes.js'

const FAST = { syncIntervalMs: 500, redial: { minBackoffMs: 50, maxBackoffMs: 300 } }

async function stopAll (nodes: OutpostNode[]): Promise<void> {
  await Promise.all(nodes.map(async n => { await n.stop() }))
}

function connectAll (nodes: OutpostNode[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.discovery.addPeer(b.peerId, b.addrs)
}

function docOf (node: OutpostNode, groupId: string): GroupDoc {
  return node.groups.require(groupId).doc
}

/** Writes `value` into `node`'s own document as if its software were malicious: no checks. */
function writeRaw (node: OutpostNode, groupId: string, value: Record<string, unknown>, signAs: OutpostNode = node): string {
  const doc = docOf(node, groupId)
  const placed = { ...value, v: 2, cid: doc.doc.clientID, clk: Y.getState(doc.doc.store, doc.doc.clientID) }
  const sig = Buffer.from(signer(signAs)(signingBytes(groupId, 'entry', placed))).toString('base64')
  const id = value.id as string
  doc.doc.transact(() => { doc.doc.getMap('messages').set(id, { ...placed, sig }) }, 'local')
  return id
}

function signer (node: OutpostNode): (data: Uint8Array) => Uint8Array {
  return (node as unknown as { me: { sign: (d: Uint8Array) => Uint8Array } }).me.sign
}

function sealedBody (doc: GroupDoc, id: string, text: string, name: string, keyId?: string): { key: string, body: Uint8Array } {
  const key = keyId != null ? { keyId, key: doc.keyFor(keyId) as Uint8Array } : doc.currentKey()
  assert.ok(key?.key != null)
  const sealed = seal(key.key, Buffer.from(JSON.stringify({ text, name })), bodyAad(doc.groupId, id, key.keyId))
  return { key: key.keyId, body: new Uint8Array(sealed) }
}

describe('trust between nodes', function () {
  this.timeout(60_000)

  it('a non-member subscribed to the topic reads nothing, and sync refuses it', async () => {
    const owner = await startNode({ name: 'owner', ...FAST })
    const member = await startNode({ name: 'member', ...FAST })
    const outsider = await startNode({ name: 'outsider', ...FAST })
    const nodes = [owner, member, outsider]
    try {
      connectAll(nodes)
      const { groupId, invite } = await owner.createGroup('secret plans')
      assert.equal((await member.joinGroup(invite)).admitted, true)
      const topic = owner.listGroups()[0].topic
      const captured: Uint8Array[] = []
      outsider.host.services.pubsub.addEventListener('message', evt => { if (evt.detail.topic === topic) captured.push(evt.detail.data) })
      outsider.host.services.pubsub.subscribe(topic)
      await waitFor('the outsider in the topic mesh', () => owner.host.services.pubsub.getSubscribers(topic).some(p => p.equals(outsider.host.peerId)))

      const text = 'the launch window is Tuesday 04:00'
      for (let i = 0; i < 5; i++) await owner.send(groupId, `${text} #${i}`)
      await waitFor('the member to read them', () => member.history(groupId).length === 5)
      await waitFor('the outsider to capture gossip', () => captured.length >= 5)
      for (const data of captured) {
        assert.ok(!Buffer.from(data).toString('latin1').includes('launch window'), 'plaintext on the topic')
        const envelope = decodeGossip(data)
        assert.notEqual(envelope.keyId, '', 'unsealed gossip')
        assert.equal(docOf(owner, groupId).keyFor(envelope.keyId) != null, true)
      }

      // Sync: HELLO naming the group without membership, then with a join request whose
      // invite the outsider signed itself. Neither gets an update frame.
      const outsiderMe = (outsider as unknown as { me: Parameters<typeof makeInvite>[0] }).me
      const selfSigned = makeJoin(outsiderMe, makeInvite(outsiderMe, groupId as GroupId, 'secret plans', 'member', Date.now() + 60_000), { ms: Date.now(), c: 0 })
      for (const join of [undefined, Buffer.from(JSON.stringify(selfSigned))]) {
        const stream = await outsider.host.dialProtocol(owner.host.peerId, SYNC_PROTOCOL)
        const lp = lpStream(stream)
        await lp.write(encodeSyncFrame({ type: 'hello', name: 'outsider', groups: [{ groupId: groupId as GroupId, stateVector: new Uint8Array([0]), key: '', ...(join != null ? { join } : {}) }] }))
        const hello = decodeSyncFrame((await lp.read()).subarray())
        assert.equal(hello.type, 'hello')
        assert.deepEqual(hello.type === 'hello' ? hello.groups : null, [], 'the owner named the group to a non-member')
        await lp.write(encodeSyncFrame({ type: 'done' }))
        const next = decodeSyncFrame((await lp.read()).subarray())
        assert.equal(next.type, 'done', 'the owner sent history to a non-member')
        await stream.close()
      }
      assert.ok(owner.sync.stats.refused >= 2)
      assert.equal(docOf(owner, groupId).membership.role(outsider.peerId), null)
    } finally {
      await stopAll(nodes)
    }
  })

  it('a forged message, an edit of someone else\'s message and a read-only post are refused on gossip and on sync', async () => {
    const partitions = new PartitionControl()
    const make = async (name: string): Promise<OutpostNode> => await partitions.startNode({ name, ...FAST })
    const owner = await make('owner')
    const honest = await make('honest')
    const evil = await make('evil')
    const viewer = await make('viewer')
    const late = await make('late')
    const nodes = [owner, honest, evil, viewer, late]
    try {
      connectAll(nodes)
      const { groupId } = await owner.createGroup('guarded')
      for (const n of [honest, evil, late]) assert.equal((await n.joinGroup(owner.invite(groupId))).admitted, true)
      assert.equal((await viewer.joinGroup(owner.invite(groupId, { role: 'read-only' }))).admitted, true)
      const original = await owner.send(groupId, 'the original words')
      await waitFor('everyone to hold the original', () => nodes.every(n => n.history(groupId).length === 1))
      // `late` misses the attack on gossip: it will meet it through sync only.
      await partitions.split(nodes, [[0, 1, 2, 3], [4]])

      const evilDoc = docOf(evil, groupId)
      const forgedId = newEventId(owner.peerId)
      const attack = [
        // a post claiming to be the owner's, signed by evil
        writeRaw(evil, groupId, { kind: 'post', id: forgedId, by: owner.peerId, ts: { ms: Date.now(), c: 0 }, ...sealedBody(evilDoc, forgedId, 'forged order', 'owner') }),
        // an edit of the owner's message, signed by evil as itself
        (() => {
          const id = newEventId(evil.peerId)
          return writeRaw(evil, groupId, { kind: 'edit', id, by: evil.peerId, ts: { ms: Date.now(), c: 1 }, target: original.id as MessageId, ...sealedBody(evilDoc, id, 'rewritten words', 'evil') } satisfies Omit<EditEvent, 'v' | 'cid' | 'clk' | 'sig'>)
        })(),
        // a post by a read-only member, correctly signed by it
        (() => {
          const id = newEventId(viewer.peerId)
          return writeRaw(viewer, groupId, { kind: 'post', id, by: viewer.peerId, ts: { ms: Date.now(), c: 2 }, ...sealedBody(docOf(viewer, groupId), id, 'read-only speaks', 'viewer') } satisfies Omit<PostEvent, 'v' | 'cid' | 'clk' | 'sig'>)
        })()
      ]
      const canary = await honest.send(groupId, 'honest traffic still flows')
      await waitFor('the canary on the owner', () => owner.history(groupId).some(m => m.id === canary.id))
      await waitFor('owner and honest node to refuse the three on gossip', () =>
        owner.gossip.stats.rejected >= 2 && honest.gossip.stats.rejected >= 2)
      await new Promise(resolve => setTimeout(resolve, 4_000)) // past gossipsub's re-offer window
      partitions.heal()
      await waitFor('the late node to meet them in sync', () => late.sync.stats.entriesRejected >= 3, 30_000)
      await waitFor('the late node to get the canary', () => late.history(groupId).some(m => m.id === canary.id), 30_000)

      for (const node of [owner, honest, late]) {
        const messages = node.history(groupId)
        assert.equal(messages.find(m => m.id === original.id)?.text, 'the original words', node.name)
        assert.deepEqual(messages.map(m => m.text).sort(), ['honest traffic still flows', 'the original words'], node.name)
        const stored = docOf(node, groupId).doc.getMap('messages')
        for (const id of attack) assert.equal(stored.has(id), false, `${node.name} stored ${id}`)
      }
    } finally {
      partitions.heal()
      await stopAll(nodes)
    }
  })

  it('a removed member never sees what is sent after its removal, when the removal happened across a partition', async () => {
    const partitions = new PartitionControl()
    const make = async (name: string): Promise<OutpostNode> => await partitions.startNode({ name, ...FAST })
    const owner = await make('owner')
    const friend = await make('friend')
    const removed = await make('removed')
    const nodes = [owner, friend, removed]
    try {
      connectAll(nodes)
      const { groupId } = await owner.createGroup('rotating')
      for (const n of [friend, removed]) assert.equal((await n.joinGroup(owner.invite(groupId))).admitted, true)
      await owner.send(groupId, 'before the removal')
      await waitFor('all to hold the first message', () => nodes.every(n => n.history(groupId).length === 1))
      const oldKey = docOf(owner, groupId).currentKey()?.keyId

      // The owner is cut off from both; it removes one of them on its side.
      await partitions.split(nodes, [[0], [1, 2]])
      await owner.removeMember(groupId, removed.peerId)
      const newKey = docOf(owner, groupId).currentKey()?.keyId
      assert.notEqual(newKey, oldKey)
      const secret = await owner.send(groupId, 'after the removal: new door code 7741')
      const concurrent = await friend.send(groupId, 'friend writes during the cut')
      await waitFor('the removed node to have the friend\'s message', () => removed.history(groupId).some(m => m.id === concurrent.id))

      partitions.heal()
      await waitFor('the friend to get the secret', () => friend.history(groupId).some(m => m.id === secret.id), 30_000)
      // Sync between members travels sealed with the group key (inside Noise).
      assert.ok(owner.sync.stats.chunksSealed > 0, JSON.stringify(owner.sync.stats))
      await waitFor('the owner to get the concurrent message', () => owner.history(groupId).some(m => m.id === concurrent.id), 30_000)
      // Several anti-entropy rounds with everyone connected: both now refuse the removed node.
      await waitFor('owner and friend to refuse the removed node in sync', () => owner.sync.stats.refused > 0 && friend.sync.stats.refused > 0, 30_000)
      // ...and to tell it why, with the signed removal: its user sees it, and cannot post.
      await waitFor('the removed node to know it was removed', () => removed.listGroups()[0].removed != null, 30_000)
      assert.deepEqual(removed.listGroups()[0].removed?.by, owner.peerId)
      assert.equal(removed.listGroups()[0].role, null)
      await assert.rejects(removed.send(groupId, 'anyone?'), (e: Error) => e.name === 'NotAllowedError' && /removed from the group/.test(e.message))
      await new Promise(resolve => setTimeout(resolve, 3_000))

      const seen = removed.history(groupId).map(m => m.text)
      assert.ok(!seen.some(t => t.includes('door code')), `the removed node read: ${seen.join(' | ')}`)
      assert.equal(docOf(removed, groupId).keyFor(newKey as string), undefined)
      assert.ok(docOf(friend, groupId).keyFor(newKey as string) != null)
      // Posts the removed node makes now are refused by the others.
      const removedDoc = docOf(removed, groupId)
      const id = newEventId(removed.peerId) as string
      writeRaw(removed, groupId, { kind: 'post', id, by: removed.peerId, ts: { ms: Date.now(), c: 0 }, ...sealedBody(removedDoc, id, 'let me back', 'removed', oldKey) })
      await new Promise(resolve => setTimeout(resolve, 1_500))
      for (const n of [owner, friend]) assert.ok(!n.history(groupId).some(m => m.text === 'let me back'), n.name)
    } finally {
      partitions.heal()
      await stopAll(nodes)
    }
  })
})
