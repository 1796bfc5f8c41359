/**
 * A group's history at scale, in one process on a real data directory (LevelDB on disk,
 * loopback, no mDNS): 10,000, 100,000 and (without --quick) 1,000,000 chat messages.
 *
 *  - append rate: messages/s over the last 10,000 appends before each size (0 -> 10k,
 *    90k -> 100k, 990k -> 1M), through node.send (the product's own write path: signed,
 *    sealed, indexed for search, group-committed to LevelDB), 256 sends in flight. Each
 *    send still resolves only once its message is on disk; only the waiting overlaps.
 *  - reopen: at each size the node is stopped and a fresh OutpostNode.create + start opens
 *    the same directory; reported: create+start -> the latest 50 messages in hand (what
 *    `GET /v1/groups/:id/messages?limit=50` answers), and the history call alone.
 *  - bytes per message on disk: the size of the LevelDB directory after the clean stop
 *    (its log included: that is what the disk holds) / messages.
 *  - letting a member in, after each reopen: the admission entry written by the node, as
 *    when a joiner syncs with it, timed until the node has taken it in (the membership
 *    folded again, and whatever messages that changes decided again); the baseline is the
 *    same at the first size, so the ratio says how it grows with the history.
 * Baseline, same run: a bare classic-level database (the `level` package, as the node
 * uses) taking the very update bytes the node wrote in its first window, cycled, as
 * awaited puts with as many in flight, at the same sizes; its reopen + a reverse read of
 * the last 50 values; its directory size per value.
 * Filling between windows is not timed as a rate, but its duration is reported.
 */
import '../../node/polyfill.js'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { LevelKv } from '../../crdt/index.js'
import { OutpostNode } from '../../node/index.js'
import { admit, makeInvite, makeJoin } from '../../node/trust/actions.js'
import { nextTs, testAuthor } from '../helpers/authors.js'
import { chatText } from '../../node/lab/chat-text.js'
import { seededRandom } from '../helpers/messages.js'
import { startNode } from '../helpers/nodes.js'
import { LOOPBACK, log, now, round, row, tempDir, withTimeout, type BenchResult, type Row } from './lib.js'

export interface HistoryScaleOptions {
  /** history sizes to measure at, ascending; each at least `window` */
  sizes?: number[]
  /** appends per measured window */
  window?: number
  /** sends in flight */
  inFlight?: number
}

/** A chat line of 40 to 120 characters, seeded so every run writes the same words. */
export function chatLine (rnd: () => number): string {
  return chatText(rnd, 40 + Math.floor(rnd() * 81))
}

/** Total bytes of the files under `dir`. */
async function duBytes (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? await duBytes(path) : (await stat(path)).size
  }
  return total
}

/** Runs `count` calls of `op(i)` with at most `inFlight` unresolved at once. */
async function pump (count: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  let failed: Error | undefined
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, async () => {
    while (next < count && failed == null) {
      const i = next++
      try { await op(i) } catch (err) { failed = err as Error }
    }
  }))
  if (failed != null) throw failed
}

interface Step {
  size: number
  /** messages/s over the last `window` appends */
  appendRate: number
  fillSeconds: number
  diskBytes: number
  bytesPerMessage: number
  stopMs: number
  /** fresh create + start -> latest page in hand */
  reopenToPageMs: number
  createMs: number
  startMs: number
  pageMs: number
  pageLength: number
  heapMB: number
  admitMs: number
}

interface RawStep { size: number, appendRate: number, diskBytes: number, bytesPerValue: number, reopenToPageMs: number, pageMs: number }

/**
 * Appends `count` messages then `windowSize` more to a running node; the rate of the
 * latter. A function of its own so that nothing keeps the node once the caller drops it.
 */
async function fill (node: OutpostNode, groupId: string, count: number, windowSize: number, inFlight: number, text: () => string, progress: () => void): Promise<{ appendRate: number, fillSeconds: number }> {
  const send = async (): Promise<void> => { await node.send(groupId, text()); progress() }
  const t0 = now()
  await pump(count, inFlight, send)
  const tw = now()
  await pump(windowSize, inFlight, send)
  return { appendRate: windowSize / ((now() - tw) / 1000), fillSeconds: (tw - t0) / 1000 }
}

/** Lets a new member into the group on `node` (an invite of its own, a fresh joiner): ms. */
async function admission (node: OutpostNode, groupId: string): Promise<number> {
  const doc = node.groups.require(groupId).doc
  const joiner = await testAuthor()
  const join = makeJoin(joiner.me, makeInvite(node.me, doc.groupId, 'Logbook', 'member', Date.now() + 60_000), nextTs())
  const t = now()
  const refused = admit(doc, node.me, joiner.peerId, join, nextTs())
  const ms = now() - t
  if (refused != null) throw new Error(`the node did not let the joiner in: ${refused}`)
  return ms
}

