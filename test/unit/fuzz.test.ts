import assert from 'node:assert/strict'
import fc from 'fast-check'
import * as Y from 'yjs'
import { GroupDoc, InvalidMessageError, InvalidUpdateError, MAX_NAME_LENGTH, newGroupId, parseMessage, type ChatMessage, type GroupId, type MessageId } from '../../crdt/index.js'
import { decodeGossip, decodeInvite, decodeSyncFrame, encodeGossip, encodeInvite, encodeSyncFrame, InvalidInviteError, MalformedFrameError, type GossipEnvelope, type Invite, type SyncFrame } from '../../node/index.js'

/*
 * Property-based fuzzing of every decoder of untrusted input: arbitrary bytes and mutated
 * valid encodings throw nothing but the module's named error, and valid values round-trip.
 * Seeded and bounded, so a run is reproducible (a failure prints its seed and path) and fast.
 */
const RUNS = { seed: 20240517, numRuns: 300 }
const PEER = '12D3KooWQNUicFNfxUUouanpNTUzkwRF3MjDhfDRGCdzx2TyDFJu'

/** Runs `decode`; fails the property on any error not named `name`. */
function onlyThrows<T> (name: string, decode: () => T): T | undefined {
  try {
    return decode()
  } catch (err) {
    assert.equal((err as Error).name, name, `unexpected ${(err as Error).name}: ${(err as Error).message}`)
    return undefined
  }
}

const hex = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })
const groupIdArb = hex(32) as fc.Arbitrary<GroupId>
const messageIdArb = hex(24) as fc.Arbitrary<MessageId>
/** Records with Object's prototype, as decoders return them (and as Yjs requires). */
function record<T> (model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>
}
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength })

/** Byte-level mutations of a valid encoding: flips, truncation, insertion, appended garbage. */
function mutated (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert', 'append')), { minLength: 1, maxLength: 4 }))
    .map(([base, edits]) => {
      let out = Array.from(base)
      for (const [at, value, kind] of edits) {
        const i = out.length === 0 ? 0 : at % out.length
        if (kind === 'flip' && out.length > 0) out[i] = value
        else if (kind === 'cut') out = out.slice(0, i)
        else if (kind === 'insert') out.splice(i, 0, value)
        else out.push(value)
      }
      return Uint8Array.from(out)
    })
}

const envelopeArb: fc.Arbitrary<GossipEnvelope> = record({ type: fc.constant('update' as const), groupId: groupIdArb, update: bytes(512) })

const frameArb: fc.Arbitrary<SyncFrame> = fc.oneof(
  record({
    type: fc.constant('hello' as const),
    name: fc.string({ maxLength: MAX_NAME_LENGTH }),
    groups: fc.array(record({ groupId: groupIdArb, stateVector: bytes(64) }), { maxLength: 5 })
  }),
  record({ type: fc.constant('update' as const), groupId: groupIdArb, final: fc.boolean(), update: bytes(512) }),
  fc.constant({ type: 'done' as const })
)

describe('fuzzing: gossip envelopes', () => {
  it('round-trip every valid envelope', () => {
    fc.assert(fc.property(envelopeArb, envelope => {
      assert.deepEqual(decodeGossip(encodeGossip(envelope)), envelope)
    }), RUNS)
  })

  it('throw nothing but MalformedFrameError for arbitrary or mutated bytes', () => {
    fc.assert(fc.property(fc.oneof(bytes(256), mutated(envelopeArb.map(encodeGossip))), input => {
      onlyThrows(MalformedFrameError.NAME, () => decodeGossip(input))
    }), { ...RUNS, numRuns: 1000 })
  })
})

describe('fuzzing: sync frames', () => {
  it('round-trip every valid frame', () => {
    fc.assert(fc.property(frameArb, frame => {
      assert.deepEqual(decodeSyncFrame(encodeSyncFrame(frame)), frame)
    }), RUNS)
  })

  it('throw nothing but MalformedFrameError for arbitrary or mutated bytes', () => {
    fc.assert(fc.property(fc.oneof(bytes(256), mutated(frameArb.map(encodeSyncFrame))), input => {
      onlyThrows(MalformedFrameError.NAME, () => decodeSyncFrame(input))
    }), { ...RUNS, numRuns: 1000 })
  })
})

