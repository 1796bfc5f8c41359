import * as encoding from 'lib0/encoding'
import { isGroupId, MAX_NAME_LENGTH, type GroupId } from '../../crdt/index.js'
import { MAX_GROUPS_PER_HELLO, MAX_JOIN_BYTES, SEAL_OVERHEAD, MAX_SYNC_FRAME_BYTES, SYNC_CHUNK_BYTES, WIRE_VERSION } from '../constants.js'
import { SafeReader } from './bytes.js'

/**
 * Frames of `/outpost/sync/3`. Both sides send HELLO: their profile name and, per group they
 * share with the other as far as they know, a Yjs state vector, which is a request for what
 * they lack, unless marked `deferred` (the request comes later in a WANT, see sync.ts). Each
 * request is answered with the group's update in UPDATE frames of at most SYNC_CHUNK_BYTES
 * each (the last one marked `final`; one empty final frame when the asker lacks nothing).
 * Then DONE. Layout: [version u8][type u8][body].
 */
export type SyncFrame = HelloFrame | WantFrame | UpdateFrame | RefusedFrame | DoneFrame

/**
 * One group in HELLO. A node that is not yet a member sends its signed join request (the
 * invite inside), so that the member it syncs with can check it and let it in.
 */
export interface GroupState {
  groupId: GroupId
  stateVector: Uint8Array
  /** not a request yet: it comes later, in a WANT frame */
  deferred?: boolean
  /** the newest group key the sender holds ('' for none): updates to it are sealed with it */
  key: string
  join?: Uint8Array
}
/**
 * `box`: the sender's key-exchange key and its identity signature over it, so that a peer can
 * open a direct-message group with it (group keys are wrapped to it).
 */
export interface HelloFrame { type: 'hello', name: string, groups: GroupState[], box?: { key: string, sig: string } }
/**
 * A request HELLO deferred: what the sender holds of the group now, and the newest group
 * key it holds (as in HELLO). Sent exactly once per deferred group.
 */
export interface WantFrame { type: 'want', groupId: GroupId, stateVector: Uint8Array, key: string }
/**
 * One chunk of a group's update; the receiver joins chunks until `final`. Sealed with the
 * group key `key` (the one the receiver named in HELLO), or plain when `key` is ''.
 */
export interface UpdateFrame { type: 'update', groupId: GroupId, key: string, final: boolean, update: Uint8Array }
/**
 * We will not serve a group the other side asked for because it was removed from it: the
 * signed removal entry (JSON), so its node can tell its user instead of going quiet.
 */
export interface RefusedFrame { type: 'refused', groupId: GroupId, proof: Uint8Array }
export interface DoneFrame { type: 'done' }

const TYPE_CODES = { hello: 1, update: 2, done: 3, refused: 4, want: 5 } as const
const MAX_STATE_VECTOR_BYTES = 64 * 1024

export const isHello = (f: SyncFrame): f is HelloFrame => f.type === 'hello'
export const isUpdate = (f: SyncFrame): f is UpdateFrame => f.type === 'update'
export const isDone = (f: SyncFrame): f is DoneFrame => f.type === 'done'

export function encodeSyncFrame (frame: SyncFrame): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, WIRE_VERSION)
  encoding.writeUint8(e, TYPE_CODES[frame.type])
  switch (frame.type) {
    case 'hello':
      encoding.writeVarString(e, frame.name)
      encoding.writeVarUint(e, frame.groups.length)
      for (const g of frame.groups) {
        encoding.writeVarString(e, g.groupId)
        encoding.writeVarUint8Array(e, g.stateVector)
        encoding.writeVarUint8Array(e, g.join ?? new Uint8Array(0))
        encoding.writeVarString(e, g.key)
        encoding.writeUint8(e, g.deferred === true ? 1 : 0)
      }
      encoding.writeVarString(e, frame.box?.key ?? '')
      encoding.writeVarString(e, frame.box?.sig ?? '')
      break
    case 'want':
      encoding.writeVarString(e, frame.groupId)
      encoding.writeVarUint8Array(e, frame.stateVector)
      encoding.writeVarString(e, frame.key)
      break
    case 'update':
      encoding.writeVarString(e, frame.groupId)
      encoding.writeVarString(e, frame.key)
      encoding.writeUint8(e, frame.final ? 1 : 0)
      encoding.writeVarUint8Array(e, frame.update)
      break
    case 'refused':
      encoding.writeVarString(e, frame.groupId)
      encoding.writeVarUint8Array(e, frame.proof)
      break
    case 'done':
      break
  }
  return encoding.toUint8Array(e)
}

