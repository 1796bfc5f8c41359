import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { DocCrypto, GroupId, VerifyBatch } from '../../crdt/index.js'

/**
 * The ciphers behind group documents, all from Node's crypto: Ed25519 signatures by the
 * identity key (the PeerId's key), AES-256-GCM for bodies and gossip, and X25519 + HKDF to
 * wrap a group key to one member's key-exchange ("box") key.
 */

const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')
const NONCE = 12
const TAG = 16
export const GROUP_KEY_BYTES = 32

/** Public keys by PeerId, so a busy group does not re-parse its authors' ids. */
const publicKeys = new Map<string, KeyObject | null>()
const MAX_CACHED_KEYS = 10_000

function publicKeyOf (peerId: string): KeyObject | null {
  let key = publicKeys.get(peerId)
  if (key !== undefined) return key
  try {
    const id = peerIdFromString(peerId)
    key = id.type === 'Ed25519' && id.publicKey != null
      ? createPublicKey({ key: Buffer.concat([ED25519_SPKI, id.publicKey.raw]), format: 'der', type: 'spki' })
      : null
  } catch {
    key = null
  }
  if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear()
  publicKeys.set(peerId, key)
  return key
}

/** An author's Ed25519 public key as SPKI DER (for a thread that checks signatures), or null. */
export function publicKeyDer (peerId: string): Buffer | null {
  return publicKeyOf(peerId)?.export({ format: 'der', type: 'spki' }) ?? null
}

export function verifySignature (author: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = publicKeyOf(author)
  if (key == null || signature.length !== 64) return false
  try {
    return verify(null, data, key, signature)
  } catch {
    return false
  }
}

export function signerFor (privateKey: PrivateKey): (data: Uint8Array) => Uint8Array {
  if (privateKey.type !== 'Ed25519') throw new Error(`identity keys must be Ed25519, not ${privateKey.type}`)
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, privateKey.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  return data => sign(null, data, key)
}

export function seal (key: Uint8Array, plain: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(aad)
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()])
}

export function open (key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < NONCE + TAG) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE))
    decipher.setAAD(aad)
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG))
    const plain = decipher.update(sealed.subarray(NONCE, sealed.length - TAG))
    // GCM gives every byte from update() (final() checks the tag): no copy to join, as a rule.
    const rest = decipher.final()
    return rest.length === 0 ? plain : Buffer.concat([plain, rest])
  } catch {
    return null
  }
}

export function newGroupKey (): Uint8Array {
  return randomBytes(GROUP_KEY_BYTES)
}

/** This node's X25519 key pair that group keys are wrapped to. */
export interface BoxKey { privateKey: KeyObject, publicKey: string }

export function newBoxKey (): { pkcs8: Buffer, box: BoxKey } {
  const { privateKey } = generateKeyPairSync('x25519')
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' })
  return { pkcs8, box: boxKeyFrom(pkcs8) }
}

export function boxKeyFrom (pkcs8: Uint8Array): BoxKey {
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return { privateKey, publicKey: spki.subarray(spki.length - 32).toString('base64') }
}

function wrapKey (shared: Buffer, ephemeral: Buffer, recipient: Buffer, groupId: GroupId, keyId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), `outpost/wrap/2\n${groupId}\n${keyId}`, 32))
}

/** Wraps a group key to a member's box key: ephemeral X25519, HKDF-SHA256, AES-256-GCM. */
export function wrap (groupId: GroupId, keyId: string, recipientBox: string, groupKey: Uint8Array): string {
  const recipient = Buffer.from(recipientBox, 'base64')
  const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI, recipient]), format: 'der', type: 'spki' })
  const ephemeral = generateKeyPairSync('x25519')
  const ephemeralRaw = ephemeral.publicKey.export({ format: 'der', type: 'spki' }).subarray(12)
  const kek = wrapKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey }), ephemeralRaw, recipient, groupId, keyId)
  return Buffer.concat([ephemeralRaw, seal(kek, groupKey, Buffer.from(keyId))]).toString('base64')
}

export function unwrap (groupId: GroupId, keyId: string, wrapped: string, box: BoxKey): Uint8Array | null {
  try {
    const bytes = Buffer.from(wrapped, 'base64')
    const ephemeralRaw = bytes.subarray(0, 32)
    const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI, ephemeralRaw]), format: 'der', type: 'spki' })
    const kek = wrapKey(diffieHellman({ privateKey: box.privateKey, publicKey }), ephemeralRaw, Buffer.from(box.publicKey, 'base64'), groupId, keyId)
    const key = open(kek, bytes.subarray(32), Buffer.from(keyId))
    return key?.length === GROUP_KEY_BYTES ? key : null
  } catch {
    return null
  }
}

/**
 * What a group document needs, for this node's identity. `verifyBatch`: large syncs check
 * their signatures with it (see verify-pool.ts); one by one without.
 */
export function docCrypto (self: string, privateKey: PrivateKey, box: BoxKey, verifyBatch?: VerifyBatch): DocCrypto {
  return {
    self,
    verify: verifySignature,
    ...(verifyBatch != null ? { verifyBatch } : {}),
    sign: signerFor(privateKey),
    unwrap: (groupId, keyId, wrapped) => unwrap(groupId, keyId, wrapped, box),
    seal,
    open
  }
}
