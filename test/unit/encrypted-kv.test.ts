import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { EncryptedKv, MemoryKv, SEAL_OVERHEAD, UnreadableValueError, prefixRange } from '../../crdt/index.js'

const text = (v: Uint8Array | undefined): string | undefined => v == null ? undefined : Buffer.from(v).toString('utf8')
const unreadable = (key: string) => (e: Error) => e.name === UnreadableValueError.NAME && e.message.includes(`'${key}'`)

describe('EncryptedKv', () => {
  let inner: MemoryKv
  let kv: EncryptedKv
  beforeEach(async () => {
    inner = new MemoryKv()
    kv = new EncryptedKv(inner, randomBytes(32))
    await kv.batch([{ type: 'put', key: 'group!a', value: Buffer.from('Field team secret') }, { type: 'put', key: 'group!b', value: Buffer.from('other') }])
  })

  it('stores only sealed values: version, nonce, ciphertext, tag; never the plaintext', async () => {
    const raw = inner.data.get('group!a')
    assert.ok(raw != null)
    assert.equal(raw[0], 1)
    assert.equal(raw.byteLength, 'Field team secret'.length + SEAL_OVERHEAD)
    assert.equal(Buffer.from(raw).includes('Field team'), false)
    assert.equal(text(await kv.get('group!a')), 'Field team secret')
    // A fresh nonce per write: the same value twice seals differently.
    await kv.batch([{ type: 'put', key: 'group!a', value: Buffer.from('Field team secret') }])
    assert.notDeepEqual(Array.from(inner.data.get('group!a') ?? []), Array.from(raw))
  })

  it('refuses a tampered value with UnreadableValueError naming the key', async () => {
    const raw = inner.data.get('group!a') as Uint8Array
    for (const at of [0, 5, 20, raw.byteLength - 1]) {
      const bad = raw.slice()
      bad[at] ^= 1
      inner.data.set('group!a', bad)
      await assert.rejects(kv.get('group!a'), unreadable('group!a'), `flipped byte ${at}`)
    }
    inner.data.set('group!a', raw.slice(0, SEAL_OVERHEAD - 1))
    await assert.rejects(kv.get('group!a'), unreadable('group!a'))
  })

  it('refuses a value moved or copied to another key, also when iterating', async () => {
    inner.data.set('group!b', (inner.data.get('group!a') as Uint8Array).slice())
    await assert.rejects(kv.get('group!b'), unreadable('group!b'))
    await assert.rejects((async () => { for await (const _ of kv.entries(prefixRange('group!'))) {} })(), unreadable('group!b'))
  })

  it('refuses values sealed under another data key', async () => {
    const other = new EncryptedKv(new MemoryKv(inner.data), randomBytes(32))
    await assert.rejects(other.get('group!a'), unreadable('group!a'))
  })

  it('refuses a data key of the wrong size', () => {
    assert.throws(() => new EncryptedKv(inner, randomBytes(16)), RangeError)
  })
})
