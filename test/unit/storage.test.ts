import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { DocStore, EncryptedKv, GroupDoc, LevelKv, MemoryKv, prefixRange, StorageClosedError, StorageLockedError, type KvStore } from '../../crdt/index.js'
import { emptyGroup, nextTs, testAuthor } from '../helpers/authors.js'
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