/** Decodes an untrusted frame; throws MalformedFrameError for anything not well formed. */
export function decodeSyncFrame (bytes: Uint8Array): SyncFrame {
  const r = new SafeReader(bytes, 'sync frame')
  if (bytes.length > MAX_SYNC_FRAME_BYTES) r.fail(`${bytes.length} bytes is over the limit`)
  const version = r.uint8()
  if (version !== WIRE_VERSION) r.fail(`unsupported version ${version}`)
  const code = r.uint8()
  let frame: SyncFrame
  switch (code) {
    case TYPE_CODES.hello: {
      const name = r.string(MAX_NAME_LENGTH * 4)
      const count = r.varUint(MAX_GROUPS_PER_HELLO)
      const groups: GroupState[] = []
      for (let i = 0; i < count; i++) {
        const groupId = readGroupId(r)
        const stateVector = r.bytesField(MAX_STATE_VECTOR_BYTES)
        const join = r.bytesField(MAX_JOIN_BYTES)
        const key = readKeyId(r)
        const deferred = readFlag(r)
        groups.push({ groupId, stateVector, key, ...(join.length > 0 ? { join } : {}), ...(deferred ? { deferred } : {}) })
      }
      const boxKey = r.string(64)
      const boxSig = r.string(128)
      frame = { type: 'hello', name, groups, ...(boxKey !== '' ? { box: { key: boxKey, sig: boxSig } } : {}) }
      break
    }
    case TYPE_CODES.want: {
      const groupId = readGroupId(r)
      const stateVector = r.bytesField(MAX_STATE_VECTOR_BYTES)
      if (stateVector.length === 0) r.fail('a want without a state vector')
      frame = { type: 'want', groupId, stateVector, key: readKeyId(r) }
      break
    }
    case TYPE_CODES.update:
      frame = { type: 'update', groupId: readGroupId(r), key: readKeyId(r), final: readFlag(r), update: r.bytesField(SYNC_CHUNK_BYTES + SEAL_OVERHEAD) }
      break
    case TYPE_CODES.refused:
      frame = { type: 'refused', groupId: readGroupId(r), proof: r.bytesField(MAX_JOIN_BYTES) }
      break
    case TYPE_CODES.done:
      frame = { type: 'done' }
      break
    default:
      return r.fail(`unknown frame type ${code}`)
  }
  r.end()
  return frame
}

function readFlag (r: SafeReader): boolean {
  const flag = r.uint8()
  if (flag > 1) r.fail(`bad flag ${flag}`)
  return flag === 1
}

function readKeyId (r: SafeReader): string {
  const key = r.string(64)
  if (key !== '' && !/^[0-9a-f]{24}$/.test(key)) r.fail('bad key id')
  return key
}

/** Additional data bound into a sealed chunk: its group, key, place in the update and end. */
export function syncChunkAad (groupId: GroupId, keyId: string, seq: number, final: boolean): Uint8Array {
  return Buffer.from(`outpost/sync-chunk/2\n${groupId}\n${keyId}\n${seq}\n${final ? 1 : 0}`)
}

export function readGroupId (r: SafeReader): GroupId {
  const id = r.string(64)
  if (!isGroupId(id)) r.fail('bad group id')
  return id
}
