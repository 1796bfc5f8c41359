import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { DocStore, EncryptedKv, GroupDoc, LevelKv, MemoryKv, prefixRange, StorageClosedError, StorageLockedError, type GroupId, type KvStore, type PersistedDoc } from '../../crdt/index.js'
import { emptyGroup, letIn, newGroup, nextTs, testAuthor, type TestAuthor } from '../helpers/authors.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

interface Adapter {
  name: string
  /** opens a store; `reopen` opens the same storage again after close */
  open: () => Promise<{ kv: KvStore, reopen: () => Promise<KvStore>, cleanup: () => Promise<void> }>
}

const adapters: Adapter[] = [
  {
    name: 'MemoryKv',
    open: async () => {
      const kv = new MemoryKv()
      return { kv, reopen: async () => new MemoryKv(kv.data), cleanup: async () => {} }
    }
  },
  {
    name: 'LevelKv',
    open: async () => {
      const dir = await tempDir('outpost-kv-')
      let current = await LevelKv.open(dir)
      return {
        kv: current,
        reopen: async () => { current = await LevelKv.open(dir); return current },
        cleanup: async () => { await current.close().catch(() => {}); await removeDir(dir) }
      }
    }
  },
  {
    name: 'EncryptedKv over MemoryKv',
    open: async () => {
      const key = randomBytes(32)
      const inner = new MemoryKv()
      return { kv: new EncryptedKv(inner, key), reopen: async () => new EncryptedKv(new MemoryKv(inner.data), key), cleanup: async () => {} }
    }
  },
  {
    name: 'EncryptedKv over LevelKv',
    open: async () => {
      const key = randomBytes(32)
      const dir = await tempDir('outpost-kv-')
      let current = new EncryptedKv(await LevelKv.open(dir), key)
      return {
        kv: current,
        reopen: async () => { current = new EncryptedKv(await LevelKv.open(dir), key); return current },
        cleanup: async () => { await current.close().catch(() => {}); await removeDir(dir) }
      }
    }
  }
]

/** Buffer and Uint8Array compare alike: both adapters return bytes. */
const bytes = (v: Uint8Array | undefined): number[] | undefined => v == null ? undefined : Array.from(v)

async function collect (kv: KvStore, prefix: string, reverse = false, limit?: number): Promise<string[]> {
  const keys: string[] = []
  for await (const [key] of kv.entries({ ...prefixRange(prefix), reverse, limit })) keys.push(key)
  return keys
}

