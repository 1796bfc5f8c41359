/**
 * Runs a scenario: starts the nodes, puts them in one group, sends the load through their
 * APIs while the schedule cuts, kills, pauses and slows them, waits for the mesh to
 * converge after the last recovery, then checks the histories and measures what happened.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkHistories, type AckedMessage } from './checks.js'
import type { LabCluster } from './cluster.js'
import { InProcessCluster } from './cluster-in-process.js'
import { NetnsCluster } from './cluster-netns.js'
import { Observer, type Counter } from './observer.js'
import { seededRandom } from '../seeded-random.js'
import { chatText } from './chat-text.js'
import { histogram, percentiles, type LabReport, type RecoveryMeasure, type TimelineEntry } from './report.js'
import type { LabEvent, Scenario } from './scenario.js'

export interface RunOptions {
  mode: 'namespaces' | 'in-process'
  /** progress lines for a person watching (stderr) */
  progress?: (text: string) => void
  /** keep the nodes' data directories and logs (always kept when a check fails) */
  keepData?: boolean
}

interface Sent extends AckedMessage {
  sentMs: number
  duringFault: boolean
}

const SETUP_TIMEOUT_MS = 90_000
const MAX_IN_FLIGHT = 256

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Polls `check` until it holds or `timeoutMs` passes; returns whether it held. */
async function until (check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (performance.now() > deadline) return false
    await sleep(everyMs)
  }
}

/** Runs one set-up step on a node; a failure says which node and step. */
async function setup<T> (node: string, what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    throw new Error(`${node} failed ${what} before the load started: ${(err as Error).message}`)
  }
}

/** `lab:SEQ:SENDER` and then chat words to `size` bytes: the tag lets the checks spot a duplicate. */
function messageText (seq: number, sender: string, size: number, random: () => number): string {
  return chatText(random, size, `lab:${seq}:${sender}`)
}

export async function runScenario (scenario: Scenario, options: RunOptions): Promise<LabReport> {
  const progress = options.progress ?? (() => {})
  const workDir = await mkdtemp(join(tmpdir(), `outpost-lab-${scenario.name.replace(/[^\w-]/g, '_')}-`))
  const cluster: LabCluster = options.mode === 'namespaces' ? new NetnsCluster(scenario, workDir) : new InProcessCluster(scenario, workDir)
  const startedAt = new Date().toISOString()
  let report: LabReport | null = null
  try {
    await cluster.start(progress)
    report = await drive(scenario, cluster, progress)
    report.startedAt = startedAt
    // A failed run keeps its nodes' data and logs for whoever looks into it.
    report.dataKeptIn = report.passed && options.keepData !== true ? null : workDir
    return report
  } finally {
    if (report == null || !report.passed) progress(`node logs: ${scenario.nodes.map(n => cluster.logTail(n)).some(t => t !== '') ? `${workDir}/<node>.log` : 'none'}; data kept in ${workDir}`)
    await cluster.stop()
    if (report?.dataKeptIn === null) await rm(workDir, { recursive: true, force: true })
  }
}

