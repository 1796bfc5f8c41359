import assert from 'node:assert/strict'
import { newGroupId } from '../../crdt/index.js'
import { decodeGossip, decodeInvite, decodeSyncFrame, encodeGossip, encodeInvite, encodeSyncFrame, InvalidInviteError, MalformedFrameError, MAX_GOSSIP_BYTES, type SyncFrame } from '../../node/index.js'
import { makeInvite } from '../../node/trust/actions.js'
import type { Invite } from '../../node/wire/invite.js'
import { testAuthor } from '../helpers/authors.js'

const isMalformed = (e: Error): boolean => e.name === MalformedFrameError.NAME
const PEER = '12D3KooWQNUicFNfxUUouanpNTUzkwRF3MjDhfDRGCdzx2TyDFJu'

describe('sync frames', () => {
  const groupId = newGroupId()
  const frames: SyncFrame[] = [
    { type: 'hello', name: 'Ålice 项目', groups: [{ groupId, stateVector: Uint8Array.of(1, 2, 3), key: 'cd'.repeat(12) }, { groupId: newGroupId(), stateVector: Uint8Array.of(0), key: '', join: Uint8Array.of(123, 125), deferred: true }] },
    { type: 'hello', name: '', groups: [] },
    { type: 'want', groupId, stateVector: Uint8Array.of(1, 7, 9), key: 'cd'.repeat(12) },
    { type: 'update', groupId, key: '', final: true, update: Uint8Array.from({ length: 1000 }, (_, i) => i % 256) },
    { type: 'update', groupId, key: '', final: true, update: new Uint8Array(0) },
    { type: 'update', groupId, key: 'cd'.repeat(12), final: false, update: Uint8Array.of(1) },
    { type: 'refused', groupId, proof: new TextEncoder().encode('{"kind":"remove"}') },
    { type: 'done' }
  ]

  it('round-trip every frame type', () => {
    for (const frame of frames) assert.deepEqual(decodeSyncFrame(encodeSyncFrame(frame)), frame)
  })

  it('reject truncated, versioned, unknown, trailing and out-of-range frames', () => {
    const hello = encodeSyncFrame(frames[0])
    const bad: Uint8Array[] = [
      new Uint8Array(),
      hello.subarray(0, hello.length - 1),
      Uint8Array.from([1, ...hello.subarray(1)]),
      Uint8Array.of(2, 99),
      Uint8Array.from([...encodeSyncFrame({ type: 'done' }), 0]),
      Uint8Array.of(2, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), // group count far over the limit
      encodeSyncFrame({ type: 'update', groupId: 'not-a-group' as never, key: '', final: true, update: Uint8Array.of(0) }),
      encodeSyncFrame({ type: 'update', groupId, key: 'not a key id', final: true, update: Uint8Array.of(0) }),
      Uint8Array.from([...encodeSyncFrame({ type: 'update', groupId, key: '', final: true, update: Uint8Array.of(0) })].map((b, i, all) => i === all.length - 3 ? 7 : b)), // flag 7
      Uint8Array.of(2, 1, 2, 0xff, 0xfe, 0), // name is not UTF-8
      encodeSyncFrame({ type: 'want', groupId, stateVector: new Uint8Array(0), key: '' }) // a want must say what it holds
    ]
    for (const bytes of bad) assert.throws(() => decodeSyncFrame(bytes), isMalformed, `accepted ${Buffer.from(bytes).toString('hex')}`)
  })
})

describe('gossip envelopes', () => {
  it('round-trip and reject malformed or oversized envelopes', () => {
    const envelope = { type: 'update' as const, groupId: newGroupId(), keyId: 'ab'.repeat(12), sealed: Uint8Array.of(5, 6, 7) }
    assert.deepEqual(decodeGossip(encodeGossip(envelope)), envelope)
    const encoded = encodeGossip(envelope)
    assert.throws(() => decodeGossip(encoded.subarray(0, 5)), isMalformed)
    assert.throws(() => decodeGossip(Uint8Array.of(1, 7)), isMalformed)
    assert.throws(() => decodeGossip(new Uint8Array(MAX_GOSSIP_BYTES + 1)), isMalformed)
  })
})

describe('invites', () => {
  let invite: Invite
  before(async () => {
    const admin = await testAuthor()
    invite = { signed: makeInvite(admin.me, newGroupId(), 'Ops 运维', 'member', Date.now() + 60_000), addrs: ['/ip4/10.0.0.2/tcp/4600/p2p/' + PEER] }
  })

  it('round-trip as one copy-pasteable line, tolerating surrounding whitespace', () => {
    const text = encodeInvite(invite)
    assert.match(text, /^outpost-invite:[A-Za-z0-9_-]+$/)
    assert.deepEqual(decodeInvite(`  ${text}\n`), invite)
  })

  it('refuse an invite whose signed part was changed (a role raised, say)', () => {
    const raised = { ...invite, signed: { ...invite.signed, role: 'admin' as const } }
    assert.throws(() => decodeInvite(encodeInvite(raised)), (e: Error) => e.name === InvalidInviteError.NAME && /signature/.test(e.message))
  })

  it('reject garbage with a message that says what to do', () => {
    const wrong = (body: object): string => 'outpost-invite:' + Buffer.from(JSON.stringify(body)).toString('base64url')
    const bad = ['', 'hello', 'outpost-invite:%%%', wrong({ v: 2 }), wrong({ v: 1, g: 'x', n: 'a', p: PEER, a: [] }),
      wrong({ v: 2, i: { ...invite.signed, group: 'x' }, a: [] }), wrong({ v: 2, i: { ...invite.signed, by: 'nobody' }, a: [] }),
      wrong({ v: 2, i: invite.signed, a: ['not an addr'] })]
    for (const text of bad) {
      assert.throws(() => decodeInvite(text), (e: Error) => e.name === InvalidInviteError.NAME && /outpost group invite/.test(e.message), text)
    }
  })
})
