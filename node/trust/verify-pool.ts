import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { logger } from '@libp2p/logger'
import type { SignedItem, VerifySession } from '../../crdt/index.js'
import { publicKeyDer, verifySignature } from './keys.js'

const log = logger('outpost:verify-pool')

/**
 * Signatures go to the workers in chunks of this many, as they are found; fewer in all are
 * checked here, one by one (a worker's round trip would cost more).
 */
const CHUNK = 256
/** Chunks a session can hand out (more are checked here): 1M signatures. */
const MAX_CHUNKS = 4096
/** Workers end after this long without a batch (a node mostly checks one signature at a time). */
const IDLE_MS = 30_000
const SIGNATURE_BYTES = 64
/** keyIndex of an item no key can verify (an author that is no Ed25519 key, a bad length) */
const NO_KEY = 0xffffffff

/** What a worker is handed (verify-worker.ts). */
export interface VerifyJob {
  id: number
  /**
   * Shared claims, one per chunk of a session: a worker checks chunk `chunk` only if it
   * turns its claim from 0 to 1; this thread takes unclaimed ones back (0 to 2).
   */
  claims: Int32Array
  chunk: number
  /** the distinct authors' public keys, SPKI DER */
  keys: Uint8Array[]
  /** per item: its author's place in `keys`, or NO_KEY */
  keyIndex: Uint32Array
  /** every item's signed bytes, end to end; item i ends at ends[i] */
  data: Uint8Array
  ends: Uint32Array
  /** 64 bytes per item */
  signatures: Uint8Array
}

export interface VerifyResult {
  id: number
  /** null: the chunk was taken back before the worker came to it */
  ok: Uint8Array | null
}

const verifyOne = (s: SignedItem): boolean => verifySignature(s.author, s.data, s.signature)

/**
 * Checks many Ed25519 signatures at once on several threads: a joining node receives its
 * group's whole history in one sync, thousands of signed entries, and one by one they took
 * most of its time (10,000 in 0.74 s, `node dist/test/bench/run.js --only cold-join`).
 *
 * A session is handed signatures as the guard finds them (see guard.ts); every CHUNK of
 * them goes to a worker at once, so the workers check while this thread is still reading
 * the update. When it is done reading, this thread takes back the chunks no worker has
 * started, from the last one down, and checks them itself while the workers finish theirs.
 * Workers start with the first chunk and end after IDLE_MS without one (they never keep
 * the process alive); a worker that fails has its chunks checked here instead. One
 * verifier serves every node of a process (`signatureVerifier`).
 */
export class SignatureVerifier {
  private workers: Worker[] | null = null
  private idle: NodeJS.Timeout | null = null
  private readonly pending = new Map<number, { resolve: (ok: Uint8Array | null) => void, reject: (err: Error) => void }>()
  private nextId = 0
  private nextWorker = 0
  private closed = false

  constructor (private readonly workerCount = Math.min(3, availableParallelism() - 1)) {}

  /** A batch to fill with `add` and check with `finish`. */
  readonly session = (): VerifySession => new Session(this)

  /** Answers, in order, whether each signature holds. */
  readonly verifyMany = async (items: SignedItem[]): Promise<boolean[]> => {
    const session = this.session()
    session.add(items)
    return await session.finish()
  }

  /**
   * Starts the workers ahead of a batch that is about to come (a joiner's first history):
   * a worker takes about 0.1 s to start, which otherwise delays its first chunk.
   */
  warm (): void {
    if (this.workerCount < 1 || this.closed) return
    this.start()
    this.scheduleIdle()
  }

  /** Ends the workers; later batches are checked on this thread. */
  async close (): Promise<void> {
    this.closed = true
    await this.stopWorkers()
  }

  /** How many workers are running (for tests). */
  get running (): number {
    return this.workers?.length ?? 0
  }

