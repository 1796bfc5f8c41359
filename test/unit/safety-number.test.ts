import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { safetyNumber, InvalidRequestError } from '../../node/index.js'

describe('safety numbers', () => {
  it('are 30 digits in six groups, the same for the same key and different for another', async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assert.match(safetyNumber(a), /^\d{5}( \d{5}){5}$/)
    assert.equal(safetyNumber(a), safetyNumber(a))
    assert.notEqual(safetyNumber(a), safetyNumber(b))
  })

  it('are stable across versions for a known key', () => {
    // Pinned: changing the derivation would make people's comparisons disagree.
    assert.equal(safetyNumber('12D3KooWQNUicFNfxUUouanpNTUzkwRF3MjDhfDRGCdzx2TyDFJu'), '26014 79333 10874 39626 87770 12622')
  })

  it('refuse what is not a peer id', () => {
    assert.throws(() => safetyNumber('bob'), (e: Error) => e.name === InvalidRequestError.NAME)
  })
})