for (const adapter of adapters) {
  describe(`storage acceptance suite: ${adapter.name}`, () => {
    let store: Awaited<ReturnType<Adapter['open']>>
    beforeEach(async () => { store = await adapter.open() })
    afterEach(async () => { await store.cleanup() })

    it('gets what was put, applies batches atomically in order, and deletes', async () => {
      const { kv } = store
      assert.equal(await kv.get('missing'), undefined)
      await kv.batch([{ type: 'put', key: 'a', value: Uint8Array.of(1) }, { type: 'put', key: 'a', value: Uint8Array.of(2) }, { type: 'put', key: 'b', value: Uint8Array.of(3) }])
      assert.deepEqual(bytes(await kv.get('a')), [2])
      await kv.batch([{ type: 'del', key: 'a' }])
      assert.equal(await kv.get('a'), undefined)
      assert.deepEqual(bytes(await kv.get('b')), [3])
    })

    it('iterates a prefix in key order, reversed and limited', async () => {
      const { kv } = store
      await kv.batch(['x!2', 'x!1', 'x!3', 'y!1', 'x'].map(key => ({ type: 'put' as const, key, value: Uint8Array.of(0) })))
      assert.deepEqual(await collect(kv, 'x!'), ['x!1', 'x!2', 'x!3'])
      assert.deepEqual(await collect(kv, 'x!', true, 2), ['x!3', 'x!2'])
    })

    it('keeps data across close and reopen, and refuses use after close', async () => {
      await store.kv.batch([{ type: 'put', key: 'k', value: Uint8Array.of(9) }])
      await store.kv.close()
      await assert.rejects(store.kv.get('k'), (e: Error) => e.name === StorageClosedError.NAME)
      const kv = await store.reopen()
      assert.deepEqual(bytes(await kv.get('k')), [9])
    })

    it('persists a document as an update log and restores it', async () => {
      const owner = await testAuthor()
      const { doc, create } = emptyGroup(owner)
      const groupId = doc.groupId
      const persisted = await new DocStore(store.kv).attach(groupId, doc.doc)
      create()
      for (let i = 0; i < 30; i++) doc.post({ text: `m${i}`, name: 'a' }, nextTs())
      await persisted.flushed()
      assert.equal(persisted.logLength, 31)
      await store.kv.close()
      const kv = await store.reopen()
      const restored = new GroupDoc(groupId, owner.crypto)
      await new DocStore(kv).attach(groupId, restored.doc)
      assert.equal(restored.size, 30)
      assert.deepEqual(restored.latest().map(m => m.id), doc.latest().map(m => m.id))
    })

    it('compacts the log past the threshold without losing anything', async () => {
      const owner = await testAuthor()
      const { doc, create } = emptyGroup(owner)
      const groupId = doc.groupId
      const docs = new DocStore(store.kv, { compactAfter: 10 })
      const persisted = await docs.attach(groupId, doc.doc)
      create()
      for (let i = 0; i < 60; i++) doc.post({ text: `m${i}`, name: 'a' }, nextTs())
      await persisted.flushed()
      const keys = await collect(store.kv, `doc!${groupId}!`)
      // Snapshots come after 10 entries and once the tail outweighs the last snapshot.
      assert.ok(keys.length < 60 / 2, `log has ${keys.length} entries for 60 updates`)
      assert.equal(keys.length, persisted.logLength)
      assert.deepEqual(await docs.names(), [groupId])
      const restored = new GroupDoc(groupId, owner.crypto)
      await new DocStore(store.kv).attach(groupId, restored.doc)
      assert.equal(restored.size, 60)
    })
  })
}

describe('DocStore compaction of a long log', () => {
  it('folds a log of 200,000 entries into one snapshot (one write of 200,001 ops)', async () => {
    const kv = new MemoryKv()
    const doc = new Y.Doc()
    const map = doc.getMap<number>('m')
    // No snapshot until the 200,001st entry: its compaction deletes all the others at once.
    const persisted = await new DocStore(kv, { compactAfter: 200_000 }).attach('long', doc)
    for (let i = 0; i <= 200_000; i++) map.set(String(i % 1000), i)
    await persisted.flushed()
    assert.equal(persisted.logLength, 1)
    assert.equal((await collect(kv, 'doc!long!')).length, 1)
  })
})

