import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { GroupId } from '../crdt/index.js'
import { MAX_SYNC_FRAME_BYTES, MAX_SYNC_UPDATE_BYTES, SYNC_ASK_WAIT_MS, SYNC_CHUNK_BYTES } from './constants.js'
import { MalformedFrameError } from './errors.js'
import type { SyncComponents, SyncGroup, SyncStats } from './sync.js'
import { ExpectedWants, holdingsOf, holdsMore, type Ask, type OutstandingAsks } from './sync-asks.js'
import { open, seal } from './trust/keys.js'
import { decodeSyncFrame, encodeSyncFrame, syncChunkAad, type SyncFrame, type WantFrame } from './wire/sync-codec.js'

const log = logger('outpost:sync')

/** What an exchange uses of its sync service. */
export interface ExchangeContext {
  readonly components: SyncComponents
  /** send updates unsealed (only to measure what sealing costs) */
  readonly insecure: boolean
  readonly stats: SyncStats
  /** requests for groups' news that await their answers, across exchanges */
  readonly outstanding: OutstandingAsks
}

/** Writes one frame, or a series of frames with nothing else between them. */
type Send = (frames: SyncFrame | Iterable<SyncFrame>) => Promise<void>

/** An empty Yjs update (no structs, no deletions) is these two bytes. */
const EMPTY_UPDATE_LENGTH = 2

/**
 * One `/outpost/sync/3` exchange on `stream`, the same for both roles: HELLO both ways,
 * then each side answers the other's requests with UPDATEs (deferred requests come as
 * WANTs, see sync-asks.ts), then DONE both ways. Returns the groups it brought up to date
 * for the peer; throws when it failed (the caller counts and logs it, and aborts the stream).
 */
