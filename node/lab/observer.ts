/**
 * What the lab sees while a scenario runs: when each message reached each node (from the
 * nodes' event streams, and from their histories after a restart, when the stream missed
 * what sync delivered first), and the nodes' counters and resource use sampled over time.
 */
import type WebSocket from 'ws'
import { localMs } from '../wall-clock.js'
import type { LabCluster, NodeUsage } from './cluster.js'

const SAMPLE_EVERY_MS = 1_000
/** a node's stamp older than this when its event is read is not believed */
const STAMP_PLAUSIBLE_MS = 60_000

/**
 * When a node had an event, in this process's `performance.now()` terms, from the event's
 * `at` (wall-clock ms, stamped by the node as it sends the event): what a watcher's own
 * delays in reading the stream (its garbage collection, other streams first) would add is
 * left out. `readAt` when there is no stamp, or one that is not plausible.
 */
export function stampedAt (at: unknown, readAt: number): number {
  if (typeof at !== 'number' || !Number.isFinite(at)) return readAt
  const local = localMs(at)
  return local <= readAt && local > readAt - STAMP_PLAUSIBLE_MS ? local : readAt
}

/** The node counters the lab follows, from GET /v1/status's `stats`. */
const COUNTERS = {
  syncBytes: (s: NodeStats) => s.sync?.updateBytesReceived,
  gossipCopies: (s: NodeStats) => s.gossip?.copiesReceived,
  gossipMessages: (s: NodeStats) => s.gossip == null ? undefined : s.gossip.received + s.gossip.signals
}
export type Counter = keyof typeof COUNTERS

interface NodeStats {
  sync?: { updateBytesReceived: number }
  gossip?: { copiesReceived: number, received: number, signals: number }
}

export class Observer {
  /** node -> message id -> ms after t0 when the node first held it */
  readonly seen = new Map<string, Map<string, number>>()
  /** message id -> ms after t0 when its sender wrote it, by the sender's own stamp */
  readonly written = new Map<string, number>()
  private readonly sockets = new Map<string, WebSocket>()
  /** `node/counter` -> running total across restarts, and the last value read */
  private readonly counters = new Map<string, { total: number, last: number }>()
  private readonly usage = new Map<string, { first: NodeUsage & { atMs: number } | null, last: NodeUsage & { atMs: number } | null, peakRss: number }>()
  private processFirst: { cpu: NodeJS.CpuUsage, atMs: number } | null = null
  private processPeakRss = 0
  private sampler: NodeJS.Timeout | null = null
  /** the nodes to sample (the running ones) */
  private live: (() => string[]) | null = null
  /** the sampling round under way, if any */
  private sampling: Promise<void> | null = null
  /** each sampling round: the nodes measured and their memory together */
  readonly memory: Array<{ atMs: number, nodes: number, totalRssBytes: number }> = []

  constructor (private readonly cluster: LabCluster, nodes: string[], private readonly groupId: string, private readonly t0: () => number) {
    for (const node of nodes) this.seen.set(node, new Map())
  }

  private now (): number { return performance.now() - this.t0() }

  mark (node: string, id: string, atMs = this.now()): void {
    const seen = this.seen.get(node)
    if (seen != null && !seen.has(id)) seen.set(id, atMs)
  }

  /** (Re)connects to a node's event stream; after a restart, also reads what it already holds. */
  async watch (node: string, fromHistory: boolean): Promise<void> {
    this.sockets.get(node)?.terminate()
    const ws = this.cluster.client(node).events(event => {
      if (event.type !== 'message') return
      const e = event as unknown as { groupId: string, message: { id: string }, origin?: string, at?: number }
      if (e.groupId !== this.groupId) return
      const atMs = stampedAt(e.at, performance.now()) - this.t0()
      this.mark(node, e.message.id, atMs)
      if (e.origin === 'local' && !this.written.has(e.message.id)) this.written.set(e.message.id, atMs)
    })
    ws.on('error', () => {})
    this.sockets.set(node, ws)
    await new Promise<void>(resolve => { ws.once('open', () => { resolve() }); ws.once('close', () => { resolve() }) })
    if (fromHistory) {
      const history = await this.cluster.client(node).get<Array<{ id: string }>>(`/v1/groups/${this.groupId}/messages`, 30_000)
      for (const m of history) this.mark(node, m.id)
    }
  }

