import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryKv } from '../../crdt/index.js'
import { BoxBook, boxSigningBytes } from '../../node/box-book.js'
import { signerFor } from '../../node/trust/keys.js'

describe('box book', () => {
  it('keeps a signed box, and a box seen again is held to the signature that was checked', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key).toString()
    const sign = signerFor(key)
    const box = { key: 'a'.repeat(43), sig: Buffer.from(sign(boxSigningBytes('a'.repeat(43)))).toString('base64') }
    const book = new BoxBook(new MemoryKv())
    assert.equal(book.learn(peer, box), true)
    assert.equal(book.get(peer), box.key)
    // Again, as every sync exchange brings it: still accepted.
    assert.equal(book.learn(peer, box), true)
    // The same key with another signature is checked, and refused.
    const forged = { key: box.key, sig: Buffer.from(new Uint8Array(64).fill(7)).toString('base64') }
    assert.equal(book.learn(peer, forged), false)
    // Another key with the old signature is refused and does not replace the held key.
    assert.equal(book.learn(peer, { key: 'b'.repeat(43), sig: box.sig }), false)
    assert.equal(book.get(peer), box.key)
  })
})