async function drive (scenario: Scenario, cluster: LabCluster, progress: (text: string) => void): Promise<LabReport> {
  const { nodes, load } = scenario
  const killed = new Set<string>()
  const paused = new Set<string>()
  const limited = new Set<string>()
  const faulty = new Map<string, { delayMs: number, loss: number }>()
  const limits = new Map<string, number>()
  let partitioned = false
  const live = (): string[] => nodes.filter(n => !killed.has(n))
  const reachable = (): string[] => nodes.filter(n => !killed.has(n) && !paused.has(n))
  const faultActive = (): boolean => partitioned || killed.size > 0 || paused.size > 0 || limited.size > 0 || faulty.size > 0

  // The group: n0 makes it, everyone joins with its invite, and each says hello so that keys
  // and membership have reached everyone before the load starts.
  progress(`forming the group on ${nodes.length} nodes`)
  const owner = nodes[0]
  const created = await setup(owner, 'creating the group', async () => await cluster.client(owner).post<{ groupId: string, invite: string }>('/v1/groups', { name: `lab ${scenario.name}` }))
  const groupId = created.groupId
  await Promise.all(nodes.slice(1).map(async n => await setup(n, 'joining the group', async () => await cluster.client(n).post('/v1/groups/join', { invite: created.invite }, SETUP_TIMEOUT_MS))))
  const hellos: AckedMessage[] = []
  for (const n of nodes) {
    const { messageId } = await setup(n, 'sending its first message', async () => await cluster.client(n).post<{ messageId: string }>(`/v1/groups/${groupId}/messages`, { text: `lab:hello:${n} joined` }))
    hellos.push({ id: messageId, sender: n, seq: -1 })
  }
  const everyoneReady = await until(async () => {
    const counts = await Promise.all(nodes.map(async n => (await cluster.client(n).get<unknown[]>(`/v1/groups/${groupId}/messages`)).length))
    return counts.every(c => c >= hellos.length)
  }, SETUP_TIMEOUT_MS, 500)
  if (!everyoneReady) throw new Error(`the ${nodes.length} nodes did not all hold each other's first message within ${SETUP_TIMEOUT_MS / 1000} s: the mesh did not form (see the node logs)`)

  let t0 = performance.now()
  const observer = new Observer(cluster, nodes, groupId, () => t0)
  await Promise.all(nodes.map(async n => { await observer.watch(n, false) }))
  observer.startSampling(live)
  await sleep(1_200)
  observer.resetBaseline()
  t0 = performance.now()
  const now = (): number => performance.now() - t0

  const timeline: TimelineEntry[] = [{ atMs: 0, kind: 'load', detail: `load starts: ${load.rate} messages/s of ${load.size} bytes for ${load.durationMs / 1000} s` }]
  const recoveries: Array<{ kind: string, atMs: number }> = []
  const sent: Sent[] = []
  let attempted = 0
  let refused = 0
  let inFlight = 0
  const pending = new Set<Promise<void>>()
  const random = seededRandom(scenario.seed)

  const send = (seq: number): void => {
    const senders = load.senders.filter(n => reachable().includes(n))
    if (senders.length === 0) return
    const sender = senders[seq % senders.length]
    attempted++
    if (inFlight >= MAX_IN_FLIGHT) { refused++; return }
    inFlight++
    const sentMs = now()
    const duringFault = faultActive()
    const p = cluster.client(sender).post<{ messageId: string }>(`/v1/groups/${groupId}/messages`, { text: messageText(seq, sender, load.size, random) }, 15_000)
      .then(({ messageId }) => {
        sent.push({ id: messageId, sender, seq, sentMs, duringFault })
        observer.mark(sender, messageId)
      }, () => { refused++ })
      .finally(() => { inFlight--; pending.delete(p) })
    pending.add(p)
  }

  const postFaults = async (node: string): Promise<void> => {
    const f = faulty.get(node) ?? { delayMs: 0, loss: 0 }
    const bits = cluster.limitsInNode ? limits.get(node) ?? null : null
    const syncHalted = scenario.broken[node]?.noSync === true
    await cluster.client(node).post('/v1/lab/faults', { ...f, bitsPerSecond: bits, syncHalted, seed: scenario.seed * 1000 + nodes.indexOf(node) })
  }
  // A broken node joins like the others (joining needs sync) and breaks once the load starts.
  for (const node of Object.keys(scenario.broken)) await postFaults(node)

  const apply = async (event: LabEvent): Promise<string> => {
    switch (event.kind) {
      case 'partition':
        partitioned = true
        await cluster.partition(event.sides)
        return `partition ${event.sides.map(s => `[${s.join(' ')}]`).join(' | ')}`
      case 'heal':
        partitioned = false
        await cluster.heal()
        recoveries.push({ kind: 'heal', atMs: now() })
        return 'heal: every link back on its segment'
      case 'kill':
        for (const n of event.nodes) { killed.add(n); observer.unwatch(n); await cluster.kill(n) }
        return `kill -9 ${event.nodes.join(' ')}`
      case 'restart':
        for (const n of event.nodes) {
          await cluster.restart(n)
          killed.delete(n)
          // Back from the moment it answers; what it then fetches counts towards convergence.
          recoveries.push({ kind: 'restart', atMs: now() })
          await observer.watch(n, true)
          if (faulty.has(n) || limits.has(n) || scenario.broken[n] != null) await postFaults(n)
        }
        return `restart ${event.nodes.join(' ')}`
      case 'pause':
        for (const n of event.nodes) { paused.add(n); await cluster.pause(n) }
        return `pause (SIGSTOP) ${event.nodes.join(' ')}`
      case 'resume':
        for (const n of event.nodes) { paused.delete(n); await cluster.resume(n) }
        recoveries.push({ kind: 'resume', atMs: now() })
        return `resume ${event.nodes.join(' ')}`
      case 'limit':
        for (const n of event.nodes) {
          if (event.bitsPerSecond == null) { limited.delete(n); limits.delete(n) } else { limited.add(n); limits.set(n, event.bitsPerSecond) }
          if (cluster.limitsInNode) await postFaults(n)
          else await cluster.limit(n, event.bitsPerSecond)
        }
        return event.bitsPerSecond == null ? `limit lifted on ${event.nodes.join(' ')}` : `limit ${event.nodes.join(' ')} to ${event.bitsPerSecond / 1e6} Mbit/s`
      case 'faults':
        for (const n of event.nodes) {
          if (event.delayMs === 0 && event.loss === 0) faulty.delete(n)
          else faulty.set(n, { delayMs: event.delayMs, loss: event.loss })
          await postFaults(n)
        }
        return `faults on ${event.nodes.join(' ')}: delay ${event.delayMs} ms, loss ${event.loss * 100}%`
    }
  }

  // The schedule runs beside the load, each event at its time. An event waits only for the
  // earlier events on the same nodes (a pause after a slow restart), or for the earlier
  // partitions and heals: a restart that takes 20 s does not hold up everything after it.
  const chains = new Map<string, Promise<void>>()
  let network: Promise<void> = Promise.resolve()
  const run = async (event: LabEvent): Promise<void> => {
    const atMs = now()
    try {
      const detail = await apply(event)
      const took = now() - atMs
      const finished = took > 1_000 ? ` (done after ${(took / 1000).toFixed(1)} s)` : ''
      timeline.push({ atMs, kind: event.kind, detail: detail + finished, ...('nodes' in event ? { nodes: event.nodes } : {}), ...(event.kind === 'partition' ? { sides: event.sides } : {}) })
      progress(`${(atMs / 1000).toFixed(1)} s: ${detail}${finished}`)
    } catch (err) {
      timeline.push({ atMs, kind: 'error', detail: `${event.kind} failed: ${(err as Error).message}` })
      throw err
    }
  }
  const schedule = (async () => {
    const applied: Array<Promise<void>> = []
    for (const event of scenario.schedule) {
      const wait = event.atMs - now()
      if (wait > 0) await sleep(wait)
      const touched = 'nodes' in event ? event.nodes : []
      const after = touched.length > 0 ? Promise.all(touched.map(async n => await chains.get(n))) : network
      const done = after.then(async () => { await run(event) })
      const settled = done.catch(() => {})
      if (touched.length > 0) for (const n of touched) chains.set(n, settled)
      else network = settled
      applied.push(done)
    }
    await Promise.all(applied)
  })()

  const status = (): string => `${(now() / 1000).toFixed(0)} s: ${sent.length} acknowledged of ${attempted} sent; ${nodes.map(n => killed.has(n) ? `${n} killed` : paused.has(n) ? `${n} paused` : null).filter(s => s != null).join(', ') || 'all nodes running'}${partitioned ? ', partitioned' : ''}`
  const ticker = setInterval(() => { progress(status()) }, 5_000)
  try {
    for (let seq = 0; seq < load.rate * load.durationMs / 1000; seq++) {
      const due = seq * 1000 / load.rate
      if (due > now()) await sleep(due - now())
      send(seq)
    }
    timeline.push({ atMs: now(), kind: 'load', detail: 'load ends' })
    await schedule
    await Promise.all([...pending])
  } finally {
    clearInterval(ticker)
  }

  // Converged: every live node holds every acknowledged message (and the hellos).
  const settleFrom = now()
  const everything = [...hellos, ...sent]
  const holdsAll = (): boolean => reachable().every(n => sent.every(m => observer.seen.get(n)?.has(m.id) === true))
  progress(`waiting up to ${scenario.check.convergeWithinMs / 1000} s for ${live().length} nodes to converge`)
  // Paused nodes at the end are still part of the mesh: a run that leaves one paused is
  // checked on the others, since a stopped process can answer nothing.
  let convergedByEvents = await until(holdsAll, scenario.check.convergeWithinMs, 100)
  const convergenceMs = convergedByEvents ? Math.round(now() - settleFrom) : null
  timeline.push({ atMs: now(), kind: 'check', detail: convergedByEvents ? `converged ${convergenceMs ?? 0} ms after the last recovery` : 'not converged in time' })
  timeline.sort((a, b) => a.atMs - b.atMs)
  await observer.finish()

  const checked = reachable()
  const histories = new Map(await Promise.all(checked.map(async n => [n, await cluster.client(n).get<Array<{ id: string, text: string }>>(`/v1/groups/${groupId}/messages`, 60_000)] as const)))
  const verdict = checkHistories(everything, histories)
  // The event stream can miss what arrives while it reconnects; the histories are the truth.
  if (!convergedByEvents && verdict.lost === 0) convergedByEvents = true
  const converged = convergedByEvents && verdict.lost === 0 && verdict.duplicates === 0 && verdict.orderMismatches === 0
  const failures = [...verdict.failures]
  if (!convergedByEvents) failures.unshift(`not converged within ${scenario.check.convergeWithinMs / 1000} s of the last recovery`)
  if (paused.size > 0) failures.push(`left paused at the end, so not checked: ${[...paused].join(', ')}`)

  return measure({ scenario, cluster, observer, sent, recoveries, timeline, failures, verdict, converged, convergenceMs, attempted, refused, killed, paused, checked })
}

