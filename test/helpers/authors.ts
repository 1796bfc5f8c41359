import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { GroupDoc, HybridClock, type DocCrypto, type GroupId, type Role, type Timestamp } from '../../crdt/index.js'
import { admit, groupIdOf, makeInvite, makeJoin, newGroupNonce, writeCreate, type Me } from '../../node/trust/actions.js'
import { docCrypto, newBoxKey, signerFor } from '../../node/trust/keys.js'

/** A real identity (Ed25519 key, box key) for document tests without a node. */
export interface TestAuthor {
  peerId: string
  me: Me
  crypto: DocCrypto
}

export async function testAuthor (): Promise<TestAuthor> {
  const privateKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const { box } = newBoxKey()
  return { peerId, me: { peerId, box, sign: signerFor(privateKey) }, crypto: docCrypto(peerId, privateKey, box) }
}

const clock = new HybridClock()
/** Increasing timestamps for tests that do not care about the clock. */
export function nextTs (): Timestamp {
  return clock.tick()
}

/** A new group owned by `owner`, as the owner's replica. */
export function newGroup (owner: TestAuthor, name = 'test group'): GroupDoc {
  const { doc, create } = emptyGroup(owner, name)
  create()
  return doc
}

/** A group document before its `create` entry (to attach storage first, say). */
export function emptyGroup (owner: TestAuthor, name = 'test group'): { doc: GroupDoc, create: () => void } {
  const nonce = newGroupNonce()
  const doc = new GroupDoc(groupIdOf(owner.me, nonce), owner.crypto)
  return { doc, create: () => { writeCreate(doc, owner.me, name, nonce, nextTs()) } }
}

/** `who`'s replica of a group, holding everything `from` holds. */
export function replicaOf (from: GroupDoc, who: TestAuthor, groupId: GroupId = from.groupId): GroupDoc {
  const doc = new GroupDoc(groupId, who.crypto)
  doc.applyUpdate(from.diff(), 'remote')
  return doc
}

/** `admin` invites `member` with `role` and admits it in `doc` (admin's replica). */
export function letIn (doc: GroupDoc, admin: TestAuthor, member: TestAuthor, role: Exclude<Role, 'owner'> = 'member'): void {
  const invite = makeInvite(admin.me, doc.groupId, 'test group', role, Date.now() + 60_000)
  const why = admit(doc, admin.me, member.peerId, makeJoin(member.me, invite, nextTs()), nextTs())
  if (why != null) throw new Error(`not admitted: ${why}`)
}
