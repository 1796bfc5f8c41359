import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { compareMessages, GroupDoc, HybridClock, InvalidMessageError, InvalidUpdateError, newGroupId, parseMessage, type ChatMessage } from '../../crdt/index.js'
import { makeMessage, seededRandom } from '../helpers/messages.js'

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

describe('message validation and order', () => {
  it('accepts a well-formed message and rejects malformed ones by name', () => {
    const good = makeMessage('peerA', { ms: 1, c: 0 })
    assert.deepEqual(parseMessage(good), good)
    const bad: unknown[] = [null, 'text', [], { ...good, v: 2 }, { ...good, id: 'x' }, { ...good, ts: { ms: -1, c: 0 } },
      { ...good, text: 5 }, { ...good, kind: 'file' }, { ...good, text: 'x'.repeat(70_000) }, { ...good, deleted: 'no' }]
    for (const value of bad) assert.throws(() => parseMessage(value), (e: Error) => e.name === InvalidMessageError.NAME)
  })

  it('orders by timestamp, then author, then id', () => {
    const m = (author: string, ms: number, c: number): ChatMessage => makeMessage(author, { ms, c })
    const list = [m('b', 2, 0), m('a', 2, 0), m('z', 1, 5), m('a', 1, 0), m('a', 2, 1)]
    const sorted = [...list].sort(compareMessages).map(x => `${x.ts.ms}.${x.ts.c}.${x.author}`)
    assert.deepEqual(sorted, ['1.0.a', '1.5.z', '2.0.a', '2.0.b', '2.1.a'])
  })
})

describe('GroupDoc', () => {
  it('lists messages in display order and pages from the latest', () => {
    const doc = new GroupDoc(newGroupId())
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const message = makeMessage('a', { ms: 100 + i, c: 0 }, `m${i}`)
      ids.push(message.id)
      doc.add(message)
    }
    assert.equal(doc.size, 20)
    assert.deepEqual(doc.latest(3).map(m => m.text), ['m17', 'm18', 'm19'])
    assert.deepEqual(doc.latest().map(m => m.id), ids)
  })

  it('converges to one order whatever order updates arrive in', () => {
    const random = seededRandom(42)
    const source = new GroupDoc(newGroupId())
    const updates: Uint8Array[] = []
    source.doc.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < 50; i++) source.add(makeMessage(random() < 0.5 ? 'a' : 'b', { ms: Math.floor(random() * 20), c: 0 }))
    const shuffled = [...updates].sort(() => random() - 0.5)
    const replica = new GroupDoc(source.groupId)
    let missing = false
    for (const u of shuffled) missing = replica.applyUpdate(u, 'remote').missingDependencies
    assert.equal(missing, false)
    assert.deepEqual(replica.latest().map(m => m.id), source.latest().map(m => m.id))
  })

  it('reports missing dependencies, and a diff against a state vector is exactly what is lacking', () => {
    const a = new GroupDoc(newGroupId())
    const b = new GroupDoc(a.groupId)
    a.add(makeMessage('a', { ms: 1, c: 0 }))
    b.applyUpdate(a.diff(), 'remote')
    const updates: Uint8Array[] = []
    a.doc.on('update', (u: Uint8Array) => updates.push(u))
    a.add(makeMessage('a', { ms: 2, c: 0 }))
    a.add(makeMessage('a', { ms: 3, c: 0 }))
    const c = new GroupDoc(a.groupId)
    assert.equal(c.applyUpdate(updates[1], 'remote').missingDependencies, true)
    const diff = a.diff(b.stateVector())
    assert.ok(diff.length < a.diff().length)
    b.applyUpdate(diff, 'remote')
    assert.equal(b.size, 3)
  })

  it('skips invalid entries written by a bad peer and rejects undecodable updates', () => {
    const evil = new Y.Doc()
    evil.getMap('messages').set('not-an-id', { hello: 'world' })
    const good = makeMessage('a', { ms: 1, c: 0 })
    evil.getMap('messages').set(good.id, good)
    const doc = new GroupDoc(newGroupId())
    doc.applyUpdate(Y.encodeStateAsUpdate(evil), 'remote')
    assert.deepEqual(doc.latest().map(m => m.id), [good.id])
    assert.equal(doc.invalidEntries, 1)
    assert.throws(() => doc.applyUpdate(new Uint8Array([1, 2, 3, 250, 250, 250]), 'remote'), (e: Error) => e.name === InvalidUpdateError.NAME)
  })

  it('tells listeners which messages arrived and from where', () => {
    const a = new GroupDoc(newGroupId())
    const b = new GroupDoc(a.groupId)
    const seen: string[] = []
    b.onMessages((messages, origin) => { for (const m of messages) seen.push(`${origin}:${m.text}`) })
    a.add(makeMessage('a', { ms: 1, c: 0 }, 'one'))
    b.applyUpdate(a.diff(), 'remote')
    b.add(makeMessage('b', { ms: 2, c: 0 }, 'two'))
    assert.deepEqual(seen, ['remote:one', 'local:two'])
  })
})