/** The node: fill to each size, measuring the last window, then reopen from disk. */
async function measureNode (sizes: number[], windowSize: number, inFlight: number, captured: Uint8Array[]): Promise<{ steps: Step[], compactedBytes: number }> {
  const dataDir = await tempDir('outpost-bench-history-')
  const rnd = seededRandom(7)
  const text = (): string => chatLine(rnd)
  let node: OutpostNode | undefined = await startNode({ dataDir, name: 'scribe' })
  const steps: Step[] = []
  try {
    const { groupId } = await node.createGroup('Logbook')
    // The update bytes of the first window, for the baseline to write the same bytes.
    const stopCapture = node.groups.require(groupId).doc.onUpdate((update, origin) => { if (origin === 'local' && captured.length < windowSize) captured.push(update) })
    let held = 0
    let written = 0
    const tFill = now()
    const progress = (): void => { if (++written % 100_000 === 0) log(`history-scale: ${written} messages written, ${(written / ((now() - tFill) / 1000)).toFixed(0)} msg/s so far`) }
    for (const size of sizes) {
      const { appendRate, fillSeconds } = await fill(node, groupId, size - windowSize - held, windowSize, inFlight, text, progress)
      held = size
      stopCapture()
      const heapMB = process.memoryUsage().heapUsed / 2 ** 20
      const ts = now()
      await node.stop()
      const stopMs = now() - ts
      // The stopped node must be garbage before the new one loads: at 1M messages two
      // copies of the history do not fit in the default heap.
      node = undefined
      const diskBytes = await duBytes(join(dataDir, 'db'))
      // Reopen, as after a restart: nothing of the old node is reused.
      const t1 = now()
      node = await OutpostNode.create({ dataDir, name: 'scribe', listen: [LOOPBACK], mdns: false })
      const t2 = now()
      await node.start()
      const t3 = now()
      const page = node.history(groupId, { limit: 50 })
      const t4 = now()
      if (page.length !== 50) throw new Error(`latest page after reopen has ${page.length} messages`)
      const total = node.groups.require(groupId).doc.size
      if (total !== size) throw new Error(`reopened history holds ${total} messages, not ${size}`)
      const admitMs = await admission(node, groupId)
      const step: Step = {
        size,
        appendRate: round(appendRate, 0),
        fillSeconds: round(fillSeconds, 1),
        diskBytes,
        bytesPerMessage: round(diskBytes / size, 1),
        stopMs: round(stopMs, 1),
        reopenToPageMs: round(t4 - t1, 1),
        createMs: round(t2 - t1, 1),
        startMs: round(t3 - t2, 1),
        pageMs: round(t4 - t3, 2),
        pageLength: page.length,
        heapMB: round(heapMB, 0),
        admitMs: round(admitMs, 2)
      }
      log(`history-scale: ${size} messages: ${step.appendRate} msg/s over the last ${windowSize}, filled in ${step.fillSeconds} s, ${step.bytesPerMessage} B/msg on disk, reopen -> page ${step.reopenToPageMs} ms (create ${step.createMs}, start ${step.startMs}, page ${step.pageMs}), heap ${step.heapMB} MB, letting a member in ${step.admitMs} ms`)
      steps.push(step)
    }
  } finally {
    await node?.stop()
  }
  // LevelDB drops deleted and overwritten values (the log entries a snapshot replaced) only
  // when it compacts its tables; how much of the directory that is, as information.
  const kv = await LevelKv.open(join(dataDir, 'db'))
  try { await kv.compact() } finally { await kv.close() }
  return { steps, compactedBytes: await duBytes(join(dataDir, 'db')) }
}