  unwatch (node: string): void {
    this.sockets.get(node)?.terminate()
    this.sockets.delete(node)
  }

  startSampling (live: () => string[]): void {
    this.live = live
    this.processFirst = { cpu: process.cpuUsage(), atMs: this.now() }
    this.sampler = setInterval(() => { if (this.sampling == null) this.startRound() }, SAMPLE_EVERY_MS)
    this.startRound()
  }

  /** A sampling round, kept while it runs: `finish` waits for it before its own last one. */
  private startRound (): void {
    this.sampling = this.sample().catch(() => {}).finally(() => { this.sampling = null })
  }

  /**
   * Stops sampling after one last round, so that the counters hold everything up to now: a
   * heal's sync often ends within a second, between two rounds, and would go uncounted.
   */
  async finish (): Promise<void> {
    if (this.sampler != null) clearInterval(this.sampler)
    this.sampler = null
    await this.sampling
    if (this.live != null) await this.sample().catch(() => {})
    this.stop()
  }

  private async sample (): Promise<void> {
    const live = this.live
    if (live == null) return
    this.processPeakRss = Math.max(this.processPeakRss, process.memoryUsage().rss)
    const round = { atMs: Math.round(this.now()), nodes: 0, totalRssBytes: 0 }
    await Promise.all(live().map(async node => {
      const usage = await this.cluster.usage(node)
      if (usage != null) {
        round.nodes++
        round.totalRssBytes += usage.rssBytes
        const u = this.usage.get(node) ?? { first: null, last: null, peakRss: 0 }
        const stamped = { ...usage, atMs: this.now() }
        // A restarted node's CPU time starts again from zero: measure from its new start.
        if (u.first == null || (u.last != null && usage.cpuSeconds < u.last.cpuSeconds)) u.first = stamped
        u.last = stamped
        u.peakRss = Math.max(u.peakRss, usage.rssBytes)
        this.usage.set(node, u)
      }
      const status = await this.cluster.client(node).get<{ stats?: NodeStats }>('/v1/status', 2_000).catch(() => null)
      if (status?.stats == null) return
      for (const [name, read] of Object.entries(COUNTERS)) {
        const value = read(status.stats)
        if (value == null) continue
        const key = `${node}/${name}`
        const c = this.counters.get(key) ?? { total: 0, last: 0 }
        // Counters restart with the process: count what the new one received from zero.
        c.total += value >= c.last ? value - c.last : value
        c.last = value
        this.counters.set(key, c)
      }
    }))
    if (round.nodes > 0) this.memory.push(round)
  }

  /** A counter's growth since `resetBaseline` (the set-up's own traffic left out). */
  counted (node: string, counter: Counter): number {
    const key = `${node}/${counter}`
    const c = this.counters.get(key)
    return c == null ? 0 : c.total - (this.baseline.get(key) ?? 0)
  }

  private readonly baseline = new Map<string, number>()
  resetBaseline (): void {
    for (const [key, c] of this.counters) this.baseline.set(key, c.total)
  }

  cpuPercent (node: string): number | null {
    const u = this.usage.get(node)
    if (u?.first == null || u.last == null || u.last.atMs <= u.first.atMs) return null
    return Math.round((u.last.cpuSeconds - u.first.cpuSeconds) / ((u.last.atMs - u.first.atMs) / 1000) * 1000) / 10
  }

  peakRss (node: string): number | null { return this.usage.get(node)?.peakRss ?? null }

  processUsage (): { cpuPercent: number, peakRssBytes: number } | undefined {
    if (this.processFirst == null) return undefined
    const cpu = process.cpuUsage(this.processFirst.cpu)
    const seconds = (this.now() - this.processFirst.atMs) / 1000
    return { cpuPercent: Math.round((cpu.user + cpu.system) / 1e6 / seconds * 1000) / 10, peakRssBytes: this.processPeakRss }
  }

  /** Stops at once (a run that failed); `finish` for a run's measures. */
  stop (): void {
    if (this.sampler != null) clearInterval(this.sampler)
    this.sampler = null
    for (const ws of this.sockets.values()) ws.terminate()
    this.sockets.clear()
  }
}
