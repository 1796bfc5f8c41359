import * as Y from 'yjs'
import type { GroupId } from '../crdt/index.js'
import { SYNC_ASK_HELLO_WAIT_MS, SYNC_ASK_WAIT_MS } from './constants.js'
import { MalformedFrameError } from './errors.js'
import { sleep } from './sleep.js'

/*
 * The bookkeeping behind sync's one-request-at-a-time rule (sync.ts): when a heal
 * reconnects a node to several peers at once, each holding the same gap, the first request
 * is answered with the gap, and a request to another peer that holds nothing more than
 * that answer brings waits for it and then asks for what it left: little or nothing.
 */

/** What a Yjs state vector says a replica holds: client id -> clock. */
export type Holdings = Map<number, number>

/** A peer's state vector, read defensively. */
export function holdingsOf (stateVector: Uint8Array): Holdings {
  try {
    return Y.decodeStateVector(stateVector)
  } catch (err) {
    throw new MalformedFrameError(`unreadable state vector: ${(err as Error).message}`)
  }
}

/** Whether `theirs` holds changes that `ours` lacks and none of `coming` brings. */
export function holdsMore (theirs: Holdings, ours: Holdings, coming?: Holdings): boolean {
  for (const [client, clock] of theirs) {
    if (clock > Math.max(ours.get(client) ?? 0, coming?.get(client) ?? 0)) return true
  }
  return false
}

/** What the exchange that sent a request reports about it. */
export interface Ask {
  /** the peer answered our HELLO with what it holds: its answer follows */
  heard: (theirs: Holdings) => void
  /** the answer has been applied, or can no longer come */
  answered: () => void
}

/** A request for a group's news that has gone out, as later requests for the group see it. */
interface PendingAsk {
  readonly answer: Promise<void>
  readonly since: number
  /** what the peer asked holds, once its HELLO came: the most its answer can bring */
  theirs?: Holdings
}

const UNTRACKED: Ask = { heard: () => {}, answered: () => {} }

/** Per group, the latest request that awaits its answer. */
export class OutstandingAsks {
  private readonly pending = new Map<GroupId, PendingAsk>()

  /** Registers a request for `groupId` that is about to go out. */
  ask (groupId: GroupId): Ask {
    let resolve = (): void => {}
    const pending: PendingAsk = { answer: new Promise<void>(r => { resolve = r }), since: Date.now() }
    this.pending.set(groupId, pending)
    return {
      heard: theirs => { pending.theirs = theirs },
      answered: () => {
        resolve()
        if (this.pending.get(groupId) === pending) this.pending.delete(groupId)
      }
    }
  }

  /** Whether a request for `groupId` made now should wait for the one already out. */
  worthWaitingFor (groupId: GroupId): boolean {
    return this.waitUntil(groupId) > Date.now()
  }

  /**
   * Until when a new request waits for the one out (0: none). Not long for a peer that has
   * not answered our HELLO: it may be slow (asking them all at once gets the fastest), or
   * its connection may have died unnoticed (a partition) and hear nothing until the timeout.
   */
  private waitUntil (groupId: GroupId): number {
    const pending = this.pending.get(groupId)
    if (pending == null) return 0
    return pending.since + (pending.theirs != null ? SYNC_ASK_WAIT_MS : SYNC_ASK_HELLO_WAIT_MS)
  }

  /**
   * A deferred request to a peer holding `theirs`, when this node holds `ours`. When the
   * peer holds nothing we lack, it goes at once, untracked (its answer is empty). When it
   * holds something the request already out will not bring, at once too. Otherwise it
   * waits for that answer (at most until `deadline`, and not long for a peer that has not
   * answered HELLO), then goes with what the answer left. Requests deferred behind the same
   * one then go out together, not in a chain of one round trip per peer.
   */
  async askAfterOthers (groupId: GroupId, theirs: Holdings, ours: () => Holdings, deadline: number, signal: AbortSignal): Promise<Ask> {
    if (!holdsMore(theirs, ours())) return UNTRACKED
    const pending = this.pending.get(groupId)
    const left = Math.min(deadline, this.waitUntil(groupId)) - Date.now()
    const coming = pending?.theirs
    if (pending != null && left > 0 && (coming == null || !holdsMore(theirs, ours(), coming))) {
      await sleep(left, signal, [], pending.answer)
      if (!holdsMore(theirs, ours())) return UNTRACKED
    }
    return this.ask(groupId)
  }
}

/**
 * The requests a peer deferred in its HELLO: each comes as one WANT, and our DONE waits
 * until every one has come and been answered.
 */
export class ExpectedWants {
  private readonly waiting: Set<GroupId>
  private readonly answers: Array<Promise<void>> = []
  private readonly arrived: Promise<void>
  private resolve = (): void => {}
  private reject = (_err: Error): void => {}

  constructor (groupIds: GroupId[]) {
    this.waiting = new Set(groupIds)
    this.arrived = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject })
    // A failure reaches allAnswered's caller; it is never an unhandled rejection here.
    this.arrived.catch(() => {})
    if (this.waiting.size === 0) this.resolve()
  }

  /** A WANT for `groupId` came: false if none was expected (not deferred, or asked twice). */
  take (groupId: GroupId): boolean {
    if (!this.waiting.delete(groupId)) return false
    if (this.waiting.size === 0) this.resolve()
    return true
  }

  answering (answer: Promise<void>): void {
    answer.catch(() => {})
    this.answers.push(answer)
  }

  /** Reading ended badly: no more WANTs will come. */
  fail (err: Error): void {
    this.reject(err)
  }

  async allAnswered (): Promise<void> {
    await this.arrived
    await Promise.all(this.answers)
  }
}