interface Measured {
  scenario: Scenario
  cluster: LabCluster
  observer: Observer
  sent: Sent[]
  recoveries: Array<{ kind: string, atMs: number }>
  timeline: TimelineEntry[]
  failures: string[]
  verdict: ReturnType<typeof checkHistories>
  converged: boolean
  convergenceMs: number | null
  attempted: number
  refused: number
  killed: Set<string>
  paused: Set<string>
  checked: string[]
}

function measure (m: Measured): LabReport {
  const { scenario, observer, sent } = m
  const calm: number[] = []
  const faults: number[] = []
  for (const s of sent) {
    // From when the sender wrote it, by its own stamp: a send request that reached it late
    // (the lab's own pause) is not the mesh's delay. Never before the lab asked for it.
    const from = Math.max(s.sentMs, observer.written.get(s.id) ?? s.sentMs)
    for (const node of m.checked) {
      if (node === s.sender) continue
      const at = observer.seen.get(node)?.get(s.id)
      if (at != null) (s.duringFault ? faults : calm).push(Math.max(0, at - from))
    }
  }
  const all = [...calm, ...faults]

  const recoveries: RecoveryMeasure[] = m.recoveries.map(r => {
    const before = sent.filter(s => s.sentMs <= r.atMs)
    let missing = 0
    let latest: number | null = 0
    for (const node of m.checked) {
      for (const s of before) {
        const at = observer.seen.get(node)?.get(s.id)
        if (at == null) { latest = null; missing++; continue }
        if (at > r.atMs) missing++
        if (latest != null) latest = Math.max(latest, at - r.atMs)
      }
    }
    return { kind: r.kind, atMs: Math.round(r.atMs), missing, convergenceMs: latest == null ? null : Math.round(latest) }
  })

  const total = (counter: Counter): number => scenario.nodes.reduce((sum, n) => sum + observer.counted(n, counter), 0)
  const syncBytes = total('syncBytes')
  const idealBytes = recoveries.reduce((sum, r) => sum + r.missing * scenario.load.size, 0)
  const seconds = Math.ceil(Math.max(0, ...m.timeline.map(t => t.atMs)) / 1000) + 1
  const rate = Array.from({ length: seconds }, (_, second) => ({ second, acknowledged: 0, delivered: 0 }))
  for (const s of sent) {
    const row = rate[Math.floor(s.sentMs / 1000)]
    if (row != null) row.acknowledged++
  }
  for (const seen of observer.seen.values()) {
    for (const at of seen.values()) {
      const row = rate[Math.floor(at / 1000)]
      if (row != null && at >= 0) row.delivered++
    }
  }
  const passed = m.converged && m.verdict.lost === 0 && m.failures.length === 0
  return {
    scenario: scenario.name,
    seed: scenario.seed,
    mode: m.cluster.mode,
    nodes: scenario.nodes.length,
    startedAt: '',
    dataKeptIn: null,
    durationMs: Math.round(Math.max(...m.timeline.map(t => t.atMs))),
    sent: m.attempted,
    acknowledged: sent.length,
    unacknowledged: m.refused,
    lost: m.verdict.lost,
    duplicates: m.verdict.duplicates,
    orderMismatches: m.verdict.orderMismatches,
    converged: m.converged,
    convergenceMs: m.convergenceMs,
    convergeWithinMs: scenario.check.convergeWithinMs,
    latencyMs: { ...percentiles(all), calm: percentiles(calm), duringFaults: percentiles(faults) },
    latencyHistogram: histogram(all),
    recoveries,
    sync: { bytesReceived: syncBytes, idealBytes, ratio: idealBytes > 0 ? Math.round(syncBytes / idealBytes * 100) / 100 : null },
    gossip: { copiesReceived: total('gossipCopies'), messagesReceived: total('gossipMessages'), copiesPerMessage: total('gossipMessages') > 0 ? Math.round(total('gossipCopies') / total('gossipMessages') * 100) / 100 : null },
    perNode: scenario.nodes.map(name => ({
      name,
      state: m.killed.has(name) ? 'killed' : m.paused.has(name) ? 'paused' : 'running',
      acknowledged: sent.filter(s => s.sender === name).length,
      cpuPercent: observer.cpuPercent(name),
      peakRssBytes: observer.peakRss(name),
      syncBytesReceived: observer.counted(name, 'syncBytes')
    })),
    memory: observer.memory,
    ...(m.cluster.mode === 'in-process' ? { process: observer.processUsage() } : {}),
    timeline: m.timeline,
    rate,
    failures: m.failures,
    passed
  }
}
