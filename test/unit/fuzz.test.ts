import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { GroupDoc, InvalidMessageError, InvalidUpdateError, MAX_NAME_LENGTH, parseLogEntry, parseMessageEvent, ROLES, type GroupId } from '../../crdt/index.js'
import { decodeFileFrame, decodeGossip, decodeInvite, decodeSyncFrame, encodeFileFrame, encodeGossip, encodeInvite, encodeSyncFrame, InvalidInviteError, MalformedFrameError, type FileFrame, type GossipEnvelope, type Invite, type SyncFrame } from '../../node/index.js'
import { decodeManifest, encodeManifest } from '../../node/files/manifest.js'
import { makeInvite } from '../../node/trust/actions.js'
import { letIn, newGroup, nextTs, testAuthor, type TestAuthor } from '../helpers/authors.js'

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

const envelopeArb: fc.Arbitrary<GossipEnvelope> = record({ type: fc.constant('update' as const), groupId: groupIdArb, keyId: fc.oneof(fc.constant(''), hex(24)), sealed: bytes(512) })

const frameArb: fc.Arbitrary<SyncFrame> = fc.oneof(
  record({
    type: fc.constant('hello' as const),
    name: fc.string({ maxLength: MAX_NAME_LENGTH }),
    groups: fc.array(record({ groupId: groupIdArb, stateVector: bytes(64), key: fc.oneof(fc.constant(''), hex(24)) }), { maxLength: 5 })
  }),
  record({ type: fc.constant('update' as const), groupId: groupIdArb, key: fc.oneof(fc.constant(''), hex(24)), final: fc.boolean(), update: bytes(512) }),
  record({ type: fc.constant('refused' as const), groupId: groupIdArb, proof: bytes(512) }),
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

const fileFrameArb: fc.Arbitrary<FileFrame> = fc.oneof(
  record({ type: fc.constant('query' as const), fileId: hex(64) }),
  record({ type: fc.constant('none' as const), fileId: hex(64) }),
  record({ type: fc.constant('have' as const), fileId: hex(64), manifest: bytes(256), have: bytes(32) }),
  record({ type: fc.constant('get' as const), index: fc.nat({ max: 1 << 20 }) }),
  record({ type: fc.constant('missing' as const), index: fc.nat({ max: 1 << 20 }) }),
  record({ type: fc.constant('chunk' as const), index: fc.nat({ max: 1 << 20 }), data: bytes(512) })
)
/** Manifests of files up to 8 chunks long. */
const manifestArb = fc.integer({ min: 0, max: 8 * 1024 * 1024 }).chain(size => {
  const count = Math.ceil(size / (1024 * 1024))
  return fc.uint8Array({ minLength: 32 * count, maxLength: 32 * count }).map(hashes => ({ size, chunkSize: 1024 * 1024, hashes }))
})

describe('fuzzing: file frames and manifests', () => {
  it('round-trip every valid frame and manifest', () => {
    fc.assert(fc.property(fileFrameArb, frame => {
      assert.deepEqual(decodeFileFrame(encodeFileFrame(frame)), frame)
    }), RUNS)
    // As read off a stream: the frame in arbitrary pieces, a chunk's data left in its pieces.
    fc.assert(fc.property(fileFrameArb, fc.array(fc.nat(), { maxLength: 6 }), (frame, cuts) => {
      const decoded = decodeFileFrame(inPieces(encodeFileFrame(frame), cuts))
      assert.deepEqual(decoded.type === 'chunk' ? { ...decoded, data: decoded.data.subarray() } : decoded, frame)
    }), RUNS)
    fc.assert(fc.property(manifestArb, manifest => {
      assert.deepEqual(decodeManifest(encodeManifest(manifest)), manifest)
    }), RUNS)
  })

  it('throw nothing but MalformedFrameError for arbitrary or mutated bytes', () => {
    fc.assert(fc.property(fc.oneof(bytes(256), mutated(fileFrameArb.map(encodeFileFrame))), fc.array(fc.nat(), { maxLength: 6 }), (input, cuts) => {
      onlyThrows(MalformedFrameError.NAME, () => decodeFileFrame(input))
      onlyThrows(MalformedFrameError.NAME, () => decodeFileFrame(inPieces(input, cuts)))
    }), { ...RUNS, numRuns: 1000 })
    fc.assert(fc.property(fc.oneof(bytes(256), mutated(manifestArb.map(encodeManifest))), input => {
      onlyThrows(MalformedFrameError.NAME, () => decodeManifest(input))
    }), { ...RUNS, numRuns: 1000 })
  })
})

let author: TestAuthor
let member: TestAuthor
before(async () => { [author, member] = await Promise.all([testAuthor(), testAuthor()]) })

describe('fuzzing: invites', () => {
  const addrArb = fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `/ip4/${ip}/tcp/${port}/p2p/${PEER}`)
  /** Signed by a real admin key, so that valid invites verify. */
  const inviteArb = (): fc.Arbitrary<Invite> => fc.tuple(
    groupIdArb, fc.string({ minLength: 1, maxLength: MAX_NAME_LENGTH }), fc.constantFrom('admin', 'member', 'read-only' as const), fc.nat(), fc.array(addrArb, { maxLength: 4 })
  ).map(([group, name, role, expires, addrs]) => ({ signed: makeInvite(author.me, group, name, role as 'member', expires), addrs }))
  const wrap = (body: unknown): string => 'outpost-invite:' + Buffer.from(JSON.stringify(body) ?? '').toString('base64url')

  it('round-trip every valid invite', () => {
    fc.assert(fc.property(inviteArb(), invite => {
      assert.deepEqual(decodeInvite(encodeInvite(invite)), invite)
    }), { ...RUNS, numRuns: 100 })
  })

  it('throw nothing but InvalidInviteError for arbitrary text, arbitrary JSON bodies and mutated invites', () => {
    const mutatedInvite = fc.tuple(inviteArb(), fc.nat(), fc.string({ maxLength: 4 })).map(([invite, at, junk]) => {
      const text = encodeInvite(invite)
      const i = at % text.length
      return text.slice(0, i) + junk + text.slice(i + 1)
    })
    // Valid bodies with one field replaced by anything JSON can carry, outside or inside the signed part.
    const badField = fc.tuple(inviteArb(), fc.constantFrom('v', 'i', 'a'), fc.jsonValue()).map(([invite, key, value]) =>
      wrap({ v: 2, i: invite.signed, a: invite.addrs, [key]: value }))
    const badSigned = fc.tuple(inviteArb(), fc.constantFrom('v', 'group', 'name', 'by', 'role', 'expires', 'for', 'nonce', 'sig'), fc.jsonValue()).map(([invite, key, value]) =>
      wrap({ v: 2, i: { ...invite.signed, [key]: value }, a: invite.addrs }))
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue().map(wrap), mutatedInvite, badField, badSigned), text => {
      onlyThrows(InvalidInviteError.NAME, () => decodeInvite(text))
    }), { ...RUNS, numRuns: 1000 })
  })
})

