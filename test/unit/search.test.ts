import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { EncryptedKv, LevelKv, MemoryKv, type KvStore } from '../../crdt/index.js'
import { InvalidSearchDocError, SearchIndex, snippet, tokenize, type SearchDoc } from '../../crdt/search/index.js'
import { newGroup, nextTs, testAuthor } from '../helpers/authors.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

const ALICE = '12D3KooWAlice'
const BOB = '12D3KooWBob'
const G1 = 'a'.repeat(32)
const G2 = 'b'.repeat(32)
const id = (): string => randomBytes(12).toString('hex')
let clock = 1_700_000_000_000
const doc = (text: string, extra: Partial<SearchDoc> = {}): SearchDoc => ({ id: id(), author: ALICE, ts: clock++, text, ...extra })

describe('search: tokenizer', () => {
  it('folds case, width and accents of words', () => {
    assert.deepEqual(tokenize('Hello, WORLD! Café ＱＵＡＲＴＥＲ'), ['hello', 'world', 'cafe', 'quarter'])
  })

  it('indexes Chinese as character bigrams, so any part of a run finds it', () => {
    assert.deepEqual(tokenize('项目进度'), ['项目', '目进', '进度'])
    assert.deepEqual(tokenize('进'), ['进'])
  })

  it('Japanese: kanji and kana runs as bigrams', () => {
    assert.deepEqual(tokenize('会議の議事録'), ['会議', '議の', 'の議', '議事', '事録'])
  })

  it('mixed text keeps Latin words whole and CJK as bigrams, with or without spaces', () => {
    assert.deepEqual(tokenize('Q3 项目进度 report'), ['q3', '项目', '目进', '进度', 'report'])
    assert.deepEqual(tokenize('Q3项目进度report'), ['q3', '项目', '目进', '进度', 'report'])
  })

  it('snippets cut around the first match', () => {
    const text = 'x'.repeat(200) + ' the 项目进度 report ' + 'y'.repeat(200)
    const s = snippet(text, '进度')
    assert.ok(s.includes('项目进度'), s)
    assert.ok(s.startsWith('…') && s.endsWith('…'))
  })
})

/** The same behaviour over each store the node can have. */
const stores: Array<[string, () => Promise<{ kv: KvStore, reopen: () => Promise<KvStore>, done: () => Promise<void> }>]> = [
  ['MemoryKv', async () => {
    const data = new Map<string, Uint8Array>()
    return { kv: new MemoryKv(data), reopen: async () => new MemoryKv(data), done: async () => {} }
  }],
  ['EncryptedKv over LevelKv', async () => {
    const dir = await tempDir('outpost-search-')
    const key = randomBytes(32)
    let level = await LevelKv.open(dir)
    return {
      kv: new EncryptedKv(level, key),
      reopen: async () => { level = await LevelKv.open(dir); return new EncryptedKv(level, key) },
      done: async () => { await level.close().catch(() => {}); await removeDir(dir) }
    }
  }]
]

