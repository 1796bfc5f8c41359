import * as encoding from 'lib0/encoding'
import type { GroupId } from '../../crdt/index.js'
import { MAX_GOSSIP_BYTES, WIRE_VERSION } from '../constants.js'
import { SafeReader } from './bytes.js'
import { readGroupId } from './sync-codec.js'

/**
 * A gossip payload on a group's topic: the Yjs update of one local change (type 1), or a
 * signed ephemeral signal such as typing or presence (type 2), sealed with a group key so
 * that a subscriber who is not a member sees only the group id, which key, and ciphertext.
 * Layout: [version u8][type u8][groupId][keyId][sealed payload].
 * An empty keyId marks an unsealed update (only nodes built with trust off send those).
 */
export interface GossipEnvelope {
  /** 'update': a change of the group document; 'signal': typing or presence, never stored */
  type: 'update' | 'signal'
  groupId: GroupId
  keyId: string
  sealed: Uint8Array
}

const TYPE_CODES = { update: 1, signal: 2 } as const

export function encodeGossip (envelope: GossipEnvelope): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, WIRE_VERSION)
  encoding.writeUint8(e, TYPE_CODES[envelope.type])
  encoding.writeVarString(e, envelope.groupId)
  encoding.writeVarString(e, envelope.keyId)
  encoding.writeVarUint8Array(e, envelope.sealed)
  return encoding.toUint8Array(e)
}

export function decodeGossip (bytes: Uint8Array): GossipEnvelope {
  const r = new SafeReader(bytes, 'gossip envelope')
  if (bytes.length > MAX_GOSSIP_BYTES) r.fail(`${bytes.length} bytes is over the limit`)
  const version = r.uint8()
  if (version !== WIRE_VERSION) r.fail(`unsupported version ${version}`)
  const code = r.uint8()
  const type = code === TYPE_CODES.update ? 'update' : code === TYPE_CODES.signal ? 'signal' : r.fail(`unknown envelope type ${code}`)
  const groupId = readGroupId(r)
  const keyId = r.string(64)
  if (keyId !== '' && !/^[0-9a-f]{24}$/.test(keyId)) r.fail('bad key id')
  const sealed = r.bytesField(MAX_GOSSIP_BYTES)
  r.end()
  return { type, groupId, keyId, sealed }
}

/** Additional data bound into a sealed gossip update. */
export function gossipAad (groupId: GroupId, keyId: string, type: GossipEnvelope['type'] = 'update'): Uint8Array {
  return Buffer.from(`outpost/gossip/2\n${type}\n${groupId}\n${keyId}`)
}