describe('fuzzing: invites', () => {
  const addrArb = fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `/ip4/${ip}/tcp/${port}/p2p/${PEER}`)
  const inviteArb: fc.Arbitrary<Invite> = record({
    groupId: groupIdArb,
    name: fc.string({ minLength: 1, maxLength: MAX_NAME_LENGTH }),
    inviter: fc.constant(PEER),
    addrs: fc.array(addrArb, { maxLength: 4 })
  })
  const wrap = (body: unknown): string => 'outpost-invite:' + Buffer.from(JSON.stringify(body) ?? '').toString('base64url')

  it('round-trip every valid invite', () => {
    fc.assert(fc.property(inviteArb, invite => {
      assert.deepEqual(decodeInvite(encodeInvite(invite)), invite)
    }), RUNS)
  })

  it('throw nothing but InvalidInviteError for arbitrary text, arbitrary JSON bodies and mutated invites', () => {
    const mutatedInvite = fc.tuple(inviteArb, fc.nat(), fc.string({ maxLength: 4 })).map(([invite, at, junk]) => {
      const text = encodeInvite(invite)
      const i = at % text.length
      return text.slice(0, i) + junk + text.slice(i + 1)
    })
    // Valid bodies with one field replaced by anything JSON can carry.
    const badField = fc.tuple(inviteArb, fc.constantFrom('v', 'g', 'n', 'p', 'a'), fc.jsonValue()).map(([invite, key, value]) =>
      wrap({ v: 1, g: invite.groupId, n: invite.name, p: invite.inviter, a: invite.addrs, [key]: value }))
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue().map(wrap), mutatedInvite, badField), text => {
      onlyThrows(InvalidInviteError.NAME, () => decodeInvite(text))
    }), { ...RUNS, numRuns: 1000 })
  })
})

const messageArb: fc.Arbitrary<ChatMessage> = record({
  v: fc.constant(1 as const),
  id: messageIdArb,
  author: fc.string({ minLength: 1, maxLength: 128 }),
  authorName: fc.string({ minLength: 1, maxLength: MAX_NAME_LENGTH }),
  ts: record({ ms: fc.nat(), c: fc.nat() }),
  kind: fc.constant('text' as const),
  text: fc.string({ maxLength: 200 }),
  edits: fc.nat(),
  deleted: fc.boolean()
})

describe('fuzzing: messages (parseMessage)', () => {
  it('accepts every valid message as it is', () => {
    fc.assert(fc.property(messageArb, message => {
      assert.deepEqual(parseMessage(message), message)
    }), RUNS)
  })

  it('throws nothing but InvalidMessageError for arbitrary values and messages with one field replaced', () => {
    const fields = ['v', 'id', 'author', 'authorName', 'ts', 'kind', 'text', 'replyTo', 'mentions', 'edits', 'deleted']
    const oneBadField = fc.tuple(messageArb, fc.constantFrom(...fields), fc.anything()).map(([m, key, value]) => ({ ...m, [key]: value }))
    fc.assert(fc.property(fc.oneof(fc.anything(), oneBadField), value => {
      onlyThrows(InvalidMessageError.NAME, () => parseMessage(value))
    }), { ...RUNS, numRuns: 1000 })
  })
})

describe('fuzzing: group documents (applyUpdate)', () => {
  /** A valid update: a few messages written on another replica. */
  const updateArb = fc.array(messageArb, { minLength: 1, maxLength: 4 }).map(messages => {
    const source = new GroupDoc(newGroupId())
    for (const m of messages) source.add(m)
    return { messages, update: Y.encodeStateAsUpdate(source.doc) }
  })

  it('a valid update gives the same messages on another replica, once however often it is applied', () => {
    fc.assert(fc.property(updateArb, fc.integer({ min: 1, max: 5 }), ({ messages, update }, times) => {
      const doc = new GroupDoc(newGroupId())
      let events = 0
      doc.onMessages(added => { events += added.length })
      for (let i = 0; i < times; i++) doc.applyUpdate(update, 'remote')
      assert.deepEqual(new Set(doc.latest().map(m => m.id)), new Set(messages.map(m => m.id)))
      assert.equal(events, new Set(messages.map(m => m.id)).size)
    }), { ...RUNS, numRuns: 100 })
  })

  it('throws nothing but InvalidUpdateError for arbitrary or mutated bytes, and stays readable', () => {
    fc.assert(fc.property(fc.oneof(bytes(256), mutated(updateArb.map(u => u.update))), input => {
      const doc = new GroupDoc(newGroupId())
      onlyThrows(InvalidUpdateError.NAME, () => doc.applyUpdate(input, 'remote'))
      // Whatever got in, listing the history must not throw: bad entries are counted, not shown.
      assert.ok(doc.latest().length + doc.invalidEntries >= 0)
      doc.destroy()
    }), { ...RUNS, numRuns: 1000 })
  })
})