describe('fuzzing: entries (parseMessageEvent, parseLogEntry)', () => {
  it('throw nothing but InvalidMessageError for arbitrary values and real entries with one field replaced', () => {
    const doc = newGroup(author)
    letIn(doc, author, member)
    doc.post({ text: 'a real post', name: 'a' }, nextTs())
    const events = [...doc.doc.getMap('messages').values()] as Array<Record<string, unknown>>
    const entries = [...doc.doc.getMap('log').values()] as Array<Record<string, unknown>>
    const oneBadField = (valid: Array<Record<string, unknown>>): fc.Arbitrary<unknown> =>
      fc.tuple(fc.constantFrom(...valid), fc.string({ maxLength: 12 }), fc.anything()).map(([e, key, value]) => {
        const keys = Object.keys(e)
        return { ...e, [keys[key.length % keys.length]]: value }
      })
    fc.assert(fc.property(fc.oneof(fc.anything(), oneBadField(events), oneBadField(entries), fc.constantFrom(...ROLES)), value => {
      onlyThrows(InvalidMessageError.NAME, () => parseMessageEvent(value))
      onlyThrows(InvalidMessageError.NAME, () => parseLogEntry(value))
    }), { ...RUNS, numRuns: 1000 })
  })
})

describe('fuzzing: group documents (applyUpdate)', () => {
  /** A valid update: a group with a few posts, written on the owner's replica. */
  const updateArb = (): fc.Arbitrary<{ doc: GroupDoc, texts: string[], update: Uint8Array }> =>
    fc.array(fc.string({ minLength: 1, maxLength: 40 }).filter(t => t.trim().length > 0), { minLength: 1, maxLength: 4 }).map(texts => {
      const doc = newGroup(author)
      for (const text of texts) doc.post({ text, name: 'a' }, nextTs())
      return { doc, texts, update: doc.diff() }
    })

  it('a valid update gives the same messages on another replica, once however often it is applied', () => {
    fc.assert(fc.property(updateArb(), fc.integer({ min: 1, max: 5 }), ({ doc, texts, update }, times) => {
      const replica = new GroupDoc(doc.groupId, author.crypto)
      let events = 0
      replica.onMessages(added => { events += added.length })
      for (let i = 0; i < times; i++) assert.deepEqual(replica.applyUpdate(update, 'remote').rejected, [])
      assert.deepEqual(replica.latest().map(m => m.text), texts)
      assert.equal(events, texts.length)
      replica.destroy()
      doc.destroy()
    }), { ...RUNS, numRuns: 50 })
  })

  it('throws nothing but InvalidUpdateError for arbitrary or mutated bytes, and stays readable', () => {
    const valid = updateArb()
    fc.assert(fc.property(fc.oneof(bytes(256).map(b => ({ groupId: null, bytes: b })), mutated(valid.map(u => u.update)).map(b => ({ groupId: null, bytes: b }))), ({ bytes: input }) => {
      const doc = newGroup(author)
      onlyThrows(InvalidUpdateError.NAME, () => doc.applyUpdate(input, 'remote'))
      // Whatever got in, listing the history must not throw, and forged content never shows.
      assert.ok(doc.latest().length + doc.invalidEntries >= 0)
      doc.destroy()
    }), { ...RUNS, numRuns: 300 })
  })
})

/** `bytes` as a list cut at the given offsets (taken modulo its length). */
function inPieces (bytes: Uint8Array, cuts: number[]): Uint8ArrayList {
  const at = [...new Set(cuts.map(c => bytes.length === 0 ? 0 : c % bytes.length))].sort((a, b) => a - b)
  const list = new Uint8ArrayList()
  let from = 0
  for (const cut of [...at, bytes.length]) {
    if (cut > from) list.append(bytes.subarray(from, cut))
    from = Math.max(from, cut)
  }
  return list
}
