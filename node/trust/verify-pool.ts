import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { logger } from '@libp2p/logger'
import type { SignedItem } from '../../crdt/index.js'
import { publicKeyDer, verifySignature } from './keys.js'

const log = logger('outpost:verify-pool')

/** Fewer signatures than this are checked here, one by one: a worker's round trip costs more. */
const MIN_BATCH = 256
/** Workers end after this long without a batch (a node mostly checks one signature at a time). */
const IDLE_MS = 30_000
const SIGNATURE_BYTES = 64
/** keyIndex of an item no key can verify (an author that is no Ed25519 key, a bad length) */
const NO_KEY = 0xffffffff

/** What a worker is handed (verify-worker.ts). */
export interface VerifyJob {
  id: number
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
  ok: Uint8Array
}

const verifyOne = (s: SignedItem): boolean => verifySignature(s.author, s.data, s.signature)

/**
 * Checks many Ed25519 signatures at once on several threads: a joining node receives its
 * group's whole history in one sync, thousands of signed entries, and one by one they took
 * most of its time (10,000 in 0.74 s, `node dist/test/bench/run.js --only cold-join`).
 * The batch is cut into one share per worker plus one that this thread checks meanwhile.
 * Workers start on the first large batch and end after IDLE_MS without one (they never keep
 * the process alive); a worker that fails has its share checked here instead. One verifier
 * serves every node of a process (`signatureVerifier`).
 */
export class SignatureVerifier {
  private workers: Worker[] | null = null
  private idle: NodeJS.Timeout | null = null
  private readonly pending = new Map<number, { resolve: (ok: Uint8Array) => void, reject: (err: Error) => void }>()
  private nextId = 0
  private closed = false

  constructor (private readonly workerCount = Math.min(3, availableParallelism() - 1)) {}

  /** Answers, in order, whether each signature holds. */
  readonly verifyMany = async (items: SignedItem[]): Promise<boolean[]> => {
    if (items.length < MIN_BATCH || this.workerCount < 1 || this.closed) return items.map(verifyOne)
    const workers = this.start()
    const size = Math.ceil(items.length / (workers.length + 1))
    const shares = workers.map((_, i) => items.slice(i * size, (i + 1) * size))
    const jobs = workers.map(async (worker, i) => await this.post(worker, shares[i]).then(
      ok => Array.from(ok, b => b === 1),
      err => {
        log.error('a signature worker failed (%s); checking its share here', (err as Error).message)
        return shares[i].map(verifyOne)
      }))
    const mine = items.slice(workers.length * size).map(verifyOne)
    const all = [...(await Promise.all(jobs)).flat(), ...mine]
    this.scheduleIdle()
    return all
  }

  /** Ends the workers; later batches are checked on this thread. */
  async close (): Promise<void> {
    this.closed = true
    await this.stopWorkers()
  }

  /** Whether workers are running (for tests). */
  get running (): number {
    return this.workers?.length ?? 0
  }

  private scheduleIdle (): void {
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = setTimeout(() => { this.stopWorkers().catch(() => {}) }, IDLE_MS)
    this.idle.unref()
  }

  private async stopWorkers (): Promise<void> {
    if (this.idle != null) clearTimeout(this.idle)
    this.idle = null
    const workers = this.workers ?? []
    this.workers = null
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
    const workers = this.workers
    this.workers = null
    for (const w of workers ?? []) w.terminate().catch(() => {})
    const jobs = [...this.pending.values()]
    this.pending.clear()
    for (const job of jobs) job.reject(err)
  }

  private async post (worker: Worker, items: SignedItem[]): Promise<Uint8Array> {
    const job = pack(this.nextId++, items)
    return await new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject })
      worker.postMessage(job, [job.keyIndex.buffer, job.data.buffer, job.ends.buffer, job.signatures.buffer] as ArrayBuffer[])
    })
  }
}

function pack (id: number, items: SignedItem[]): VerifyJob {
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
  return { id, keys, keyIndex, data, ends, signatures }
}

/** The verifier every node of this process shares. */
export const signatureVerifier = new SignatureVerifier()