/** The baseline: the same bytes into a bare classic-level database. */
async function measureRaw (sizes: number[], windowSize: number, inFlight: number, values: Uint8Array[]): Promise<RawStep[]> {
  const dir = await tempDir('outpost-bench-history-raw-')
  const open = async (): Promise<Level<string, Uint8Array>> => {
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
    return db
  }
  const key = (i: number): string => 'doc!raw!' + String(i).padStart(12, '0')
  let db = await open()
  const steps: RawStep[] = []
  let held = 0
  try {
    for (const size of sizes) {
      const d = db
      await pump(size - windowSize - held, inFlight, async i => { await d.put(key(held + i), values[(held + i) % values.length]) })
      const base = size - windowSize
      const tw = now()
      await pump(windowSize, inFlight, async i => { await d.put(key(base + i), values[(base + i) % values.length]) })
      const appendRate = windowSize / ((now() - tw) / 1000)
      held = size
      await db.close()
      const diskBytes = await duBytes(dir)
      const t1 = now()
      db = await open()
      const t2 = now()
      const page = await db.values({ reverse: true, limit: 50 }).all()
      const t3 = now()
      if (page.length !== 50) throw new Error(`raw page has ${page.length} values`)
      steps.push({ size, appendRate: round(appendRate, 0), diskBytes, bytesPerValue: round(diskBytes / size, 1), reopenToPageMs: round(t3 - t1, 2), pageMs: round(t3 - t2, 2) })
      log(`history-scale: raw LevelDB at ${size}: ${steps.at(-1)?.appendRate} puts/s, ${steps.at(-1)?.bytesPerValue} B/value, reopen -> 50 values ${steps.at(-1)?.reopenToPageMs} ms`)
    }
  } finally {
    await db.close()
  }
  return steps
}

export async function historyScaleBench (opts: HistoryScaleOptions = {}): Promise<BenchResult> {
  const sizes = opts.sizes ?? [10_000, 100_000, 1_000_000]
  const windowSize = opts.window ?? 10_000
  const inFlight = opts.inFlight ?? 256
  const largest = sizes[sizes.length - 1]
  log(`history-scale: filling one group to ${sizes.join(', ')} messages (${inFlight} sends in flight)`)
  const captured: Uint8Array[] = []
  const t0 = now()
  // Bounded in time: 1M messages took about 10 minutes to write on this 2-core machine.
  const { steps, compactedBytes } = await withTimeout('history-scale fill', measureNode(sizes, windowSize, inFlight, captured), 30 * 60_000)
  const nodeSeconds = (now() - t0) / 1000
  const updateBytes = captured.reduce((a, u) => a + u.length, 0) / Math.max(1, captured.length)
  log(`history-scale: node part took ${nodeSeconds.toFixed(0)} s; mean update ${updateBytes.toFixed(0)} B; raw LevelDB baseline`)
  const raw = await measureRaw(sizes, windowSize, inFlight, captured)
  const first = steps[0]
  const last = steps[steps.length - 1]
  const rawAt = (size: number): RawStep => raw.find(r => r.size === size) as RawStep
  const k = (n: number): string => n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`
  const rows: Row[] = steps.map(s => row({ metric: `append rate at ${k(s.size)} (last ${k(windowSize)} appends)`, value: s.appendRate, unit: 'msg/s', baseline: { value: rawAt(s.size).appendRate, label: 'raw LevelDB puts, same bytes' } }))
  rows.push(row({ metric: `append rate ${k(last.size)} / ${k(first.size)}`, value: last.appendRate / first.appendRate, unit: 'x', target: { kind: 'min', value: 0.5 }, baseline: { value: rawAt(last.size).appendRate / rawAt(first.size).appendRate, label: 'raw LevelDB, same ratio' } }))
  for (const s of steps) {
    rows.push(row({ metric: `reopen (create+start) -> latest 50 at ${k(s.size)}`, value: s.reopenToPageMs, unit: 'ms', ...(s.size === largest && largest >= 1_000_000 ? { target: { kind: 'max' as const, value: 300 } } : {}), baseline: { value: rawAt(s.size).reopenToPageMs, label: 'raw LevelDB open + last 50' } }))
  }
  rows.push(row({ metric: `latest-50 history call alone at ${k(last.size)}`, value: last.pageMs, unit: 'ms' }))
  for (const s of steps) {
    rows.push(row({ metric: `letting a member in at ${k(s.size)} (in process)`, value: s.admitMs, unit: 'ms', baseline: { value: first.admitMs, label: `the same at ${k(first.size)}` } }))
  }
  rows.push(row({ metric: `bytes per message on disk at ${k(last.size)}`, value: last.bytesPerMessage, unit: 'B', target: { kind: 'max', value: 200 }, baseline: { value: rawAt(last.size).bytesPerValue, label: 'raw LevelDB, same update bytes' } }))
  rows.push(row({ metric: `bytes per message at ${k(last.size)} after a LevelDB compaction (info)`, value: round(compactedBytes / last.size, 1), unit: 'B', baseline: { value: rawAt(last.size).bytesPerValue, label: 'raw LevelDB, same update bytes' } }))
  return {
    name: 'history-scale',
    rows,
    details: { sizes, window: windowSize, inFlight, meanUpdateBytes: round(updateBytes, 1), nodeSeconds: round(nodeSeconds, 1), compactedBytes, steps, raw }
  }
}
