import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { compareMessages, GroupDoc, HybridClock, InvalidUpdateError, NotAllowedError, newEventId, signingBytes, type ChatMessage, type EditEvent, type MessageId, type PostEvent } from '../../crdt/index.js'
import { remove, rotate, setRetention, setRole } from '../../node/trust/actions.js'
import { letIn, newGroup, nextTs, replicaOf, testAuthor, type TestAuthor } from '../helpers/authors.js'
import { seededRandom } from '../helpers/messages.js'

describe('hybrid logical clock', () => {
  it('is monotonic when the wall clock stands still or goes back', () => {
    let now = 1000
    const clock = new HybridClock(() => now)
    const a = clock.tick()
    const b = clock.tick()
    now = 500
    const c = clock.tick()
    assert.deepEqual([a, b, c], [{ ms: 1000, c: 0 }, { ms: 1000, c: 1 }, { ms: 1000, c: 2 }])
  })

  it('stamps after every timestamp it has observed, but ignores absurd future ones', () => {
    const now = 1000
    const clock = new HybridClock(() => now)
    clock.observe({ ms: 5000, c: 3 })
    assert.deepEqual(clock.tick(), { ms: 5000, c: 4 })
    clock.observe({ ms: now + 365 * 24 * 3600 * 1000, c: 0 })
    assert.deepEqual(clock.tick(), { ms: 5000, c: 5 })
  })
})

describe('message order', () => {
  it('orders by timestamp, then author, then id', () => {
    const m = (author: string, ms: number, c: number): ChatMessage =>
      ({ id: newEventId(author), author, authorName: author, ts: { ms, c }, kind: 'text', text: '', edits: 0, deleted: false, reactions: {}, pinned: false, replies: 0 })
    const list = [m('b', 2, 0), m('a', 2, 0), m('z', 1, 5), m('a', 1, 0), m('a', 2, 1)]
    const sorted = [...list].sort(compareMessages).map(x => `${x.ts.ms}.${x.ts.c}.${x.author}`)
    assert.deepEqual(sorted, ['1.0.a', '1.5.z', '2.0.a', '2.0.b', '2.1.a'])
  })
})