export async function runExchange (ctx: ExchangeContext, stream: Stream, peer: PeerId, signal: AbortSignal): Promise<GroupId[]> {
  const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES })
  const receive = async (): Promise<SyncFrame> => decodeSyncFrame((await lp.read({ signal })).subarray())
  // Frames go out from both loops (a WANT is answered as it is read): one series at a time,
  // so that the chunks of one update are never split by another frame.
  let writes: Promise<void> = Promise.resolve()
  const send: Send = async frames => {
    // A series is read as it is written: an update's chunks are sealed one at a time.
    const series = 'type' in frames ? [frames] : frames
    const sent = writes.then(async () => { for (const frame of series) await lp.write(encodeSyncFrame(frame), { signal }) })
    writes = sent.catch(() => {})
    await sent
  }
  /** our requests in this exchange whose answers have not come */
  const asks = new Map<GroupId, Ask>()
  const answered = (groupId: GroupId): void => { asks.get(groupId)?.answered(); asks.delete(groupId) }
  let ended = false
  try {
    const who = peer.toString()
    const ours = new Map(ctx.components.groups().map(g => [g.groupId, g]))
    // A group is named only to its members, and by a joiner to whoever it meets. Where
    // another exchange's request for it awaits its answer, ours waits for that answer and
    // goes out later as a WANT, with what it brought: after a heal every peer on the other
    // side would otherwise answer the same gap.
    const announced = [...ours.values()].flatMap(g => {
      const join = g.joinRequest()
      if (!g.isMember(who) && join == null && g.expects?.(who) !== true) return []
      const deferred = ctx.outstanding.worthWaitingFor(g.groupId)
      if (!deferred) asks.set(g.groupId, ctx.outstanding.ask(g.groupId))
      return [{ groupId: g.groupId, stateVector: g.doc.stateVector(), key: keyIdOf(ctx, g), ...(join != null ? { join } : {}), ...(deferred ? { deferred } : {}) }]
    })
    const box = ctx.components.profileBox?.()
    await send({ type: 'hello', name: ctx.components.profileName(), groups: announced, ...(box != null ? { box } : {}) })
    const hello = await receive()
    if (hello.type !== 'hello') throw new MalformedFrameError(`expected hello, got ${hello.type}`)
    /** what the peer holds of each group it names */
    const theirs = new Map(hello.groups.map(g => [g.groupId, holdingsOf(g.stateVector)]))
    const sent = new Map(announced.map(g => [g.groupId, g.stateVector]))
    for (const [groupId, ask] of asks) {
      const holds = theirs.get(groupId)
      if (holds == null) continue
      ask.heard(holds)
      // The peer holds nothing we lack: its answer is empty, nothing to wait for.
      if (!holdsMore(holds, holdingsOf(sent.get(groupId) as Uint8Array))) answered(groupId)
    }
    if (hello.name.length > 0) ctx.components.onPeerName?.(who, hello.name)
    if (hello.box != null) ctx.components.onPeerBox?.(who, hello.box)
    for (const theirs of hello.groups) {
      if (ours.has(theirs.groupId)) continue
      const taken = await ctx.components.onUnknownGroup?.(who, theirs.groupId)
      if (taken != null) ours.set(taken.groupId, taken)
    }
    const refusals: SyncFrame[] = []
    for (const theirs of hello.groups) {
      const group = ours.get(theirs.groupId)
      if (group == null || group.isMember(who)) continue
      if (theirs.join != null && group.admit(who, theirs.join)) continue
      ctx.stats.refused++
      log('refused group %s to %p: not a member', theirs.groupId, peer)
      const proof = group.removalOf?.(who)
      if (proof != null) refusals.push({ type: 'refused', groupId: group.groupId, proof })
    }
    // A group the peer does not name, it does not hold for us: no answer will come.
    const named = new Set(hello.groups.map(g => g.groupId))
    for (const groupId of [...asks.keys()]) if (!named.has(groupId)) answered(groupId)
    const theirWants = new ExpectedWants(hello.groups.filter(g => g.deferred === true).map(g => g.groupId))
    // Read while writing: if both sides wrote large diffs before reading, flow control
    // would stall both.
    const reading = receiveUpdates(ctx, receive, ours, peer, {
      answered,
      want: want => {
        if (!theirWants.take(want.groupId)) throw new MalformedFrameError(`a want for ${want.groupId}, not deferred in hello or asked twice`)
        theirWants.answering(answer(ctx, send, ours, want, who))
      }
    })
    reading.catch(err => { theirWants.fail(err as Error) })
    const writing = (async () => {
      for (const theirs of hello.groups) {
        if (theirs.deferred !== true) await answer(ctx, send, ours, theirs, who)
      }
      const deadline = Date.now() + SYNC_ASK_WAIT_MS
      await Promise.all(announced.filter(g => g.deferred === true).map(async ({ groupId }) => {
        const group = ours.get(groupId) as SyncGroup
        const peerHolds = theirs.get(groupId) ?? new Map()
        const ask = await ctx.outstanding.askAfterOthers(groupId, peerHolds, () => holdingsOf(group.doc.stateVector()), deadline, signal)
        // The exchange failed while we waited: this request will not go, nor be answered.
        if (ended) return ask.answered()
        ask.heard(peerHolds)
        asks.set(groupId, ask)
        await send({ type: 'want', groupId, stateVector: group.doc.stateVector(), key: keyIdOf(ctx, group) })
      }))
      await theirWants.allAnswered()
      await send([...refusals, { type: 'done' }])
    })()
    // Both directions are awaited together: when the peer hangs up, both fail, and a
    // failure of the one not awaited would be an unhandled rejection (it ended the process).
    await Promise.all([reading, writing])
    await stream.close({ signal })
    // The groups this exchange brought up to date for the peer.
    return hello.groups.map(g => g.groupId).filter(id => ours.get(id)?.isMember(who) === true)
  } finally {
    // Answered or not, later requests for these groups need not wait for them any more.
    ended = true
    for (const groupId of [...asks.keys()]) answered(groupId)
  }
}

/** The newest group key we hold, named in requests so that answers are sealed with it. */
function keyIdOf (ctx: ExchangeContext, group: SyncGroup): string {
  return ctx.insecure ? '' : group.doc.currentKey()?.keyId ?? ''
}

