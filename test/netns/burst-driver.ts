/**
 * A burst of sends through a node's local API, run inside the node's namespace (the API
 * listens on the namespace's own loopback):
 *
 *   node dist/test/netns/burst-driver.js DATA_DIR COUNT GROUP [CONCURRENCY]
 *
 * Keeps CONCURRENCY requests in flight and prints each acknowledged messageId (from the
 * 201 response) on its own stdout line as soon as it is acknowledged. When the node goes
 * away (the test kills it), it stops issuing requests, lets the ones in flight fail, and
 * exits with status 1; status 0 means all COUNT were acknowledged.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

async function main (): Promise<number> {
  const [dataDir, countText, groupId, concurrencyText] = process.argv.slice(2)
  const count = Number(countText)
  const concurrency = Number(concurrencyText ?? 4)
  if (dataDir == null || groupId == null || !Number.isSafeInteger(count) || count <= 0 || !Number.isSafeInteger(concurrency) || concurrency <= 0) {
    process.stderr.write('usage: burst-driver DATA_DIR COUNT GROUP [CONCURRENCY]\n')
    return 2
  }
  const { url } = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string }
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
  const endpoint = `${url}/v1/groups/${encodeURIComponent(groupId)}/messages`

  let next = 0
  let acked = 0
  let failure: string | null = null
  const worker = async (): Promise<void> => {
    while (failure == null && next < count) {
      const i = next++
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ text: `burst ${i}` }),
          signal: AbortSignal.timeout(30_000)
        })
        const body = await res.text()
        if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`)
        const { messageId } = JSON.parse(body) as { messageId?: unknown }
        if (typeof messageId !== 'string') throw new Error(`201 without a messageId: ${body.slice(0, 200)}`)
        acked++
        process.stdout.write(messageId + '\n')
      } catch (err) {
        const e = err as Error & { cause?: Error }
        failure ??= `send ${i} failed: ${e.message}${e.cause != null ? ` (${e.cause.message})` : ''}`
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, async () => { await worker() }))
  if (failure != null) {
    process.stderr.write(`burst-driver: ${acked} of ${count} acknowledged; stopped: ${failure}\n`)
    return 1
  }
  return 0
}

main().then(code => { process.exitCode = code }, (err: Error) => {
  process.stderr.write(`burst-driver: ${err.message}\n`)
  process.exitCode = 2
})
