import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { GroupDoc, NotAllowedError } from '../../crdt/index.js'
import { admit, makeInvite, makeJoin, remove, setRetention, setRole } from '../../node/trust/actions.js'
import { letIn, newGroup, nextTs, replicaOf, testAuthor, type TestAuthor } from '../helpers/authors.js'

/**
 * The membership log folds the same way on every replica, whatever order its entries
 * arrived in: concurrent conflicting changes resolve by (timestamp, author, id).
 */
describe('membership log', function () {
  let owner: TestAuthor
  let ann: TestAuthor
  let ben: TestAuthor
  let cat: TestAuthor
  before(async () => { [owner, ann, ben, cat] = await Promise.all([testAuthor(), testAuthor(), testAuthor(), testAuthor()]) })

  it('two admins change one member at once: both apply in (timestamp, author, id) order, the same on every replica, in either order', () => {
    const base = newGroup(owner)
    letIn(base, owner, ann, 'admin')
    letIn(base, owner, ben, 'admin')
    const a = replicaOf(base, ann)
    const b = replicaOf(base, ben)
    letIn(base, owner, cat)
    a.applyUpdate(base.diff(a.stateVector()), 'remote')
    b.applyUpdate(base.diff(b.stateVector()), 'remote')
    // Concurrently (neither has seen the other): ann makes cat read-only, ben removes cat.
    const first = nextTs()
    const second = nextTs()
    setRole(a, ann.me, cat.peerId, 'read-only', first)
    remove(b, ben.me, cat.peerId, second)
    const ab = replicaOf(a, owner)
    ab.applyUpdate(b.diff(ab.stateVector()), 'remote')
    const ba = replicaOf(b, owner)
    ba.applyUpdate(a.diff(ba.stateVector()), 'remote')
    for (const doc of [ab, ba]) {
      assert.equal(doc.membership.role(cat.peerId), null, 'the removal, later, still applies: cat is out')
      assert.equal(doc.membership.roleAt(cat.peerId, { ts: second, by: ben.peerId, id: '0' }), 'read-only')
    }
    assert.deepEqual(ab.membership.valid.map(e => e.id), ba.membership.valid.map(e => e.id))
  })

  it('an admin demoted by the owner at the same moment as they act: the later act is ignored everywhere', () => {
    const base = newGroup(owner)
    letIn(base, owner, ann, 'admin')
    letIn(base, owner, cat)
    const a = replicaOf(base, ann)
    const o = replicaOf(base, owner)
    const demotedAt = nextTs()
    const actedAt = nextTs()
    setRole(o, owner.me, ann.peerId, 'member', demotedAt)
    remove(a, ann.me, cat.peerId, actedAt)
    for (const [x, y] of [[o, a], [a, o]]) {
      const merged = replicaOf(x, owner)
      merged.applyUpdate(y.diff(merged.stateVector()), 'remote')
      assert.equal(merged.membership.role(ann.peerId), 'member')
      assert.equal(merged.membership.role(cat.peerId), 'member', 'the removal by a no-longer-admin is ignored')
      assert.ok(merged.membership.ignored.some(i => i.entry.kind === 'remove' && /not allowed/.test(i.why)))
    }
  })

  it('admins manage members, only the owner manages admins, and nobody manages the owner', () => {
    const doc = newGroup(owner)
    letIn(doc, owner, ann, 'admin')
    letIn(doc, owner, ben, 'admin')
    letIn(doc, owner, cat)
    const a = replicaOf(doc, ann)
    assert.throws(() => setRole(a, ann.me, ben.peerId, 'member', nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
    assert.throws(() => remove(a, ann.me, owner.peerId, nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
    assert.throws(() => setRole(a, ann.me, cat.peerId, 'admin', nextTs()), (e: Error) => e.name === NotAllowedError.NAME)
    setRole(a, ann.me, cat.peerId, 'read-only', nextTs())
    assert.equal(a.membership.role(cat.peerId), 'read-only')
    remove(doc, owner.me, ann.peerId, nextTs())
    assert.equal(doc.membership.role(ann.peerId), null)
  })

  it('invites: expired, for someone else, from a member, or an admin inviting an admin are refused; a removed peer needs one made for it', () => {
    const doc = newGroup(owner)
    letIn(doc, owner, ann, 'admin')
    const expired = makeInvite(owner.me, doc.groupId, 'g', 'member', Date.now() - 1)
    assert.match(admit(doc, owner.me, ben.peerId, makeJoin(ben.me, expired, nextTs()), nextTs()) ?? '', /expired/)
    const forCat = makeInvite(owner.me, doc.groupId, 'g', 'member', Date.now() + 60_000, cat.peerId)
    assert.match(admit(doc, owner.me, ben.peerId, makeJoin(ben.me, forCat, nextTs()), nextTs()) ?? '', /someone else/)
    const adminByAdmin = makeInvite(ann.me, doc.groupId, 'g', 'admin', Date.now() + 60_000)
    assert.match(admit(doc, owner.me, ben.peerId, makeJoin(ben.me, adminByAdmin, nextTs()), nextTs()) ?? '', /only the owner invites admins/)
    letIn(doc, ann, ben)
    const byMember = makeInvite(ben.me, doc.groupId, 'g', 'member', Date.now() + 60_000)
    assert.match(admit(doc, owner.me, cat.peerId, makeJoin(cat.me, byMember, nextTs()), nextTs()) ?? '', /not signed by a current owner or admin/)
    // Someone else's join request cannot be presented by another peer.
    const good = makeInvite(owner.me, doc.groupId, 'g', 'member', Date.now() + 60_000)
    assert.match(admit(doc, owner.me, ben.peerId, makeJoin(cat.me, good, nextTs()), nextTs()) ?? '', /for someone else/)
    remove(doc, owner.me, ben.peerId, nextTs())
    assert.match(admit(doc, owner.me, ben.peerId, makeJoin(ben.me, good, nextTs()), nextTs()) ?? '', /accept|removed/)
    assert.equal(doc.membership.role(ben.peerId), null)
    const forBen = makeInvite(owner.me, doc.groupId, 'g', 'member', Date.now() + 60_000, ben.peerId)
    assert.equal(admit(doc, owner.me, ben.peerId, makeJoin(ben.me, forBen, nextTs()), nextTs()), null)
    assert.equal(doc.membership.role(ben.peerId), 'member')
  })
})

describe('what a change of the membership log changes', function () {
  let alice: TestAuthor
  let bob: TestAuthor
  let carol: TestAuthor
  before(async () => { [alice, bob, carol] = await Promise.all([testAuthor(), testAuthor(), testAuthor()]) })

  it('letting a member in changes no one else\'s role history; a role change, a removal or a new retention does', () => {
    const doc = newGroup(alice)
    letIn(doc, alice, bob)
    const before = doc.membership
    letIn(doc, alice, carol)
    assert.deepEqual([...doc.membership.newcomersSince(before) ?? []], [carol.peerId])
    assert.deepEqual([...doc.membership.newcomersSince(doc.membership) ?? []], [])
    const admitted = doc.membership
    setRole(doc, alice.me, bob.peerId, 'read-only', nextTs())
    assert.equal(doc.membership.newcomersSince(admitted), null)
    const demoted = doc.membership
    remove(doc, alice.me, carol.peerId, nextTs())
    assert.equal(doc.membership.newcomersSince(demoted), null)
    const removed = doc.membership
    setRetention(doc, alice.me, 3600, nextTs())
    assert.equal(doc.membership.newcomersSince(removed), null)
  })

  it('a newcomer\'s message already held is shown once the entry that let them in arrives', () => {
    const owner = newGroup(alice)
    const beforeAdmit = owner.diff()
    letIn(owner, alice, bob)
    const bobs = replicaOf(owner, bob)
    const written: Uint8Array[] = []
    bobs.onUpdate((update, origin) => { if (origin === 'local') written.push(update) })
    const hello = bobs.post({ text: 'hello from bob', name: 'bob' }, nextTs())
    // Another replica of Alice's holds the group without Bob's admission, and Bob's post: as
    // if from its store, where the guard let it in under a fold that later came out otherwise.
    const replica = new GroupDoc(owner.groupId, alice.crypto)
    Y.applyUpdate(replica.doc, beforeAdmit, 'storage')
    Y.applyUpdate(replica.doc, written[0], 'storage')
    assert.equal(replica.get(hello.id), undefined, 'not shown: its author is not a member yet')
    assert.deepEqual(replica.applyUpdate(owner.diff(replica.stateVector())).rejected, [])
    assert.equal(replica.get(hello.id)?.text, 'hello from bob')
  })
})
