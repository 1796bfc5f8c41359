import * as encoding from 'lib0/encoding'
import type { GroupId } from '../../crdt/index.js'
import { MAX_GOSSIP_BYTES, WIRE_VERSION } from '../constants.js'
import { SafeReader } from './bytes.js'
import { readGroupId } from './sync-codec.js'

/**
 * A gossip payload on a group's topic: the Yjs update of one local change, sealed with a
 * group key so that a subscriber who is not a member sees only the group id, which key,
 * and ciphertext. Layout: [version u8][type u8 = 1][groupId][keyId][sealed update].
 * An empty keyId marks an unsealed update (only nodes built with trust off send those).
 */
export interface GossipEnvelope {
  type: 'update'
  groupId: GroupId
  keyId: string
  sealed: Uint8Array
}

const UPDATE = 1

export function encodeGossip (envelope: GossipEnvelope): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, WIRE_VERSION)
  encoding.writeUint8(e, UPDATE)
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
  const type = r.uint8()
  if (type !== UPDATE) r.fail(`unknown envelope type ${type}`)
  const groupId = readGroupId(r)
  const keyId = r.string(64)
  if (keyId !== '' && !/^[0-9a-f]{24}$/.test(keyId)) r.fail('bad key id')
  const sealed = r.bytesField(MAX_GOSSIP_BYTES)
  r.end()
  return { type: 'update', groupId, keyId, sealed }
}

/** Additional data bound into a sealed gossip update. */
export function gossipAad (groupId: GroupId, keyId: string): Uint8Array {
  return Buffer.from(`outpost/gossip/2\n${groupId}\n${keyId}`)
}
