import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import type { VerifyJob, VerifyResult } from './verify-pool.js'

/**
 * A thread that checks Ed25519 signatures for verify-pool.ts. It is handed chunks of public
 * keys as SPKI DER and signed bytes packed into one buffer, and answers one byte per item:
 * 1 when the signature holds. It imports nothing but Node's crypto, so it starts fast.
 */
parentPort?.on('message', (job: VerifyJob) => {
  // Taken back by the thread that asked (it got there first): nothing to do.
  if (Atomics.compareExchange(job.claims, job.chunk, 0, 1) !== 0) {
    const skipped: VerifyResult = { id: job.id, ok: null }
    parentPort?.postMessage(skipped)
    return
  }
  const keys: Array<KeyObject | null> = job.keys.map(der => {
    try {
      return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' })
    } catch {
      return null
    }
  })
  const ok = new Uint8Array(job.keyIndex.length)
  for (let i = 0; i < ok.length; i++) {
    const key = keys[job.keyIndex[i]]
    if (key == null) continue
    const data = job.data.subarray(i === 0 ? 0 : job.ends[i - 1], job.ends[i])
    const signature = job.signatures.subarray(i * 64, i * 64 + 64)
    try {
      ok[i] = verify(null, data, key, signature) ? 1 : 0
    } catch {}
  }
  const result: VerifyResult = { id: job.id, ok }
  parentPort?.postMessage(result, [ok.buffer])
})