/** Sends what a request lacks of one group: the update in chunks, or one empty final chunk. */
async function answer (ctx: ExchangeContext, send: Send, ours: Map<GroupId, SyncGroup>, request: { groupId: GroupId, stateVector: Uint8Array, key: string }, who: string): Promise<void> {
  const { groupId, stateVector, key: theirKey } = request
  const group = ours.get(groupId)
  // History goes to members only (a joiner becomes one when admitted above).
  if (group == null || !group.isMember(who)) return
  const doc = group.doc
  let update: Uint8Array
  try {
    update = doc.diff(stateVector)
  } catch (err) {
    throw new MalformedFrameError((err as Error).message)
  }
  // Lacking nothing is an answer too: it tells the asker's other exchanges to go on.
  if (update.length <= EMPTY_UPDATE_LENGTH) return await send({ type: 'update', groupId, key: '', final: true, update: new Uint8Array(0) })
  ctx.stats.updateBytesSent += update.length
  // Sealed with the newest key the receiver holds, when we hold it too. Otherwise (a
  // joiner being let in now, or a peer a rotation behind us) plain, inside Noise: the
  // bodies in it are sealed either way.
  const key = theirKey !== '' && !ctx.insecure ? doc.keyFor(theirKey) : undefined
  const stats = ctx.stats
  await send((function * () {
    for (let at = 0, seq = 0; at < update.length; at += SYNC_CHUNK_BYTES, seq++) {
      const end = Math.min(update.length, at + SYNC_CHUNK_BYTES)
      const final = end === update.length
      const chunk = update.subarray(at, end)
      if (key != null) stats.chunksSealed++
      else stats.chunksPlain++
      yield {
        type: 'update' as const,
        groupId,
        key: key != null ? theirKey : '',
        final,
        update: key != null ? seal(key, chunk, syncChunkAad(groupId, theirKey, seq, final)) : chunk
      }
    }
  })())
}

/**
 * Reads the peer's frames until its DONE: answers to our requests (applied, then reported
 * to `on.answered`), refusals, and its deferred requests (handed to `on.want`).
 */
async function receiveUpdates (ctx: ExchangeContext, receive: () => Promise<SyncFrame>, ours: Map<GroupId, SyncGroup>, peer: PeerId, on: { answered: (groupId: GroupId) => void, want: (frame: WantFrame) => void }): Promise<void> {
  let chunks: { groupId: GroupId, parts: Uint8Array[], bytes: number } | null = null
  while (true) {
    const frame = await receive()
    if (frame.type === 'done') {
      if (chunks != null) throw new MalformedFrameError('done in the middle of an update')
      return
    }
    if (frame.type === 'refused' && chunks == null) {
      ours.get(frame.groupId)?.onRefused?.(peer.toString(), frame.proof)
      on.answered(frame.groupId)
      continue
    }
    if (frame.type === 'want' && chunks == null) {
      on.want(frame)
      continue
    }
    if (frame.type !== 'update') throw new MalformedFrameError(`unexpected ${frame.type} frame`)
    if (chunks != null && chunks.groupId !== frame.groupId) throw new MalformedFrameError('chunks of two updates interleaved')
    chunks ??= { groupId: frame.groupId, parts: [], bytes: 0 }
    let part = frame.update
    if (frame.key !== '') {
      const key = ours.get(frame.groupId)?.doc.keyFor(frame.key)
      const opened = key == null ? null : open(key, part, syncChunkAad(frame.groupId, frame.key, chunks.parts.length, frame.final))
      if (opened == null) throw new MalformedFrameError(`an update chunk for ${frame.groupId} that does not open with key ${frame.key}`)
      part = opened
    }
    chunks.parts.push(part)
    chunks.bytes += part.length
    if (chunks.bytes > MAX_SYNC_UPDATE_BYTES) throw new MalformedFrameError(`update for ${frame.groupId} over ${MAX_SYNC_UPDATE_BYTES} bytes`)
    if (!frame.final) continue
    const update = chunks.parts.length === 1 ? chunks.parts[0] : Buffer.concat(chunks.parts)
    chunks = null
    if (update.length === 0) {
      on.answered(frame.groupId)
      continue
    }
    const group = ours.get(frame.groupId)
    // From members, and while we wait to be let in, from whoever answers our join request
    // (the guard checks every entry either way).
    if (group == null || (!group.isMember(peer.toString()) && group.joinRequest() == null && group.expects?.(peer.toString()) !== true)) {
      log.error('ignored update from %p for group %s: not a member, or a group we do not hold', peer, frame.groupId)
      on.answered(frame.groupId)
      continue
    }
    ctx.stats.updateBytesReceived += update.length
    try {
      // A sync may carry a whole history: its signatures are checked all at once.
      const { rejected } = await group.doc.applyUpdateBatched(update, 'remote')
      ctx.stats.entriesRejected += rejected.length
      for (const r of rejected) log.error('rejected an entry of group %s synced from %p: %s', frame.groupId, peer, r.why)
    } catch (err) {
      ctx.stats.framesRejected++
      log.error('dropped sync update from %p for group %s: %s', peer, frame.groupId, (err as Error).message)
    }
    on.answered(frame.groupId)
  }
}
