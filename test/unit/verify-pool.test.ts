import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { GroupDoc, type PostEvent, type SignedItem, type VerifyBatch } from '../../crdt/index.js'
import { SignatureVerifier } from '../../node/trust/verify-pool.js'
import { letIn, newGroup, nextTs, replicaOf, testAuthor, type TestAuthor } from '../helpers/authors.js'

describe('signatures checked many at once, on worker threads', function () {
  this.timeout(30_000)
  let alice: TestAuthor
  let bob: TestAuthor
  const verifiers: SignatureVerifier[] = []
  before(async () => { [alice, bob] = await Promise.all([testAuthor(), testAuthor()]) })
  after(async () => { await Promise.all(verifiers.map(async v => { await v.close() })) })

  const verifier = (workers = 1): SignatureVerifier => {
    const v = new SignatureVerifier(workers)
    verifiers.push(v)
    return v
  }

  const signed = (who: TestAuthor, i: number): SignedItem => {
    const data = Buffer.from(`entry ${i} by ${who.peerId}`)
    return { author: who.peerId, data, signature: who.me.sign(data) }
  }

  it('answers each signature in order, in the workers\' shares and in its own, whatever is wrong with it', async () => {
    const v = verifier(1)
    const items = Array.from({ length: 600 }, (_, i) => signed(i % 2 === 0 ? alice : bob, i))
    const flipped = Buffer.from(items[150].signature)
    flipped[10] ^= 1
    items[150] = { ...items[150], signature: flipped } // in the worker's share
    items[590] = { ...items[590], data: Buffer.from('altered') } // in this thread's share
    items[10] = { ...items[10], signature: items[10].signature.subarray(0, 63) } // too short
    items[100] = { ...items[100], author: 'not a peer id' }
    items[102] = { ...items[102], author: bob.peerId } // signed by alice, claimed by bob
    const ok = await v.verifyMany(items)
    assert.equal(ok.length, items.length)
    assert.deepEqual(ok.flatMap((good, i) => good ? [] : [i]), [10, 100, 102, 150, 590])
    assert.equal(v.running, 1, 'a batch this large went to a worker')
  })

  it('hands chunks to workers as they come, and takes back what they have not started: every answer in order', async () => {
    const v = verifier(2)
    const session = v.session()
    const items = Array.from({ length: 5_000 }, (_, i) => signed(i % 3 === 0 ? alice : bob, i))
    const forged = new Set([0, 255, 256, 2_600, 4_999])
    for (const i of forged) items[i] = { ...items[i], data: Buffer.from(`forged ${i}`) }
    // Handed over in uneven pieces, as a guard finds them (one entry may carry three).
    for (let at = 0; at < items.length;) {
      const n = 1 + (at % 3)
      session.add(items.slice(at, at + n))
      at += n
    }
    const ok = await session.finish()
    assert.equal(ok.length, items.length)
    assert.deepEqual(ok.flatMap((good, i) => good ? [] : [i]), [...forged])
    assert.equal(v.running, 2)
  })

  it('still answers every signature when the workers are stopped with chunks in their hands', async () => {
    const v = verifier(1)
    const session = v.session()
    const items = Array.from({ length: 20_000 }, (_, i) => signed(bob, i))
    items[1_234] = { ...items[1_234], author: alice.peerId }
    session.add(items)
    // The worker is busy with the chunks it claimed when it is stopped.
    await new Promise(resolve => setTimeout(resolve, 300))
    await v.close()
    const ok = await session.finish()
    assert.deepEqual(ok.flatMap((good, i) => good ? [] : [i]), [1_234])
    assert.equal(v.running, 0)
  })

  it('checks a small batch on this thread, starting no worker', async () => {
    const v = verifier(1)
    const ok = await v.verifyMany(Array.from({ length: 20 }, (_, i) => signed(alice, i)))
    assert.ok(ok.every(Boolean))
    assert.equal(v.running, 0)
  })

  it('starts its workers ahead of a batch when warmed, and answers the batch with them', async () => {
    const v = verifier(1)
    v.warm()
    assert.equal(v.running, 1)
    const items = Array.from({ length: 600 }, (_, i) => signed(alice, i))
    items[7] = { ...items[7], author: bob.peerId }
    const ok = await v.verifyMany(items)
    assert.deepEqual(ok.flatMap((good, i) => good ? [] : [i]), [7])
    assert.equal(v.running, 1, 'the same worker, not a second one')
    await v.close()
    v.warm()
    assert.equal(v.running, 0, 'a closed verifier starts nothing')
  })

  it('after close, checks everything on this thread, still correctly', async () => {
    const v = verifier(1)
    await v.close()
    const items = Array.from({ length: 300 }, (_, i) => signed(bob, i))
    items[299] = { ...items[299], author: alice.peerId }
    const ok = await v.verifyMany(items)
    assert.deepEqual(ok.flatMap((good, i) => good ? [] : [i]), [299])
    assert.equal(v.running, 0)
  })

  describe('a group document applying a sync in one batch', () => {
    /** alice's group with bob in it, and a sync diff of `count` posts by bob plus one forged. */
    function syncWithForgery (count: number): { a: GroupDoc, update: Uint8Array } {
      const a = newGroup(alice)
      letIn(a, alice, bob)
      const b = replicaOf(a, bob)
      for (let i = 0; i < count; i++) b.post({ text: `report ${i}`, name: 'bob' }, nextTs())
      // A post bob really signed on another replica, its timestamp then changed: the
      // signature no longer holds. It travels inside the honest diff.
      const other = replicaOf(a, bob)
      other.post({ text: 'the real one', name: 'bob' }, nextTs())
      const real = [...other.doc.getMap('messages').values()][0] as PostEvent
      const evil = new Y.Doc()
      evil.clientID = real.cid
      evil.getMap('messages').set(real.id, { ...real, ts: { ms: real.ts.ms + 1, c: 0 } })
      return { a, update: Y.mergeUpdates([b.diff(a.stateVector()), Y.encodeStateAsUpdate(evil)]) }
    }

    const batchedReplica = (a: GroupDoc, verifyBatch: VerifyBatch): GroupDoc => {
      const doc = new GroupDoc(a.groupId, { ...alice.crypto, verifyBatch })
      doc.applyUpdate(a.diff(), 'remote')
      return doc
    }

    it('keeps and refuses exactly what checking one by one does', async () => {
      const { a, update } = syncWithForgery(400)
      const oneByOne = replicaOf(a, alice)
      const expected = oneByOne.applyUpdate(update, 'remote')
      const batched = batchedReplica(a, verifier(1).session)
      const got = await batched.applyUpdateBatched(update, 'remote')
      assert.equal(expected.rejected.length, 1)
      assert.match(expected.rejected[0].why, /a bad signature/)
      assert.deepEqual(got.rejected, expected.rejected)
      assert.equal(batched.size, 400)
      assert.deepEqual(batched.latest().map(m => [m.id, m.text]), oneByOne.latest().map(m => [m.id, m.text]))
      assert.ok(!batched.latest().some(m => m.text === 'the real one'))
    })

    it('applies two syncs of the same history one after the other: the second checks nothing again', async () => {
      const { a, update } = syncWithForgery(300)
      const v = verifier(1)
      const checked: number[] = []
      const doc = batchedReplica(a, () => {
        const session = v.session()
        let count = 0
        return {
          add: items => { count += items.length; session.add(items) },
          finish: async () => { checked.push(count); return await session.finish() }
        }
      })
      const [first, second] = await Promise.all([doc.applyUpdateBatched(update, 'remote'), doc.applyUpdateBatched(update, 'remote')])
      assert.equal(doc.size, 300)
      assert.equal(checked[0], 301, 'every post, and the forged one')
      assert.equal(checked[1], 1, 'only the forged post, refused again')
      assert.equal(first.rejected.length, 1)
      assert.equal(second.rejected.length, 1)
    })
  })
})
