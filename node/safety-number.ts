import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { InvalidRequestError } from './errors.js'

const VERSION = 'outpost-safety-number-v1\0'
/** Hash rounds, as Signal does, so that finding a key with a chosen number costs more. */
const ROUNDS = 5200

/**
 * A member's safety number: 30 digits in six groups of five, derived from the public key
 * inside their PeerId. Two people compare it in person (or over a channel they trust);
 * if it matches, the key they see on the network is the key of the person they know.
 */
export function safetyNumber (peerId: string): string {
  let id
  try {
    id = peerIdFromString(peerId)
  } catch {
    throw new InvalidRequestError(`'${peerId}' is not a peer id`)
  }
  const publicKey = id.publicKey?.raw
  if (publicKey == null) throw new InvalidRequestError(`peer id ${peerId} does not carry its public key`)
  let digest = Buffer.concat([Buffer.from(VERSION), publicKey])
  for (let i = 0; i < ROUNDS; i++) digest = createHash('sha512').update(digest).update(publicKey).digest()
  const groups: string[] = []
  for (let g = 0; g < 6; g++) {
    const chunk = digest.subarray(g * 5, g * 5 + 5)
    const n = chunk.readUIntBE(0, 5) % 100_000
    groups.push(String(n).padStart(5, '0'))
  }
  return groups.join(' ')
}