describe('GroupDoc', function () {
  let alice: TestAuthor
  let bob: TestAuthor
  let carol: TestAuthor
  before(async () => { [alice, bob, carol] = await Promise.all([testAuthor(), testAuthor(), testAuthor()]) })

  const post = (doc: GroupDoc, who: TestAuthor, text: string): ChatMessage => doc.post({ text, name: who.peerId.slice(-4) }, nextTs())

  it('lists messages in display order and pages from the latest', () => {
    const doc = newGroup(alice)
    const ids = Array.from({ length: 20 }, (_, i) => post(doc, alice, `m${i}`).id)
    assert.equal(doc.size, 20)
    assert.deepEqual(doc.latest(3).map(m => m.text), ['m17', 'm18', 'm19'])
    assert.deepEqual(doc.latest().map(m => m.id), ids)
    assert.equal(doc.membership.role(alice.peerId), 'owner')
    assert.equal(doc.membership.name, 'test group')
  })

  it('converges to one order whatever order updates arrive in', () => {
    const random = seededRandom(42)
    const source = newGroup(alice)
    letIn(source, alice, bob)
    const bobs = replicaOf(source, bob)
    const updates: Uint8Array[] = []
    const record = (u: Uint8Array, origin: unknown): void => { if (origin === 'local') updates.push(u) }
    source.doc.on('update', record)
    bobs.doc.on('update', record)
    for (let i = 0; i < 50; i++) random() < 0.5 ? post(source, alice, `a${i}`) : post(bobs, bob, `b${i}`)
    // carol starts from the membership only and gets every post in a shuffled order.
    const carols = replicaOf(source, alice)
    let missing = false
    for (const u of [...updates].sort(() => random() - 0.5)) missing = carols.applyUpdate(u, 'remote').missingDependencies
    assert.equal(missing, false)
    bobs.applyUpdate(source.diff(bobs.stateVector()), 'remote')
    source.applyUpdate(bobs.diff(source.stateVector()), 'remote')
    assert.equal(source.size, 50)
    assert.deepEqual(bobs.latest().map(m => m.id), source.latest().map(m => m.id))
    assert.deepEqual(carols.latest().map(m => m.id), source.latest().map(m => m.id))
  })

  it('reports missing dependencies, and a diff against a state vector is exactly what is lacking', () => {
    const a = newGroup(alice)
    post(a, alice, 'one')
    const b = replicaOf(a, alice)
    const updates: Uint8Array[] = []
    a.doc.on('update', (u: Uint8Array) => updates.push(u))
    post(a, alice, 'two')
    post(a, alice, 'three')
    const c = new GroupDoc(a.groupId, alice.crypto)
    assert.equal(c.applyUpdate(updates[1], 'remote').missingDependencies, true)
    const diff = a.diff(b.stateVector())
    assert.ok(diff.length < a.diff().length)
    b.applyUpdate(diff, 'remote')
    assert.equal(b.size, 3)
  })

  it('rejects undecodable updates by name', () => {
    const doc = newGroup(alice)
    assert.throws(() => doc.applyUpdate(new Uint8Array([1, 2, 3, 250, 250, 250]), 'remote'), (e: Error) => e.name === InvalidUpdateError.NAME)
  })

  it('tells listeners which messages arrived and from where', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    const b = replicaOf(a, bob)
    const seen: string[] = []
    b.onMessages((messages, origin) => { for (const m of messages) seen.push(`${origin}:${m.text}`) })
    post(a, alice, 'one')
    b.applyUpdate(a.diff(b.stateVector()), 'remote')
    post(b, bob, 'two')
    assert.deepEqual(seen, ['remote:one', 'local:two'])
  })

  it('keeps bodies sealed: a replica without the key sees nothing, and the stored update holds no text', () => {
    const a = newGroup(alice)
    post(a, alice, 'the launch code is 0000')
    assert.ok(!Buffer.from(a.diff()).toString('latin1').includes('launch code'))
    const outsider = replicaOf(a, carol)
    assert.equal(outsider.size, 0)
    assert.equal(outsider.currentKey(), undefined)
  })

  describe('refuses what an honest member could not have written', () => {
    /** An update of `evil`'s own Yjs doc with `value` under `key` of `map`. */
    const forge = (map: 'messages' | 'log', key: string, value: object): Uint8Array => {
      const evil = new Y.Doc()
      evil.getMap(map).set(key, value)
      return Y.encodeStateAsUpdate(evil)
    }

    it('a post whose signature does not match its author, or whose content was altered', () => {
      const a = newGroup(alice)
      letIn(a, alice, bob)
      const b = replicaOf(a, bob)
      const real = b.doc.getMap('messages')
      b.post({ text: 'hello', name: 'bob' }, nextTs())
      const [event] = [...real.values()] as PostEvent[]
      const c = replicaOf(a, alice)
      const signedByBobClaimedByAlice = { ...event, by: alice.peerId }
      const altered = { ...event, ts: { ms: event.ts.ms + 1, c: 0 } }
      for (const value of [signedByBobClaimedByAlice, altered]) {
        const evil = new Y.Doc()
        evil.clientID = event.cid
        evil.getMap('messages').set(event.id, value)
        const { rejected } = c.applyUpdate(Y.encodeStateAsUpdate(evil), 'remote')
        assert.ok(rejected.some(r => r.forged), JSON.stringify(rejected))
        assert.equal(c.size, 0)
        assert.equal(c.doc.getMap('messages').size, 0, 'nothing stored')
      }
    })

    it('an edit of someone else\'s message', () => {
      const a = newGroup(alice)
      letIn(a, alice, bob)
      const original = post(a, alice, 'original')
      const b = replicaOf(a, bob)
      assert.throws(() => b.edit(original.id, 'changed', 'bob', nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
      // Forged by hand: bob signs an edit of alice's post, correctly placed, and sends it.
      const evil = new Y.Doc()
      const unsigned = { kind: 'edit', id: newEventId(bob.peerId), by: bob.peerId, ts: nextTs(), target: original.id, key: a.currentKey()?.keyId, body: new Uint8Array(40), v: 2, cid: evil.clientID, clk: 0 }
      const edit = { ...unsigned, sig: Buffer.from(bob.crypto.sign(signingBytes(a.groupId, 'entry', unsigned))).toString('base64') } as unknown as EditEvent
      evil.getMap('messages').set(edit.id, edit)
      const { rejected } = a.applyUpdate(Y.encodeStateAsUpdate(evil), 'remote')
      assert.ok(rejected.some(r => r.forged && /another author/.test(r.why)), JSON.stringify(rejected))
      assert.equal(a.get(original.id)?.text, 'original')
      assert.equal(a.doc.getMap('messages').size, 1)
    })

    it('a post by a read-only member, and one by a removed member after removal', () => {
      const a = newGroup(alice)
      letIn(a, alice, bob, 'read-only')
      letIn(a, alice, carol)
      const b = replicaOf(a, bob)
      assert.throws(() => post(b, bob, 'may I?'), (e: Error) => e.name === NotAllowedError.NAME)
      const c = replicaOf(a, carol)
      remove(a, alice.me, carol.peerId, nextTs())
      post(c, carol, 'still here?')
      const { rejected } = a.applyUpdate(c.diff(a.stateVector()), 'remote')
      assert.ok(rejected.some(r => !r.forged && /may not post/.test(r.why)), JSON.stringify(rejected))
      assert.ok(!a.latest().some(m => m.text === 'still here?'))
    })

    it('overwrites, deletions, entries outside the maps and replays at another place', () => {
      const a = newGroup(alice)
      const target = replicaOf(a, alice)
      post(a, alice, 'hello')
      const entry = [...a.doc.getMap('messages').values()][0] as PostEvent
      const outside = new Y.Doc()
      outside.getMap('elsewhere').set('x', { a: 1 })
      const cases: Array<[string, Uint8Array]> = [
        ['elsewhere', Y.encodeStateAsUpdate(outside)],
        ['replayed', forge('messages', entry.id, entry)],
        ['garbage', forge('messages', 'x', { hello: 'world' })],
        ['log garbage', forge('log', 'y', { kind: 'create' })]
      ]
      for (const [name, update] of cases) {
        const { rejected } = target.applyUpdate(update, 'remote')
        assert.ok(rejected.length > 0 && rejected.every(r => r.forged), `${name}: ${JSON.stringify(rejected)}`)
      }
      assert.equal(target.doc.getMap('messages').size, 0)
      const deleting = replicaOf(a, alice)
      deleting.doc.getMap('messages').delete(entry.id)
      const del = deleting.diff(a.stateVector())
      assert.ok(a.applyUpdate(del, 'remote').rejected.some(r => /no valid delete or retention covers/.test(r.why)))
      assert.equal(a.size, 1)
      assert.equal(a.get(entry.id as MessageId)?.text, 'hello')
      // Nor may anyone erase a membership entry.
      const erasingLog = replicaOf(a, alice)
      erasingLog.doc.getMap('log').delete([...erasingLog.doc.getMap('log').keys()][0])
      assert.ok(a.applyUpdate(erasingLog.diff(a.stateVector()), 'remote').rejected.some(r => /membership entry/.test(r.why)))
      assert.equal(a.membership.creator, alice.peerId)
    })

    it('cuts a refused entry out of a sync diff and keeps the rest', () => {
      const a = newGroup(alice)
      letIn(a, alice, bob)
      letIn(a, alice, carol)
      const b = replicaOf(a, bob)
      const c = replicaOf(a, carol)
      setRole(a, alice.me, bob.peerId, 'read-only', nextTs())
      // bob has not heard yet and posts; carol posts too; carol's replica relays both.
      const bobs = b.post({ text: 'from bob', name: 'bob' }, nextTs())
      c.applyUpdate(b.diff(c.stateVector()), 'remote')
      post(c, carol, 'from carol')
      const { rejected } = a.applyUpdate(c.diff(a.stateVector()), 'remote')
      assert.equal(rejected.length, 1)
      assert.deepEqual(a.latest().map(m => m.text), ['from carol'])
      assert.equal(a.get(bobs.id), undefined)
    })
  })

  it('deletes: the author or an admin; a member deleting another\'s message is refused', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    letIn(a, alice, carol)
    const b = replicaOf(a, bob)
    const bobs = post(b, bob, 'oops')
    const alices = post(a, alice, 'announcement')
    a.applyUpdate(b.diff(a.stateVector()), 'remote')
    const c = replicaOf(a, carol)
    assert.throws(() => c.delete(alices.id, nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
    // carol's software deletes anyway: every other node refuses it.
    const evil = new Y.Doc()
    const unsigned = { kind: 'delete', id: newEventId(carol.peerId), by: carol.peerId, ts: nextTs(), target: alices.id, v: 2, cid: evil.clientID, clk: 0 }
    evil.getMap('messages').set(unsigned.id, { ...unsigned, sig: Buffer.from(carol.crypto.sign(signingBytes(a.groupId, 'entry', unsigned))).toString('base64') })
    assert.ok(a.applyUpdate(Y.encodeStateAsUpdate(evil), 'remote').rejected.some(r => /another author/.test(r.why)))
    assert.equal(a.get(alices.id)?.deleted, false)
    b.delete(bobs.id, nextTs())
    a.applyUpdate(b.diff(a.stateVector()), 'remote')
    assert.deepEqual([a.get(bobs.id)?.deleted, a.get(bobs.id)?.text], [true, ''])
    a.delete(alices.id, nextTs())
    assert.equal(a.get(alices.id)?.deleted, true)
    assert.equal(a.deleteEvents().length, 2)
  })

  it('reactions toggle per person and emoji, pins follow the latest event, replies form a thread', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    letIn(a, alice, carol, 'read-only')
    const question = post(a, alice, 'lunch?')
    const b = replicaOf(a, bob)
    const c = replicaOf(a, carol)
    b.react(question.id, '👍', nextTs())
    b.react(question.id, '🎉', nextTs())
    b.react(question.id, '🎉', nextTs()) // taken back
    c.react(question.id, '👍', nextTs()) // read-only members may react
    const reply = b.post({ text: 'yes', name: 'bob', replyTo: question.id }, nextTs())
    assert.throws(() => c.pin(question.id, true, nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
    b.pin(question.id, true, nextTs())
    for (const other of [b, c]) a.applyUpdate(other.diff(a.stateVector()), 'remote')
    const seen = a.get(question.id)
    assert.deepEqual(seen?.reactions, { '👍': [bob.peerId, carol.peerId].sort() })
    assert.equal(seen?.pinned, true)
    assert.equal(seen?.replies, 1)
    assert.deepEqual(a.thread(question.id).map(m => m.id), [question.id, reply.id])
    assert.deepEqual(a.pinned().map(m => m.id), [question.id])
    a.pin(question.id, false, nextTs())
    assert.equal(a.get(question.id)?.pinned, false)
    // The same view on every replica once they hold the same events.
    b.applyUpdate(a.diff(b.stateVector()), 'remote')
    assert.deepEqual(b.get(question.id), a.get(question.id))
  })

  it('a delete erases the post, its edits and reactions on every replica; its place stays, marked deleted', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    const secret = post(a, alice, 'the vault code is 4711')
    a.edit(secret.id, 'the vault code is 4712', 'alice', nextTs())
    const b = replicaOf(a, bob)
    b.react(secret.id, '😬', nextTs())
    a.applyUpdate(b.diff(a.stateVector()), 'remote')
    const sealed = [...a.doc.getMap('messages').values()].filter((e: any) => e.kind === 'post' || e.kind === 'edit').map((e: any) => Buffer.from(e.body))
    assert.equal(sealed.length, 2)
    a.delete(secret.id, nextTs())
    const contains = (bytes: Uint8Array): boolean => sealed.some(s => Buffer.from(bytes).includes(s))
    assert.equal(contains(a.diff()), false, 'the sealed text left the document')
    const tomb = a.get(secret.id)
    assert.deepEqual([tomb?.deleted, tomb?.text, tomb?.author, tomb?.edits, tomb?.reactions], [true, '', alice.peerId, 0, {}])
    // A replica that held it erases it too, and one that never did shows the same place.
    b.applyUpdate(a.diff(b.stateVector()), 'remote')
    assert.equal(contains(b.diff()), false)
    assert.equal(b.doc.getMap('messages').has(secret.id), false)
    const fresh = replicaOf(a, bob)
    assert.deepEqual(fresh.latest(), a.latest())
    assert.deepEqual(b.latest(), a.latest())
  })

  it('retention: expired posts are hidden, erased with their edits and reactions, and the erasure is accepted by other replicas', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    const old = post(a, alice, 'old news')
    a.edit(old.id, 'old news, edited', 'alice', nextTs())
    const b = replicaOf(a, bob)
    b.react(old.id, '👍', nextTs())
    a.applyUpdate(b.diff(a.stateVector()), 'remote')
    setRetention(a, alice.me, 60, nextTs())
    b.applyUpdate(a.diff(b.stateVector()), 'remote')
    assert.equal(a.size, 1, 'not expired yet')
    const later = Date.now() + 61_000
    assert.equal(a.eraseExpired(later), 3)
    assert.equal(a.doc.getMap('messages').size, 0)
    // b's clock says it has not expired yet, but a's erasure is within the allowed skew.
    const { rejected } = b.applyUpdate(a.diff(b.stateVector()), 'remote')
    assert.deepEqual(rejected, [])
    assert.equal(b.doc.getMap('messages').size, 0)
    assert.throws(() => setRetention(b, bob.me, 1, nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
  })

  it('read receipts: only forward, synced, and unread counts (with mentions) follow them', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    const one = post(a, alice, 'one')
    const two = a.post({ text: 'two, for bob', name: 'alice', mentions: [bob.peerId] }, nextTs())
    post(a, alice, 'three')
    const b = replicaOf(a, bob)
    assert.deepEqual(b.unread(bob.peerId), { unread: 3, mentions: 1 })
    assert.equal(b.markRead(one.id, nextTs()), one.id)
    assert.deepEqual(b.unread(bob.peerId), { unread: 2, mentions: 1 })
    assert.equal(b.markRead(undefined, nextTs()), a.latest(1)[0].id)
    assert.equal(b.markRead(two.id, nextTs()), a.latest(1)[0].id, 'a receipt never moves back')
    assert.deepEqual(b.unread(bob.peerId), { unread: 0, mentions: 0 })
    a.applyUpdate(b.diff(a.stateVector()), 'remote')
    assert.deepEqual(a.receipts().map(r => [r.peerId, r.upTo]), [[bob.peerId, a.latest(1)[0].id]])
    assert.equal(a.readUpTo(bob.peerId)?.text, 'three')
  })

  it('rotates the key for every member on request', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    const before = a.currentKey()?.keyId
    rotate(a, alice.me, nextTs())
    const b = replicaOf(a, bob)
    assert.notEqual(a.currentKey()?.keyId, before)
    assert.equal(b.currentKey()?.keyId, a.currentKey()?.keyId)
    assert.throws(() => rotate(b, bob.me, nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
  })

  it('hands a fresh key to everyone but the removed member', () => {
    const a = newGroup(alice)
    letIn(a, alice, bob)
    letIn(a, alice, carol)
    const before = a.currentKey()
    remove(a, alice.me, carol.peerId, nextTs())
    const after = a.currentKey()
    assert.ok(before != null && after != null && before.keyId !== after.keyId)
    const b = replicaOf(a, bob)
    const c = replicaOf(a, carol)
    assert.equal(b.currentKey()?.keyId, after.keyId)
    assert.equal(c.keyFor(after.keyId), undefined)
    assert.ok(c.keyFor(before.keyId) != null)
    post(a, alice, 'after the removal')
    c.applyUpdate(a.diff(c.stateVector()), 'remote')
    b.applyUpdate(a.diff(b.stateVector()), 'remote')
    assert.ok(!c.latest().some(m => m.text === 'after the removal'))
    assert.ok(b.latest().some(m => m.text === 'after the removal'))
  })
})