for (const [name, make] of stores) {
  describe(`search: SearchIndex over ${name}`, () => {
    let kv: KvStore
    let reopen: () => Promise<KvStore>
    let done: () => Promise<void>
    let index: SearchIndex

    beforeEach(async () => {
      ({ kv, reopen, done } = await make())
      index = await SearchIndex.open(kv, { flushDelayMs: 5 })
    })

    afterEach(async () => {
      await index.close().catch(() => {})
      await kv.close()
      await done()
    })

    const ids = async (query: string, options = {}): Promise<string[]> => (await index.search(query, options)).map(h => h.messageId)

    it('finds English, Chinese, Japanese and mixed text', async () => {
      const en = doc('The quarterly report is ready')
      const zh = doc('本周项目进度已更新')
      const ja = doc('会議の議事録を共有します')
      const mixed = doc('Q3 项目进度 report attached')
      for (const d of [en, zh, ja, mixed]) index.index(G1, d)
      assert.deepEqual(await ids('quarterly'), [en.id])
      assert.deepEqual(new Set(await ids('REPORT')), new Set([en.id, mixed.id]))
      assert.deepEqual(new Set(await ids('项目进度')), new Set([zh.id, mixed.id]))
      assert.deepEqual(new Set(await ids('进度')), new Set([zh.id, mixed.id]))
      assert.deepEqual(new Set(await ids('项目')), new Set([zh.id, mixed.id]))
      assert.deepEqual(await ids('议事'), [])
      assert.deepEqual(await ids('議事録'), [ja.id])
      assert.deepEqual(await ids('q3 进度'), [mixed.id])
      assert.deepEqual(await ids('nothing here'), [])
      assert.equal(index.size, 4)
    })

    it('ranks by BM25: more occurrences in a shorter message first; ties to the newer', async () => {
      const once = doc('deploy the new build to the field servers tonight please')
      const twice = doc('deploy deploy now')
      const older = doc('status update', { ts: 1_000 })
      const newer = doc('status update', { ts: 2_000 })
      for (const d of [once, twice, older, newer]) index.index(G1, d)
      assert.deepEqual(await ids('deploy'), [twice.id, once.id])
      assert.deepEqual(await ids('status'), [newer.id, older.id])
      // A rare term weighs more than a common one.
      const rare = doc('update zebra')
      index.index(G1, rare)
      assert.equal((await ids('update zebra'))[0], rare.id)
      assert.equal((await ids('update', { limit: 1 })).length, 1)
    })

    it('filters by group, author, time and has-file', async () => {
      const a = doc('budget review', { ts: 1_000 })
      const b = doc('budget review', { ts: 2_000, author: BOB })
      const c = doc('budget review', { ts: 3_000, hasFile: true })
      index.index(G1, a)
      index.index(G1, b)
      index.index(G2, c)
      assert.deepEqual(await ids('budget', { groupId: G1 }), [b.id, a.id])
      assert.deepEqual(await ids('budget', { groupId: G2 }), [c.id])
      assert.deepEqual(await ids('budget', { groupId: 'c'.repeat(32) }), [])
      assert.deepEqual(await ids('budget', { author: BOB }), [b.id])
      assert.deepEqual(await ids('budget', { author: 'nobody' }), [])
      assert.deepEqual(await ids('budget', { since: 1_500, until: 2_500 }), [b.id])
      assert.deepEqual(await ids('budget', { hasFile: true }), [c.id])
      assert.deepEqual(await ids('budget', { hasFile: false }), [b.id, a.id])
      const hit = (await index.search('budget', { author: BOB }))[0]
      assert.deepEqual({ groupId: hit.groupId, author: hit.author, ts: hit.ts }, { groupId: G1, author: BOB, ts: 2_000 })
    })

    it('an edit re-indexes, a delete or remove forgets, a group can be dropped', async () => {
      const m = doc('original wording')
      const other = doc('original plan')
      index.index(G1, m)
      index.index(G1, other)
      index.index(G2, doc('original in another group'))
      assert.equal((await ids('original')).length, 3)
      index.index(G1, { ...m, text: 'revised wording' })
      assert.deepEqual(await ids('wording'), [m.id])
      assert.deepEqual(await ids('original', { groupId: G1 }), [other.id])
      index.index(G1, { ...m, text: '', deleted: true })
      assert.deepEqual(await ids('wording'), [])
      index.remove(G1, other.id)
      assert.deepEqual(await ids('original', { groupId: G1 }), [])
      index.removeGroup(G2)
      assert.deepEqual(await ids('original'), [])
      assert.equal(index.size, 0)
      assert.throws(() => { index.index(G1, { ...m, id: 'not-an-id' }) }, (e: Error) => e.name === InvalidSearchDocError.NAME)
    })

    it('persists: a reopened store answers the same, and keeps marks', async () => {
      const m = doc('persistent 项目进度 note')
      index.index(G1, m)
      index.setMark(G1, Uint8Array.of(1, 2, 3))
      await index.close()
      await kv.close()
      kv = await reopen()
      index = await SearchIndex.open(kv, { flushDelayMs: 5 })
      assert.deepEqual(await ids('进度'), [m.id])
      assert.deepEqual(Array.from(index.getMark(G1) ?? []), [1, 2, 3])
      assert.equal(index.size, 1)
      // Appending after reopen continues the same posting lists.
      const n = doc('another persistent note')
      index.index(G1, n)
      assert.deepEqual(new Set(await ids('persistent')), new Set([m.id, n.id]))
    })

    it('group-commits: many messages, few batches, all found', async () => {
      let batches = 0
      const inner = kv
      const counting: KvStore = { get: async k => await inner.get(k), entries: r => inner.entries(r), close: async () => {}, batch: async ops => { batches++; await inner.batch(ops) } }
      const idx = await SearchIndex.open(counting, { flushDelayMs: 20, prefix: 'search!count!' })
      for (let i = 0; i < 3_000; i++) idx.index(G1, doc(`message number ${i} about topic${i % 10}`))
      await idx.flush()
      assert.ok(batches <= 4, `${batches} batches for 3,000 messages`)
      assert.equal((await idx.search('topic3', { limit: 1_000 })).length, 300)
      assert.equal((await idx.search('message', { limit: 1_000 })).length, 1_000)
      await idx.close()
    })
  })
}

describe('search: encrypted at rest', () => {
  it('no raw key or value of an EncryptedKv-backed index holds an indexed term (and a plaintext control does)', async () => {
    const terms = ['quarterly', 'zebrafish', '项目', '进度', '議事']
    const scan = async (encrypted: boolean): Promise<string[]> => {
      const raw = new MemoryKv()
      const kv = encrypted ? new EncryptedKv(raw, randomBytes(32)) : raw
      const index = await SearchIndex.open(kv, { flushDelayMs: 1 })
      // Real signed group documents, as the node indexes them.
      const owner = await testAuthor()
      const group = newGroup(owner)
      const messages = [group.post({ text: 'quarterly zebrafish survey', name: 'o' }, nextTs()), group.post({ text: '项目进度 会議の議事録', name: 'o' }, nextTs())]
      for (const m of messages) index.index(group.groupId, { id: m.id, author: m.author, ts: m.ts.ms, text: m.text })
      assert.equal((await index.search('zebrafish')).length, 1)
      assert.equal((await index.search('项目进度')).length, 1)
      await index.close()
      // Whoever reads the index key can hash terms and find them in record keys: it must not be readable.
      const indexKey = raw.data.get('search!v1!key') as Uint8Array
      const found: string[] = []
      for (const [key, value] of raw.data) {
        for (const term of terms) {
          const needles = [Buffer.from(term), Buffer.from(term, 'utf16le')]
          const hash = createHmac('sha256', indexKey).update(term).digest().toString('hex', 0, 8)
          if (key.includes(term) || key.includes(hash)) found.push(`key ${key}: ${term}`)
          if (needles.some(n => Buffer.from(value).includes(n))) found.push(`value of ${key}: ${term}`)
        }
      }
      return found
    }
    assert.deepEqual(await scan(true), [])
    // Control: over a plaintext store the index key is readable, and the scan finds every
    // term's posting list by its hash (so the scan above can fail).
    const plain = await scan(false)
    for (const term of terms) assert.ok(plain.some(f => f.startsWith('key') && f.endsWith(`: ${term}`)), `control finds ${term}: ${plain.join(', ')}`)
  })
})