  /** Sends a chunk to the next worker; resolves with its answer, or null if taken back. */
  post (items: SignedItem[], claims: Int32Array, chunk: number): Promise<Uint8Array | null> | null {
    if (this.workerCount < 1 || this.closed) return null
    const workers = this.start()
    const worker = workers[this.nextWorker++ % workers.length]
    const job = pack(this.nextId++, items, claims, chunk)
    this.scheduleIdle()
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject })
      worker.postMessage(job, [job.keyIndex.buffer, job.data.buffer, job.ends.buffer, job.signatures.buffer] as ArrayBuffer[])
    })
  }

  private scheduleIdle (): void {
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = setTimeout(() => { this.stopWorkers().catch(() => {}) }, IDLE_MS)
    this.idle.unref()
  }

  /** Ends the workers; a chunk still with one is checked on this thread instead (see Session.finish). */
  private async stopWorkers (why = new Error('signature workers stopped')): Promise<void> {
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = null
    const workers = this.workers ?? []
    this.workers = null
    const jobs = [...this.pending.values()]
    this.pending.clear()
    for (const job of jobs) job.reject(why)
    await Promise.all(workers.map(async w => await w.terminate()))
  }

  private start (): Worker[] {
    if (this.workers != null) return this.workers
    const workers = Array.from({ length: this.workerCount }, () => {
      const worker = new Worker(new URL('./verify-worker.js', import.meta.url))
      worker.unref()
      worker.on('message', (result: VerifyResult) => {
        const job = this.pending.get(result.id)
        this.pending.delete(result.id)
        job?.resolve(result.ok)
      })
      worker.on('error', err => { this.fail(err) })
      worker.on('exit', code => { if (this.workers?.includes(worker) === true) this.fail(new Error(`exited with code ${code}`)) })
      return worker
    })
    this.workers = workers
    return workers
  }

  /** A worker died: every job in flight is checked here, and the next batch starts new workers. */
  private fail (err: Error): void {
    this.stopWorkers(err).catch(() => {})
  }
}

class Session implements VerifySession {
  private readonly chunks: SignedItem[][] = []
  private readonly answers: Array<Promise<Uint8Array | null> | null> = []
  private current: SignedItem[] = []
  private claims: Int32Array | undefined

  constructor (private readonly verifier: SignatureVerifier) {}

  add (items: SignedItem[]): void {
    for (const item of items) this.current.push(item)
    if (this.current.length >= CHUNK) this.handOut()
  }

  async finish (): Promise<boolean[]> {
    const tail = this.current.map(verifyOne)
    const results: boolean[][] = new Array(this.chunks.length)
    // Take back, from the last down, every chunk no worker has started.
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      if (this.answers[i] == null || Atomics.compareExchange(this.claims as Int32Array, i, 0, 2) === 0) results[i] = this.chunks[i].map(verifyOne)
    }
    for (let i = 0; i < this.chunks.length; i++) {
      if (results[i] != null) continue
      const ok = await (this.answers[i] as Promise<Uint8Array | null>).catch((err: Error) => {
        log.error('a signature worker did not answer (%s); checking its chunk here', err.message)
        return null
      })
      results[i] = ok != null ? Array.from(ok, b => b === 1) : this.chunks[i].map(verifyOne)
    }
    return [...results.flat(), ...tail]
  }

  private handOut (): void {
    const chunk = this.chunks.length
    const items = this.current
    this.current = []
    this.chunks.push(items)
    this.claims ??= new Int32Array(new SharedArrayBuffer(MAX_CHUNKS * 4))
    this.answers.push(chunk < MAX_CHUNKS ? this.verifier.post(items, this.claims, chunk) : null)
  }
}

function pack (id: number, items: SignedItem[], claims: Int32Array, chunk: number): VerifyJob {
  const keys: Uint8Array[] = []
  const keyOf = new Map<string, number>()
  const keyIndex = new Uint32Array(items.length)
  const ends = new Uint32Array(items.length)
  const signatures = new Uint8Array(items.length * SIGNATURE_BYTES)
  let bytes = 0
  for (const item of items) bytes += item.data.length
  const data = new Uint8Array(bytes)
  let at = 0
  items.forEach((item, i) => {
    let k = keyOf.get(item.author)
    if (k == null) {
      const der = publicKeyDer(item.author)
      k = der == null ? NO_KEY : keys.push(der) - 1
      keyOf.set(item.author, k)
    }
    keyIndex[i] = item.signature.length === SIGNATURE_BYTES ? k : NO_KEY
    if (keyIndex[i] !== NO_KEY) signatures.set(item.signature, i * SIGNATURE_BYTES)
    data.set(item.data, at)
    at += item.data.length
    ends[i] = at
  })
  return { id, claims, chunk, keys, keyIndex, data, ends, signatures }
}

/** The verifier every node of this process shares. */
export const signatureVerifier = new SignatureVerifier()