describe('a received update stored as it came', () => {
  /** `member`'s replica of `owner`'s group, persisted to `kv`, with the updates it stored. */
  async function storedReplica (kv: KvStore, groupId: GroupId, member: TestAuthor): Promise<{ doc: GroupDoc, stored: Uint8Array[], persisted: PersistedDoc }> {
    const doc = new GroupDoc(groupId, member.crypto)
    const stored: Uint8Array[] = []
    doc.onUpdate((update, origin) => { if (origin !== 'storage') stored.push(update) })
    const persisted = await new DocStore(kv).attach(groupId, doc.doc, listener => doc.onUpdate(listener))
    return { doc, stored, persisted }
  }

  async function reloaded (kv: KvStore, groupId: GroupId, member: TestAuthor): Promise<GroupDoc> {
    const doc = new GroupDoc(groupId, member.crypto)
    await new DocStore(kv).attach(groupId, doc.doc, listener => doc.onUpdate(listener))
    return doc
  }

  it('keeps a fresh update byte for byte, and what Yjs encodes for one that overlaps or follows a gap', async () => {
    const owner = await testAuthor()
    const member = await testAuthor()
    const group = newGroup(owner)
    letIn(group, owner, member)
    const sent: Uint8Array[] = []
    group.onUpdate((update, origin) => { if (origin === 'local') sent.push(update) })
    for (let i = 0; i < 3; i++) group.post({ text: `m${i}`, name: 'owner' }, nextTs())
    const kv = new MemoryKv()
    const { doc, stored, persisted } = await storedReplica(kv, group.groupId, member)

    // The whole history, fresh: passed on as it came (the same bytes, not encoded again).
    const history = group.diff()
    doc.applyUpdate(history, 'remote')
    assert.equal(stored.length, 1)
    assert.equal(stored[0], history)
    // A gossiped message that follows on: the same.
    group.post({ text: 'next', name: 'owner' }, nextTs())
    doc.applyUpdate(sent.at(-1) as Uint8Array, 'remote')
    assert.equal(stored.at(-1), sent.at(-1))

    // Overlapping what is held: Yjs encodes only what was new.
    group.post({ text: 'overlap', name: 'owner' }, nextTs())
    const overlapping = group.diff()
    doc.applyUpdate(overlapping, 'remote')
    assert.equal(stored.length, 3)
    assert.notEqual(stored[2], overlapping)
    assert.ok(stored[2].length < overlapping.length / 2, `${stored[2].length} bytes stored for one message out of ${overlapping.length}`)

    // Nothing new: nothing stored.
    doc.applyUpdate(overlapping, 'remote')
    assert.equal(stored.length, 3)

    // After a gap: held back by Yjs until what it follows arrives, then stored with it.
    group.post({ text: 'first', name: 'owner' }, nextTs())
    group.post({ text: 'second', name: 'owner' }, nextTs())
    const [first, second] = sent.slice(-2)
    doc.applyUpdate(second, 'remote')
    assert.equal(stored.length, 3)
    doc.applyUpdate(first, 'remote')
    assert.equal(stored.length, 4)
    assert.deepEqual(doc.latest().map(m => m.text), group.latest().map(m => m.text))

    await persisted.flushed()
    const again = await reloaded(kv, group.groupId, member)
    assert.deepEqual(again.latest().map(m => m.text), ['m0', 'm1', 'm2', 'next', 'overlap', 'first', 'second'])
  })

  it('still stores a change a listener makes while a received update is applied', async () => {
    const owner = await testAuthor()
    const member = await testAuthor()
    const group = newGroup(owner)
    letIn(group, owner, member)
    group.post({ text: 'hello', name: 'owner' }, nextTs())
    const kv = new MemoryKv()
    const { doc, stored, persisted } = await storedReplica(kv, group.groupId, member)
    // A read receipt written from inside the apply (an observer of the arriving messages).
    let receipt: string | undefined
    doc.onMessages((messages, origin) => { if (origin === 'remote' && receipt == null) receipt = doc.markRead(messages.at(-1)?.id, nextTs()) })
    const history = group.diff()
    doc.applyUpdate(history, 'remote')
    assert.ok(receipt != null, 'the listener wrote a receipt')
    assert.equal(stored.length, 2)
    assert.ok(stored.includes(history), 'the received update is stored as it came')
    await persisted.flushed()
    const again = await reloaded(kv, group.groupId, member)
    assert.equal(again.readUpTo(member.peerId)?.id, receipt)
  })
})

describe('LevelKv locking', () => {
  it('refuses a second opener with StorageLockedError', async () => {
    const dir = await tempDir('outpost-lock-')
    const first = await LevelKv.open(dir)
    try {
      await assert.rejects(LevelKv.open(dir), (e: Error) => e.name === StorageLockedError.NAME)
    } finally {
      await first.close()
      await removeDir(dir)
    }
  })
})
